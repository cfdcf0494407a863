"""Every request of the perception table, end to end through the embedded state machine.

For each: how the run ends (status and stop reason), what the user reads in the final output,
which conditional steps were skipped, the side effects the mock API recorded, the guards the
request's constraints set, the files written, and the final check of the success criteria (all
met when the run succeeded). A run that stops at planning reaches no tool at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.test_perception_table import CASES

PLAN_STAGE_STOPS = {"invalid_plan", "policy_denied", "unsupported_request", "ambiguous_request"}
END_TO_END = [case for case in CASES if case.e2e]


def test_at_least_sixty_requests_run_end_to_end():
    assert len(END_TO_END) >= 60


@pytest.mark.parametrize("case", END_TO_END, ids=[case.id for case in END_TO_END])
def test_request_runs_end_to_end(maoo, isolated_runtime, case):
    doc = maoo.run(case.request)

    assert (doc["status"], doc["stop_reason"]) == (case.status, case.stop_reason), doc["stop_detail"]
    for text in case.says:
        assert text in doc["final_output"], doc["final_output"]
    assert doc["skipped"] == list(case.skipped)
    assert [effect["kind"] for effect in maoo.side_effects()] == list(case.effects)
    if case.ran is not None:
        assert [step["tool"] for step in doc["steps"]] == list(case.ran)
    elif case.stop_reason in PLAN_STAGE_STOPS:
        assert doc["steps"] == [] and maoo.requests_seen() == []
    else:
        assert [step["tool"] for step in doc["steps"]] == [
            tool for i, tool in enumerate(case.tools) if f"s{i + 1}" not in case.skipped
        ]
    for guard, value in case.guards:
        assert doc["guards"][guard] == value
    if case.file:
        path, text = case.file
        assert text in (isolated_runtime / "files" / path).read_text()
    if case.status == "succeeded":
        assert _criteria_event(doc) == {"unmet": []}


def _criteria_event(doc: dict) -> dict:
    (event,) = [
        e["data"]
        for e in json.loads(Path(doc["trace_file"]).read_text())["events"]
        if e["kind"] == "criteria"
    ]
    return event


def test_the_final_check_names_the_criteria_a_stopped_run_did_not_meet(maoo):
    doc = maoo.run(
        "Fetch mock data, calculate 2 + 2, and summarize the result",
        faults=[{"path": "/data", "fault": "http_503", "count": 1}],
        max_steps=3,
    )

    assert doc["stop_reason"] == "max_steps" and [s["step_id"] for s in doc["steps"]] == ["s1", "s1", "s2"]
    assert _criteria_event(doc) == {
        "unmet": ['clause 3 "summarize the result" (a summary of the results): s3 has no result']
    }
