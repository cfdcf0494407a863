"""Trace events: every layer records what it decided, as it happens."""

from __future__ import annotations

from typing import Any

from chalicelib.memory.store import get_run_store
from chalicelib.observability import get_logger
from chalicelib.redaction import redact


def record_event(run_id: str, kind: str, state: str, **data: Any) -> None:
    """Append one event to the run's trace and log it with the run id as correlation id."""
    data = redact(data)  # secrets never reach the trace store or the log
    get_run_store().append_event(run_id, kind, state, data)
    get_logger().info(kind, extra={"run_id": run_id, "state": state, "event": data})
