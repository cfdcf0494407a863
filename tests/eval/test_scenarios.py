"""Every scenario of ``eval/scenarios.json`` through the embedded state machine, one test each.

A scenario marked ``known_gap`` is expected to fail its checks (strict xfail): the test fails as
soon as the gap is fixed, so the marker is removed and the scenario guards the fix. A run that
cannot be made at all is a plain failure, known gap or not.
"""

from __future__ import annotations

import pytest

from chalicelib.tools.names import TOOL_NAMES
from eval.models import CATEGORIES, load_scenarios
from mock_api.faults import FAULT_NAMES

SCENARIOS = load_scenarios()


def _case(scenario):
    marks = []
    if scenario.known_gap:
        marks.append(
            pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"known gap: {scenario.known_gap}")
        )
    return pytest.param(scenario, id=scenario.id, marks=marks)


@pytest.mark.parametrize("scenario", [_case(s) for s in SCENARIOS])
def test_scenario(eval_context, scenario):
    outcome = eval_context.run_scenario(scenario)

    if outcome.error is not None:
        pytest.fail(f"the run could not be made: {outcome.error}")
    failed = [f"{c['name']}: {c['reason']}" for c in outcome.failed_checks]
    assert not failed, "\n".join(failed)


def test_scenarios_cover_every_tool_fault_guard_and_denial():
    by_category = {c: [s for s in SCENARIOS if s.category == c] for c in CATEGORIES}
    happy_tools = {
        t for s in by_category["happy_path"] for t in (s.expect.tools_sequence or s.expect.tools_set or [])
    }
    faults = {
        rule.fault for s in SCENARIOS if s.category in ("fault_recovery", "exactly_once") for rule in s.faults
    }
    guards = {s.expect.stop_reason for s in by_category["stop_guard"]}
    denied = " ".join(rule for s in by_category["policy_denial"] for rule in s.expect.stop_detail_contains)

    assert len(SCENARIOS) >= 40
    assert all(by_category[c] for c in CATEGORIES)
    assert happy_tools == set(TOOL_NAMES)  # every registered tool has a happy-path scenario
    assert faults >= set(FAULT_NAMES)
    assert guards >= {"max_steps", "max_retries", "budget", "deadline", "non_progress"}
    for rule in ("http.", "sql.", "file.", "calc."):
        assert rule in denied
