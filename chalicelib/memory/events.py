"""Writing trace events and metrics: the I/O side of ``chalicelib.journal``.

The layers record into a journal and write nothing; the handler adapter (``chalicelib.handlers``)
writes what a state's journal holds: it logs each event (``log_events``), saves the events with
the checkpoint in one transaction (``chalicelib.durable.checkpoints.save``), emits the metrics
once that checkpoint is saved (``emit_all``), and keeps the events of a state that crashed
(``keep_events``). Runner code outside a state (``chalicelib.workflow``) writes its own events at
once with ``record_event``, and runs a layer helper with ``record_step``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from chalicelib.journal import Event, Metric, run_step
from chalicelib.memory.store import get_run_store
from chalicelib.observability import get_logger
from chalicelib.redaction import redact

S = TypeVar("S")


def log_events(run_id: str, events: Iterable[Event]) -> None:
    """Log each event with the run id as correlation id (its data is already redacted)."""
    logger = get_logger()
    for kind, state, data in events:
        logger.info(kind, extra={"run_id": run_id, "state": state, "event": data})


def emit_all(metrics: Iterable[Metric]) -> None:
    """Emit a state's metrics (EMF through Powertools Metrics)."""
    from chalicelib.observability import emit_metrics

    for counts, dimensions in metrics:
        emit_metrics(counts, **dimensions)


def keep_events(run_id: str, events: Iterable[Event]) -> None:
    """Append the events of a state that crashed, so the trace shows what it did before it failed."""
    from chalicelib.errors import StoreError

    try:
        for kind, state, data in events:
            get_run_store().append_event(run_id, kind, state, data)
    except StoreError:
        pass  # the store is the failure being reported: the original error says more


def record_event(run_id: str, kind: str, state: str, **data: Any) -> None:
    """Runner code: append one event to the run's trace now, and log it (redacted first)."""
    data = redact(data)  # secrets never reach the trace store or the log
    get_run_store().append_event(run_id, kind, state, data)
    log_events(run_id, [(kind, state, data)])


def record_step(run_id: str, step: Callable[..., S], *args: Any, **kwargs: Any) -> S:
    """Runner code: run a layer helper outside a state, and write what it recorded at once."""
    transition = run_step(step, *args, **kwargs)
    for blob_run, key, value in transition.blobs:
        get_run_store().put_blob(blob_run, value, key=key)
    for kind, state, data in transition.events:
        get_run_store().append_event(run_id, kind, state, data)
    log_events(run_id, transition.events)
    emit_all(transition.metrics)
    return transition.state
