"""examples/traces/ holds what `make traces` exports for the three demos: check it still says what the README says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.trace_history import trace_history

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "traces"
EXPECTED = {
    "happy": ("succeeded", None),
    "refinement": ("succeeded", None),
    "stop": ("stopped", "non_progress"),
}


@pytest.mark.parametrize("demo", sorted(EXPECTED))
def test_example_trace_holds_the_run_its_events_and_the_execution_history(demo):
    trace = json.loads((EXAMPLES / f"{demo}.trace.json").read_text())

    assert (trace["run"]["status"], trace["run"]["stop_reason"]) == EXPECTED[demo]
    assert trace["events"][0]["kind"] == "start" and trace["events"][-1]["kind"] == "finalize"
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in trace_history(trace) if "stateEnteredEventDetails" in e
    ]
    assert entered == trace["run"]["states"]


def test_the_refinement_example_shows_retry_patch_and_replan():
    steps = json.loads((EXAMPLES / "refinement.trace.json").read_text())["run"]["steps"]

    assert {"retry", "patch_args", "replan"} <= {s["decision"] for s in steps}
