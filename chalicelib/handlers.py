"""Adapters between Lambda events and the layers: parse the contract, run, serialise.

``app.py`` declares the functions; these adapters keep each declaration to one line, and make
every handler behave alike: the input is validated, the run id is the log correlation id, and a
contract violation raises ``StateContractError`` for the state machine's Catch.
"""

from __future__ import annotations

from typing import Any, Callable

from pydantic import ValidationError

from chalicelib.contracts import RunState, ToolCall
from chalicelib.errors import StateContractError
from chalicelib.observability import get_logger, traced


def _parse(model, event: Any, where: str):
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise StateContractError(f"{where}: input is not a {model.__name__}: {problems}") from None


def layer_handler(state_name: str, step: Callable[[RunState], RunState]) -> Callable[[dict, Any], dict]:
    """A Lambda handler for one layer state (Perceive, Plan, NextStep, Observe, Finalize)."""

    @traced
    def handler(event: dict, context: Any) -> dict:
        state = _parse(RunState, event, state_name)
        get_logger().set_correlation_id(state.run_id)
        return step(state).model_dump(mode="json")

    handler.__name__ = f"{state_name}_handler"
    return handler


def tool_handler(tool: str) -> Callable[[dict, Any], dict]:
    """A Lambda handler for one tool. Tool failures come back as data, never as exceptions."""
    from chalicelib.tools.runner import run_tool

    @traced
    def handler(event: dict, context: Any) -> dict:
        call = _parse(ToolCall, event, f"tool {tool}")
        if call.tool != tool:
            raise StateContractError(f"the {tool} function was asked to run {call.tool!r}")
        get_logger().set_correlation_id(call.run_id)
        return run_tool(call, context).model_dump(mode="json")

    handler.__name__ = f"tool_{tool}_handler"
    return handler
