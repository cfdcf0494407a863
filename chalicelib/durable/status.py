"""How a stored run looks to a reader: an approval past its TTL reads ``stopped``/``approval_expired``.

The run store already shows a ``running`` run whose owner is gone as ``interrupted``. A held run
whose approval waited longer than ``MAOO_APPROVAL_TTL_SECONDS`` is shown as expired at once, and
whoever first opens or lists it ends its execution (Finalize, trace): ``workflow.resume.end_if_expired``,
``workflow.listing``.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.config import get_settings
from chalicelib.memory.records import record_of


def approval_expired(document: dict[str, Any], now: float | None = None) -> bool:
    record = record_of(document)
    if record.status != "awaiting_approval" or record.pending_approval is None:
        return False
    return (now or time.time()) - record.pending_approval.requested_at > get_settings().approval_ttl_seconds


def as_seen(document: dict[str, Any]) -> dict[str, Any]:
    """The document as a reader should see it now."""
    if not approval_expired(document):
        return document
    pending = document["pending_approval"]
    return {
        **document,
        "status": "stopped",
        "stop_reason": "approval_expired",
        "stop_detail": f"step {pending['step_id']} ({pending['tool']}) waited longer than "
        "MAOO_APPROVAL_TTL_SECONDS "
        f"({get_settings().approval_ttl_seconds:g} s) for an approval; nothing was written",
    }
