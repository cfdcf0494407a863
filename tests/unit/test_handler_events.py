"""Each Lambda handler, called directly with a sample event captured from a real execution
(tests/events/<function>.json), answers with its contract: a RunState for a layer, a ToolResult for a tool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import app
from chalicelib.contracts import RunState, ToolResult
from chalicelib.errors import StateContractError
from embedded_engine import LambdaContext

EVENTS = Path(__file__).resolve().parents[1] / "events"
FUNCTIONS = sorted(p.stem for p in EVENTS.glob("*.json"))


def test_there_is_a_sample_event_for_every_function():
    assert FUNCTIONS == sorted(f.name for f in app.app.pure_lambda_functions)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_handler_answers_its_sample_event_with_its_contract(name):
    event = json.loads((EVENTS / f"{name}.json").read_text())

    answer = app.app.handler_map[name](event, LambdaContext(function_name=name, aws_request_id="test"))

    if name.startswith("tool_"):
        result = ToolResult.model_validate(answer)
        assert result.tool == name.removeprefix("tool_")
    else:
        state = RunState.model_validate(answer)
        assert state.run_id == event["run_id"]


@pytest.mark.parametrize("name", ["plan", "tool_calc"])
def test_a_malformed_event_raises_the_contract_error_the_state_machine_catches(name):
    with pytest.raises(StateContractError, match="input is not a"):
        app.app.handler_map[name](
            {"unexpected": True}, LambdaContext(function_name=name, aws_request_id="test")
        )
