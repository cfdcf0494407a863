"""Adapters between Lambda events and the layers: parse the contract, run, serialise.

``app.py`` declares the functions; these adapters keep each declaration to one line, and make
every handler behave alike: the input is validated, the run id is the log correlation id, and a
contract violation raises ``StateContractError`` for the state machine's Catch.

The layers are pure transitions; the adapters do all the I/O: a layer state's adapter reads what it
needs from long-term memory, runs the step with a journal open (``chalicelib.journal``), logs the
events it returned, writes them with the checkpoint, and emits its metrics.

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


def _recalled(recall: str | None, state: Any) -> tuple[Any, ...]:
    """The step's extra argument: long-term memory's answer to what the state asked to recall."""
    if recall is None:
        return ()
    query = _resolve(recall)(state)
    if query is None:
        return (None,)
    from chalicelib.memory.longterm import answer

    return (answer(query),)


def _read_blob(ref: str) -> Any:
    """A large value an earlier state stored, for a step that reads it (through its journal)."""
    from chalicelib.memory.store import get_run_store

    return get_run_store().get_blob(ref)


def _store_blobs(blobs: tuple) -> None:
    """The large values a step kept, stored before its state is saved (content-keyed: a repeat is harmless)."""
    if blobs:
        from chalicelib.memory.store import get_run_store

        store = get_run_store()
        for run_id, key, value in blobs:
            store.put_blob(run_id, value, key=key)


def _transition(target: str, facts: str | None, state: Any, recalled: tuple[Any, ...]) -> tuple[Any, list]:
    """Run the layer's step with a journal open: its transition, and the facts it teaches.

    The events of a step that raises are logged and kept in the trace, then the error goes on.
    """
    from chalicelib.journal import open_journal
    from chalicelib.memory.events import keep_events, log_events

    with open_journal(read_blob=_read_blob) as journal:
        try:
            after = _resolve(target)(state, *recalled)
            learned = _resolve(facts)(after) if facts is not None else []
        except Exception:
            log_events(state.run_id, journal.events)
            keep_events(state.run_id, journal.events)  # the trace keeps what the state did before it crashed
            raise
    return journal.transition(after), learned


def layer_handler(
    state_name: str, target: str, facts: str | None = None, recall: str | None = None
) -> Callable[[dict, Any], dict]:
    """A Lambda handler for one layer state; ``target`` names its step function, ``module:function``.

    The layer is a pure transition: its step computes the next ``RunState`` and records events and
    metrics into a journal (``chalicelib.journal``), which comes back as a ``Transition``. ``facts``
    (``module:function``) is what that state teaches long-term memory; ``recall``
    (``module:function``) what it needs to read from it first (a ``RecallQuery``, or ``None``):
    the adapter reads the answer and passes it to the step as its second argument. This adapter
    does all the I/O: it reads memory, logs the events, files the facts, then writes the checkpoint
    and the events in one transaction before the engine moves on, and emits the metrics after it.
    """

    @traced
    @lambda_logged
    def handler(event: dict, context: Any) -> dict:
        from chalicelib import engine_seam
        from chalicelib.contracts import RunState
        from chalicelib.durable import checkpoints, drills
        from chalicelib.memory.events import emit_all, log_events
        from chalicelib.observability import get_logger

        state = _parse(RunState, event, state_name)
        get_logger().set_correlation_id(state.run_id)
        entry = drills.entered(state_name)
        drills.crash_point(state_name, entry, "before")
        transition, learned = _transition(target, facts, state, _recalled(recall, state))
        log_events(state.run_id, transition.events)
        after = transition.state
        if facts is not None:
            from chalicelib.memory.longterm import remember_facts

            remember_facts(after.run_id, learned)
        if after.resume_at is not None:
            after = after.model_copy(update={"resume_at": None})
        document = engine_seam.state_document(after, state, event)
        drills.crash_point(state_name, entry, "after")
        _store_blobs(transition.blobs)
        checkpoints.save(
            state.run_id,
            "state",
            state_name,
            checkpoints.NEXT_STATE[state_name],
            document,
            list(transition.events),
            entry,
        )
        emit_all(transition.metrics)
        return document

    return handler


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
