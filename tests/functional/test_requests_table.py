"""Every request of the perception table, end to end through the embedded state machine.

For each: how the run ends (status and stop reason), what the user reads in the final output,
which conditional steps were skipped, and the side effects the mock API recorded. A run that
stops at planning reaches no tool at all.
"""

from __future__ import annotations

import pytest

from tests.unit.test_perception_table import CASES

PLAN_STAGE_STOPS = {"invalid_plan", "policy_denied", "unsupported_request", "ambiguous_request"}
END_TO_END = [case for case in CASES if case.e2e]


def test_at_least_sixty_requests_run_end_to_end():
    assert len(END_TO_END) >= 60


@pytest.mark.parametrize("case", END_TO_END, ids=[case.id for case in END_TO_END])
def test_request_runs_end_to_end(maoo, case):
    doc = maoo.run(case.request)

    assert (doc["status"], doc["stop_reason"]) == (case.status, case.stop_reason), doc["stop_detail"]
    for text in case.says:
        assert text in doc["final_output"], doc["final_output"]
    assert doc["skipped"] == list(case.skipped)
    assert [effect["kind"] for effect in maoo.side_effects()] == list(case.effects)
    if case.stop_reason in PLAN_STAGE_STOPS:
        assert doc["steps"] == [] and maoo.requests_seen() == []
    else:
        assert [step["tool"] for step in doc["steps"]] == [tool for i, tool in enumerate(case.tools)
                                                              if f"s{i + 1}" not in case.skipped]


def test_constraints_from_the_request_become_the_run_guards(maoo):
    limited = maoo.run("Fetch the payments metrics in at most 2 steps")
    timed = maoo.run("Check the error rate of payments within 30 seconds")
    budgeted = maoo.run("Get the status of payments with a budget of 4")

    assert limited["guards"]["max_steps"] == 2
    assert timed["guards"]["deadline_seconds"] == 30
    assert budgeted["guards"]["budget"] == 4
    assert all(doc["status"] == "succeeded" for doc in (limited, timed, budgeted))


def test_files_are_written_where_asked_in_the_format_asked(maoo, isolated_runtime):
    import json

    doc = maoo.run("Fetch mock data and save it to data.json")

    assert doc["status"] == "succeeded"
    saved = json.loads((isolated_runtime / "files" / "data.json").read_text())
    assert [item["name"] for item in saved["body"]["items"]] == ["alpha", "beta", "gamma", "delta"]
