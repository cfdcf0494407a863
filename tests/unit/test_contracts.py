"""Contracts refuse what they do not know and survive a JSON round trip (the state machine's payload)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from chalicelib.contracts import (
    Condition,
    Counters,
    Guards,
    Plan,
    RunState,
    Step,
    StepRecord,
    ToolCall,
    ToolError,
    ToolOutcome,
    ToolResult,
)


def _extra_fields(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple]:
    return [e["loc"] for e in exc.value.errors() if e["type"] == "extra_forbidden"]


def test_run_state_refuses_an_unknown_field():
    with pytest.raises(ValidationError) as exc:
        RunState.model_validate({"run_id": "r1", "request": "x", "started_at": 0.0, "surprise": 1})
    assert _extra_fields(exc) == [("surprise",)]


def test_run_state_refuses_an_unknown_nested_field():
    with pytest.raises(ValidationError) as exc:
        RunState.model_validate(
            {"run_id": "r1", "request": "x", "started_at": 0.0, "guards": {"max_stepz": 3}}
        )
    assert _extra_fields(exc) == [("guards", "max_stepz")]


def test_tool_call_refuses_an_unknown_field():
    with pytest.raises(ValidationError) as exc:
        ToolCall.model_validate(
            {"run_id": "r1", "step_id": "s1", "tool": "calc", "args": {}, "token": "secret"}
        )
    assert _extra_fields(exc) == [("token",)]


def test_run_state_round_trips_through_json():
    # given a run state with every nested model populated
    state = RunState(
        run_id="run-1",
        request="compute 2 + 2 and summarize",
        started_at=1_700_000_000.5,
        guards=Guards(max_steps=5, budget=3.5),
        plan=Plan(
            steps=[
                Step(id="s1", tool="calc", args={"expression": "2 + 2"}),
                Step(
                    id="s2",
                    tool="summarize",
                    args={"inputs": ["{{s1}}"]},
                    depends_on=["s1"],
                    when=Condition(subject="s1.value", op=">", value=3),
                ),
            ],
            revision=1,
        ),
        plan_ok=True,
        results={"s1": {"expression": "2 + 2", "value": 4}},
        attempts={"s1": 1},
        failures={"abc|transient": 2},
        call=ToolCall(
            run_id="run-1", step_id="s2", tool="summarize", args={"inputs": [4]}, idempotency_key=None
        ),
        outcome=ToolOutcome(
            result=ToolResult(
                ok=False,
                tool="summarize",
                error=ToolError(
                    kind="http_status",
                    message="503",
                    status_code=503,
                    retry_after=1.5,
                    details={"body": {"e": 1}},
                ),
            )
        ),
        steps=[
            StepRecord(
                step_id="s1",
                tool="calc",
                args={"expression": "2 + 2"},
                attempt=1,
                ok=True,
                signal="ok",
                decision="continue",
                output_preview={"value": 4},
            )
        ],
        counters=Counters(tool_calls=1, cost=0.5),
        decision="retry",
        wait_seconds=2,
    )
    # when it is serialised to JSON text and parsed back
    restored = RunState.model_validate(json.loads(json.dumps(state.model_dump(mode="json"))))
    # then nothing is lost or changed
    assert restored == state
