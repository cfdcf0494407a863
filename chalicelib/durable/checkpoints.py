"""Checkpoints: the ``RunState`` each Task state returned, saved before the engine moves on.

A checkpoint row holds the state that wrote it, the state the engine goes to next
(``next_state``) and a sequence number. Three kinds:

- ``state``: a layer's output (Perceive, Plan, NextStep, Observe, Finalize).
- ``tool_started``: a plain ``write`` is about to be sent; with no ``tool`` row after it, the
  write was in flight when the process died and is never repeated blindly.
- ``tool``: a tool's result, so that a resume does not call a finished tool again.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.config import get_settings
from chalicelib.durable import drills
from chalicelib.memory.store import Event, get_run_store

# where the engine goes after each layer state: the resume's entry Choice routes there
NEXT_STATE = {
    "Perceive": "Plan",
    "Plan": "PlanOK?",
    "NextStep": "Route",
    "Observe": "Decide",
    "Finalize": "Done",
}
# the states a resumed execution may start at (the entry Choice's rules, in the definition)
RESUMABLE = ("Plan", "PlanOK?", "NextStep", "Route", "Observe", "Decide", "Finalize", "Done")


def save(
    run_id: str,
    kind: str,
    state: str,
    next_state: str,
    document: dict[str, Any],
    events: list[Event],
    entry: int = 1,
) -> int:
    """Write one checkpoint with the events its state produced, and renew the run's lease."""
    store = get_run_store()
    if drills.store_fails_at(state, entry):
        store.make_read_only()  # type: ignore[attr-defined]
    lease_until = time.time() + get_settings().lease_seconds
    return store.record_transition(run_id, kind, state, next_state, document, events, lease_until)


def latest(run_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The last ``state`` checkpoint of the run, and the tool rows written after it."""
    rows = get_run_store().checkpoints(run_id)
    last = next((r for r in reversed(rows) if r["kind"] == "state"), None)
    after = [r for r in rows if r["kind"] != "state" and (last is None or r["seq"] > last["seq"])]
    return last, after
