"""Each check kind passes when the run shows what the user expected, and fails with a reason otherwise."""

from __future__ import annotations

import pytest

from eval.models import Expectations
from eval.runner import judge
from eval.scoring import Check, Observed, extract_numbers, score

DOC = {
    "status": "succeeded",
    "stop_reason": None,
    "stop_detail": None,
    "steps": [
        {
            "step_id": "s1",
            "tool": "http_get",
            "signal": "rate_limited",
            "decision": "retry",
            "wait_seconds": 1.0,
        },
        {"step_id": "s1", "tool": "http_get", "signal": "ok", "decision": "continue", "wait_seconds": 0.0},
        {"step_id": "s2", "tool": "calc", "signal": "ok", "decision": "continue", "wait_seconds": 0.0},
    ],
    "states": [
        "Perceive",
        "Plan",
        "PlanOK?",
        "NextStep",
        "Route",
        "CallHttpGet",
        "Observe",
        "Decide",
        "Backoff",
        "Finalize",
        "Done",
    ],
    "plan_notes": ["memory: s1: planned s1b (db_query) first", "revision 0"],
    "final_output": "requests: 12,000; errors: 240. round(240 / 12000 * 100, 4) = 2.",
}
EFFECTS = [{"kind": "incident_created"}]
REQUESTS = [{"method": "GET", "path": "/services/payments/metrics"}, {"method": "POST", "path": "/incidents"}]


def checks_for(tmp_path=None, doc=DOC, **expect) -> list[Check]:
    expectations = Expectations.model_validate({"status": "succeeded", **expect})
    return score(expectations, Observed(doc, EFFECTS, REQUESTS, tmp_path))


def only(checks: list[Check], name: str) -> Check:
    found = [c for c in checks if c.name == name]
    assert len(found) == 1, [c.name for c in checks]
    return found[0]


@pytest.mark.parametrize(
    "name, met, unmet, reason",
    [
        (
            "stop_reason",
            {"stop_reason": None},
            {"stop_reason": "budget"},
            "stop_reason is None, expected 'budget'",
        ),
        (
            "tools_sequence",
            {"tools_sequence": ["http_get", "http_get", "calc"]},
            {"tools_sequence": ["http_get", "calc"]},
            "tools called ['http_get', 'http_get', 'calc'], expected ['http_get', 'calc']",
        ),
        (
            "tools_set",
            {"tools_set": ["calc", "http_get"]},
            {"tools_set": ["db_query", "calc"]},
            "expected ['calc', 'db_query']",
        ),
        ("signals", {"signals": ["rate_limited"]}, {"signals": ["timeout"]}, "lack ['timeout']"),
        ("decisions", {"decisions": ["retry"]}, {"decisions": ["replan"]}, "lack ['replan']"),
        (
            "decisions_absent",
            {"decisions_absent": ["replan"]},
            {"decisions_absent": ["retry"]},
            "include ['retry'], which must not happen",
        ),
        (
            "states_include",
            {"states_include": ["Backoff"]},
            {"states_include": ["CallDbQuery"]},
            "lack ['CallDbQuery']",
        ),
        ("side_effects", {"side_effects": 1}, {"side_effects": 0}, "1 side effect(s) applied, expected 0"),
        (
            "side_effects[incident_created]",
            {"side_effect_kinds": {"incident_created": 1}},
            {"side_effect_kinds": {"incident_created": 2}},
            "1 incident_created, expected 2",
        ),
        (
            "requests_absent",
            {"requests_absent": ["DELETE *"]},
            {"requests_absent": ["GET /services/*"]},
            "received ['GET /services/payments/metrics']",
        ),
        ("max_steps", {"max_steps": 3}, {"max_steps": 2}, "3 tool call(s), at most 2 allowed"),
        (
            "min_wait_seconds",
            {"min_wait_seconds": 1},
            {"min_wait_seconds": 2},
            "longest retry wait 1 s, expected at least 2 s",
        ),
        (
            "plan_notes_contains",
            {"plan_notes_contains": ["memory"]},
            {"plan_notes_contains": ["critic"]},
            "lack ['critic']",
        ),
    ],
)
def test_check_passes_when_met_and_fails_with_a_reason(name, met, unmet, reason):
    assert only(checks_for(**met), name).passed

    failed = only(checks_for(**unmet), name)
    assert not failed.passed and reason in failed.reason


def test_status_check_says_what_was_expected():
    assert only(checks_for(), "status").passed

    failed = only(checks_for(status="stopped"), "status")
    assert not failed.passed and failed.reason == "status is 'succeeded', expected 'stopped'"


def test_stop_reason_is_not_checked_unless_stated():
    assert [c.name for c in checks_for()] == ["status"]


def test_stop_detail_is_matched_case_insensitively():
    doc = {**DOC, "status": "stopped", "stop_detail": "s2: path is absolute [file.absolute]"}

    assert only(
        checks_for(doc=doc, status="stopped", stop_detail_contains=["FILE.ABSOLUTE"]), "stop_detail_contains"
    ).passed
    failed = only(
        checks_for(doc=doc, status="stopped", stop_detail_contains=["sql."]), "stop_detail_contains"
    )
    assert not failed.passed and "lacks ['sql.']" in failed.reason


def test_final_output_substrings_and_numbers_within_tolerance():
    checks = checks_for(
        final_output={
            "contains": ["ERRORS"],
            "not_contains": ["Stopped"],
            "numbers": [{"value": 2.0, "tolerance": 0.01}, {"value": 12000}],
        }
    )
    assert all(c.passed for c in checks)

    checks = checks_for(
        final_output={
            "contains": ["p95"],
            "not_contains": ["errors"],
            "numbers": [{"value": 2.5, "tolerance": 0.1}],
        }
    )
    assert [c.passed for c in checks[1:]] == [False, False, False]
    assert "numbers in the output: [12000.0, 240.0, 240.0, 12000.0, 100.0, 4.0, 2.0]" in checks[-1].reason


def test_sandbox_file_must_exist_and_hold_the_text(tmp_path):
    (tmp_path / "report.md").write_text("# Incidents\nCheckout latency above SLO\n")

    assert only(checks_for(tmp_path, files={"report.md": ["checkout latency"]}), "file report.md").passed
    missing = only(checks_for(tmp_path, files={"other.md": []}), "file other.md")
    assert not missing.passed and "was not written" in missing.reason
    lacking = only(checks_for(tmp_path, files={"report.md": ["payments"]}), "file report.md")
    assert not lacking.passed and "lacks ['payments']" in lacking.reason


@pytest.mark.parametrize(
    "text, numbers",
    [
        ("2 + 2 = 4.", [2, 2, 4]),
        ("error rate 6.5 %, 1,200 requests", [6.5, 1200]),
        ("INC-1007 is sev2; p95_ms: 230", [1007, 230]),
        ("delta -3 and 2e3", [-3, 2000]),
        ("", []),
    ],
)
def test_numbers_are_extracted_from_the_final_output(text, numbers):
    assert extract_numbers(text) == numbers


@pytest.mark.parametrize(
    "passed, gap, error, result",
    [
        (True, None, None, "passed"),
        (False, None, None, "failed"),
        (False, None, "boom", "error"),
        (False, "perception gap", None, "known_gap"),
        (False, "perception gap", "boom", "error"),
        (True, "perception gap", None, "unexpected_pass"),
    ],
)
def test_a_scenario_result_follows_its_checks_and_known_gap(passed, gap, error, result):
    assert judge([Check("status", True, ""), Check("x", passed, "")], gap, error) == result
