"""Adapters between Lambda events and the layers: parse the contract, run, serialise.

``app.py`` declares the functions; these adapters keep each declaration to one line, and make
every handler behave alike: the input is validated, the run id is the log correlation id, and a
contract violation raises ``StateContractError`` for the state machine's Catch.

Every function is packaged with the whole app, but each imports only what it runs, on its first
invocation: the calc tool's cold start does not pay for perception's lexicon or pydantic's
schemas of the planner. ``import app`` itself stays light.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any, Callable

from chalicelib.errors import StateContractError, describe_validation_error
from chalicelib.observability import lambda_logged, traced


@lru_cache(maxsize=None)
def _resolve(target: str) -> Callable[..., Any]:
    """``"package.module:function"`` -> the function, imported once."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _parse(model, event: Any, where: str):
    from pydantic import ValidationError

    try:
        return model.model_validate(event)
    except ValidationError as exc:
        problems = describe_validation_error(exc, root="", limit=5)
        raise StateContractError(f"{where}: input is not a {model.__name__}: {problems}") from None


def layer_handler(state_name: str, target: str) -> Callable[[dict, Any], dict]:
    """A Lambda handler for one layer state; ``target`` names its step function, ``module:function``."""

    @traced
    @lambda_logged
    def handler(event: dict, context: Any) -> dict:
        from chalicelib.contracts import RunState
        from chalicelib.observability import get_logger

        state = _parse(RunState, event, state_name)
        get_logger().set_correlation_id(state.run_id)
        return _resolve(target)(state).model_dump(mode="json")

    return handler


def tool_handler(tool: str) -> Callable[[dict, Any], dict]:
    """A Lambda handler for one tool. Tool failures come back as data, never as exceptions."""

    @traced
    @lambda_logged
    def handler(event: dict, context: Any) -> dict:
        from chalicelib.contracts import ToolCall
        from chalicelib.observability import get_logger
        from chalicelib.tools.invocation import run_tool

        call = _parse(ToolCall, event, f"tool {tool}")
        if call.tool != tool:
            raise StateContractError(f"the {tool} function was asked to run {call.tool!r}")
        get_logger().set_correlation_id(call.run_id)
        return run_tool(call, context).model_dump(mode="json")

    return handler
