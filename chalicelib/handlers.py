"""Adapters between Lambda events and the layers: parse the contract, run, serialise.

``app.py`` declares the functions; these adapters keep each declaration to one line, and make
every handler behave alike: the input is validated, the run id is the log correlation id, and a
contract violation raises ``StateContractError`` for the state machine's Catch.

Every function is packaged with the whole app, but each imports only what it runs, on its first
invocation: the calc tool's cold start does not pay for perception's rule table or pydantic's
schemas of the planner. ``import app`` itself stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import Any

from chalicelib.errors import StateContractError, describe_validation_error
from chalicelib.observability import lambda_logged, traced


@cache
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


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def layer_handler(state_name: str, target: str, facts: str | None = None) -> Callable[[dict, Any], dict]:
    """A Lambda handler for one layer state; ``target`` names its step function, ``module:function``.

    The layer only computes the next ``RunState`` (and records events, which are collected), and
    ``facts`` (``module:function``) what that state teaches long-term memory. This adapter does the
    I/O: it files the facts, then writes the checkpoint and the events, in one transaction, before
    the engine moves on.
    """

    @traced
    @lambda_logged
    def handler(event: dict, context: Any) -> dict:
        from chalicelib.contracts import RunState
        from chalicelib.durable import checkpoints, drills
        from chalicelib.memory.events import collecting
        from chalicelib.observability import get_logger

        state = _parse(RunState, event, state_name)
        get_logger().set_correlation_id(state.run_id)
        entry = drills.entered(state_name)
        drills.crash_point(state_name, entry, "before")
        with collecting() as recorded:
            try:
                after = _resolve(target)(state)
                if facts is not None:
                    from chalicelib.memory.longterm import remember_facts

                    remember_facts(after.run_id, _resolve(facts)(after))
            except Exception:
                _keep_events(
                    state.run_id, recorded.events
                )  # the trace keeps what the state did before it crashed
                raise
        if after.resume_at is not None:
            after = after.model_copy(update={"resume_at": None})
        document = _as_given(after, state, event)
        drills.crash_point(state_name, entry, "after")
        checkpoints.save(
            state.run_id,
            "state",
            state_name,
            checkpoints.NEXT_STATE[state_name],
            document,
            recorded.events,
            entry,
        )
        recorded.emit_metrics()
        return document

    return handler


def _as_given(after: Any, before: Any, event: Any) -> dict:
    """``after`` as JSON, with every field the state left as it was (the same object) taken from its
    input as given: only what changed is written out. Layers never change a field in place (they
    make a new value and ``model_copy`` it in), so an unchanged field's JSON is the input's."""
    if type(event) is not dict:
        return after.model_dump(mode="json")
    fields = type(after).model_fields
    changed = {
        name for name in fields if name not in event or getattr(after, name) is not getattr(before, name)
    }
    written = after.model_dump(mode="json", include=changed) if changed else {}
    return {name: written[name] if name in changed else event[name] for name in fields}


def _keep_events(run_id: str, events: list) -> None:
    from chalicelib.errors import StoreError
    from chalicelib.memory.store import get_run_store

    try:
        for kind, state, data in events:
            get_run_store().append_event(run_id, kind, state, data)
    except StoreError:
        pass  # the store is the failure being reported: the original error says more


def _side_effect(tool: str, args: dict) -> str | None:
    from chalicelib.tools.registry import side_effect_of

    try:
        return side_effect_of(tool, args)
    except Exception:  # arguments the tool will refuse: nothing is sent
        return None


def tool_handler(tool: str) -> Callable[[dict, Any], dict]:
    """A Lambda handler for one tool. Tool failures come back as data, never as exceptions.

    A plain ``write`` is marked as started before it is sent, and every result is checkpointed
    before the engine moves on: a resume then knows whether the call finished, or was in flight.
    """
    state_name = "Call" + _camel(tool)

    @traced
    @lambda_logged
    def handler(event: dict, context: Any) -> dict:
        from chalicelib.contracts import ToolCall
        from chalicelib.durable import checkpoints, drills
        from chalicelib.observability import get_logger
        from chalicelib.tools.invocation import run_tool

        call = _parse(ToolCall, event, f"tool {tool}")
        if call.tool != tool:
            raise StateContractError(f"the {tool} function was asked to run {call.tool!r}")
        get_logger().set_correlation_id(call.run_id)
        entry = drills.entered(state_name)
        call_doc = call.model_dump(mode="json")
        if _side_effect(tool, call.args) == "write":
            checkpoints.save(
                call.run_id, "tool_started", state_name, "Observe", {"call": call_doc}, [], entry
            )
        drills.crash_point(state_name, entry, "before")
        result = run_tool(call, context).model_dump(mode="json")
        drills.crash_point(state_name, entry, "after")
        checkpoints.save(
            call.run_id, "tool", state_name, "Observe", {"call": call_doc, "result": result}, [], entry
        )
        return result

    return handler
