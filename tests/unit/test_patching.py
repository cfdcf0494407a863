"""Argument patches: repair a step from what its failure said."""

from __future__ import annotations

from chalicelib.contracts import Plan, Step, ToolError, ToolResult
from chalicelib.execution.patching import propose_patch

FETCH = Step(
    id="s1",
    tool="http_get",
    args={
        "url": "http://127.0.0.1:8000/metrics/payments",
        "expect_fields": ["service", "errors", "requests"],
    },
)
RATE = Step(
    id="s2",
    tool="calc",
    args={"expression": "{{s1.body.errors}} / {{s1.body.requests}} * 100"},
    depends_on=["s1"],
)
OTHER = Step(
    id="s3", tool="http_get", args={"url": "http://127.0.0.1:8000/incidents", "expect_fields": ["errors"]}
)
SUMMARY = Step(
    id="s4",
    tool="summarize",
    args={"inputs": ["{{s3.errors}}", "{{s1.body.errors}}", "{{s2}}"]},
    depends_on=["s1", "s2", "s3"],
)
PLAN = Plan(steps=[FETCH, RATE, OTHER, SUMMARY])

INCIDENT = Step(
    id="s5",
    tool="http_post",
    args={
        "url": "http://127.0.0.1:8000/incidents",
        "json_body": {"service": "search", "severity": "critical"},
    },
)
POST_PLAN = Plan(steps=[FETCH, INCIDENT])


def _drift(missing: list[str], present: list[str]) -> ToolResult:
    return ToolResult(
        ok=False,
        tool="http_get",
        error=ToolError(
            kind="schema_drift",
            message=f"the response lacks {', '.join(missing)}",
            details={"missing": missing, "present": present},
        ),
    )


def _unprocessable(*fields: str, status: int = 422) -> ToolResult:
    body = {
        "error": "validation",
        "fields": [{"field": f"body.{name}", "message": "bad value"} for name in fields],
    }
    return ToolResult(
        ok=False,
        tool="http_post",
        error=ToolError(
            kind="http_status", message=f"POST answered {status}", status_code=status, details={"body": body}
        ),
    )


def _step(plan: Plan, step_id: str) -> Step:
    return next(s for s in plan.steps if s.id == step_id)


def test_known_rename_patches_expected_fields_of_the_failing_step():
    # given the response renamed errors -> error_count
    patch = propose_patch(
        PLAN, FETCH, "schema_drift", _drift(["errors"], ["error_count", "requests", "service"])
    )
    # then the step now expects the new name, and the description says so
    assert patch is not None
    assert _step(patch.plan, "s1").args["expect_fields"] == ["service", "error_count", "requests"]
    assert _step(patch.plan, "s1").args["url"] == FETCH.args["url"]
    assert "errors -> error_count" in patch.description


def test_known_rename_rewrites_references_in_dependent_steps_only():
    patch = propose_patch(
        PLAN, FETCH, "schema_drift", _drift(["errors"], ["error_count", "requests", "service"])
    )
    assert _step(patch.plan, "s2").args == {
        "expression": "{{s1.body.error_count}} / {{s1.body.requests}} * 100"
    }
    # a reference to another step's field of the same name is left alone
    assert _step(patch.plan, "s4").args == {"inputs": ["{{s3.errors}}", "{{s1.body.error_count}}", "{{s2}}"]}
    # a step that does not depend on the failing one is untouched
    assert _step(patch.plan, "s3") == OTHER


def test_patch_leaves_the_original_plan_unchanged():
    propose_patch(PLAN, FETCH, "schema_drift", _drift(["errors"], ["error_count", "requests", "service"]))
    assert PLAN.steps == [FETCH, RATE, OTHER, SUMMARY]
    assert FETCH.args["expect_fields"] == ["service", "errors", "requests"]


def test_unknown_rename_gives_no_patch():
    assert propose_patch(PLAN, FETCH, "schema_drift", _drift(["latency"], ["p95_ms", "service"])) is None


def test_known_rename_whose_new_field_is_absent_gives_no_patch():
    assert propose_patch(PLAN, FETCH, "schema_drift", _drift(["errors"], ["service", "requests"])) is None


def test_partly_known_renames_give_no_patch():
    result = _drift(["errors", "latency"], ["error_count", "p95_ms"])
    assert propose_patch(PLAN, FETCH, "schema_drift", result) is None


def test_rejected_field_with_safe_default_patches_json_body():
    # given the server rejected severity with a 422
    patch = propose_patch(POST_PLAN, INCIDENT, "bad_args", _unprocessable("severity"))
    # then severity is replaced by its safe default and the rest of the body kept
    assert patch is not None
    assert _step(patch.plan, "s5").args["json_body"] == {"service": "search", "severity": "sev3"}
    assert _step(patch.plan, "s1") == FETCH
    assert "severity" in patch.description and "sev3" in patch.description


def test_rejected_field_without_safe_default_gives_no_patch():
    assert propose_patch(POST_PLAN, INCIDENT, "bad_args", _unprocessable("title")) is None


def test_rejected_fields_only_some_with_defaults_give_no_patch():
    assert propose_patch(POST_PLAN, INCIDENT, "bad_args", _unprocessable("severity", "title")) is None


def test_rejected_field_already_at_its_default_gives_no_patch():
    step = INCIDENT.model_copy(
        update={"args": {**INCIDENT.args, "json_body": {"service": "search", "severity": "sev3"}}}
    )
    plan = Plan(steps=[FETCH, step])
    assert propose_patch(plan, step, "bad_args", _unprocessable("severity")) is None


def test_plain_400_gives_no_patch():
    assert propose_patch(POST_PLAN, INCIDENT, "bad_args", _unprocessable("severity", status=400)) is None


def test_retryable_failure_gives_no_patch():
    result = ToolResult(ok=False, tool="http_get", error=ToolError(kind="timeout", message="slow"))
    assert propose_patch(PLAN, FETCH, "timeout", result) is None
