"""Trace events: every layer records what it decided, as it happens.

Inside a state's handler the events are collected, not written: the handler adapter writes them
together with the state's checkpoint, in one transaction, so the trace never holds events of a
state whose result was lost (``chalicelib.handlers``). Outside a handler (the runner, the CLI)
an event is written at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from chalicelib.memory.store import Event, get_run_store
from chalicelib.observability import get_logger
from chalicelib.redaction import redact

_collected: ContextVar[list[Event] | None] = ContextVar("maoo_collected_events", default=None)


@contextmanager
def collecting() -> Iterator[list[Event]]:
    """Collect the events recorded inside this block instead of writing them; yields the list."""
    events: list[Event] = []
    token = _collected.set(events)
    try:
        yield events
    finally:
        _collected.reset(token)


def record_event(run_id: str, kind: str, state: str, **data: Any) -> None:
    """Append one event to the run's trace and log it with the run id as correlation id."""
    data = redact(data)  # secrets never reach the trace store or the log
    collected = _collected.get()
    if collected is not None:
        collected.append((kind, state, data))
    else:
        get_run_store().append_event(run_id, kind, state, data)
    get_logger().info(kind, extra={"run_id": run_id, "state": state, "event": data})
