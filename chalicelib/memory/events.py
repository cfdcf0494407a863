"""Trace events and metrics: every layer records what it decided, as it happens.

Inside a state's handler both are collected, not written: the handler adapter writes the events
together with the state's checkpoint, in one transaction, so the trace never holds events of a
state whose result was lost, and emits the metrics once that checkpoint is saved
(``chalicelib.handlers``). Outside a handler (the runner, the CLI) they are written at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from chalicelib.memory.store import Event, get_run_store
from chalicelib.observability import get_logger
from chalicelib.redaction import redact

Metric = tuple[dict[str, float], dict[str, str]]  # (counts, dimensions)


@dataclass
class Recorded:
    """What one state recorded: its trace events and its metrics, for the adapter to write."""

    events: list[Event] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)

    def emit_metrics(self) -> None:
        from chalicelib.observability import emit_metrics

        for counts, dimensions in self.metrics:
            emit_metrics(counts, **dimensions)


_collected: ContextVar[Recorded | None] = ContextVar("maoo_recorded", default=None)


@contextmanager
def collecting() -> Iterator[Recorded]:
    """Collect the events and metrics recorded inside this block instead of writing them."""
    recorded = Recorded()
    token = _collected.set(recorded)
    try:
        yield recorded
    finally:
        _collected.reset(token)


def record_metrics(counts: dict[str, float], **dimensions: str) -> None:
    """Count something (EMF through Powertools Metrics); inside a handler, once its checkpoint is saved."""
    collected = _collected.get()
    if collected is not None:
        collected.metrics.append((counts, dimensions))
        return
    from chalicelib.observability import emit_metrics

    emit_metrics(counts, **dimensions)


def record_event(run_id: str, kind: str, state: str, **data: Any) -> None:
    """Append one event to the run's trace and log it with the run id as correlation id."""
    data = redact(data)  # secrets never reach the trace store or the log
    collected = _collected.get()
    if collected is not None:
        collected.events.append((kind, state, data))
    else:
        get_run_store().append_event(run_id, kind, state, data)
    get_logger().info(kind, extra={"run_id": run_id, "state": state, "event": data})
