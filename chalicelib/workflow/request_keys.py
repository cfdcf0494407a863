"""One request, one run: an idempotency key on ``POST /runs`` and ``cli run --key``.

A client that timed out retries with the same key and gets the run it already started, instead of
starting a second one (and opening a second incident). The same key with another body is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from chalicelib.errors import BadRequestError, IdempotencyConflictError
from chalicelib.memory.store import get_run_store

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def claim(key: str, body: dict[str, Any], run_id: str) -> str | None:
    """Bind ``key`` to ``run_id``; if it was bound before to the same body, return that run's id."""
    if not _KEY.match(key):
        raise BadRequestError(
            f"idempotency key {key[:40]!r} is not accepted; "
            "use 1 to 200 printable ASCII characters, no spaces"
        )
    earlier = get_run_store().claim_request_key(key, body_hash(body), run_id)
    if earlier is None:
        return None
    if earlier["body_hash"] != body_hash(body):
        raise IdempotencyConflictError(
            f"idempotency key {key!r} was already used for run {earlier['run_id']} with another "
            "request; use a new key for a new request"
        )
    return str(earlier["run_id"])
