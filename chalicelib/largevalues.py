"""Large values travel between states by reference, never inside the state document.

Step Functions caps a state document at 256 KB. A tool output over ``MAOO_LARGE_OUTPUT_BYTES`` is
kept in the run store and the state carries ``{"$blob": ref}`` (see ``tools.invocation``). This module
is the other half: when NextStep resolves a step's arguments, any argument value over the same
threshold (a large earlier result, or text that interpolates one) is stored too, and the tool call
carries ``{"$blob": ref}`` in its place. The tool Lambda reads it back from the run store just
before it validates its arguments (``load``). So neither ``call``, nor the step record, nor any
history event ever holds the large value itself.

A reference is only honoured inside the run that stored it: a call cannot read another run's blobs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalicelib.config import get_settings
from chalicelib.errors import MaooError
from chalicelib.memory.store import get_run_store

BLOB_KEY = "$blob"


class BlobReferenceError(MaooError):
    """A ``{"$blob": ...}`` argument that names another run's blob, or one that is not stored."""


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {BLOB_KEY} and isinstance(value[BLOB_KEY], str)


def _size(value: Any) -> int:
    return len(json.dumps(value, default=str))


def by_reference(args: dict[str, Any], run_id: str) -> dict[str, Any]:
    """``args`` with every argument value over the threshold stored and replaced by a reference.

    Whole top-level values are stored (a list of inputs item by item), so a tool reads back
    exactly the value it would have received inline. A reference is a digest of its value, so a
    retry of the same call carries the same arguments (same fingerprint, same idempotency payload).
    """
    limit = get_settings().large_output_bytes
    if _size(args) <= limit:
        return args
    store = get_run_store()

    def shrink(value: Any) -> Any:
        if _size(value) <= limit:
            return value
        if isinstance(value, list):
            return [shrink(item) for item in value]
        digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:24]
        return {BLOB_KEY: store.put_blob(run_id, value, key=digest)}

    return {key: shrink(value) for key, value in args.items()}


def load(args: dict[str, Any], run_id: str) -> dict[str, Any]:
    """``args`` with every reference replaced by the stored value (one level of lists included)."""
    store = None

    def fetch(value: Any) -> Any:
        nonlocal store
        if isinstance(value, list):
            return [fetch(item) for item in value]
        if not is_reference(value):
            return value
        ref = value[BLOB_KEY]
        if not ref.startswith(f"blob:{run_id}:"):
            raise BlobReferenceError(f"argument reference {ref!r} does not belong to run {run_id}")
        store = store or get_run_store()
        try:
            return store.get_blob(ref)
        except (KeyError, LookupError, ValueError) as exc:
            raise BlobReferenceError(f"argument reference {ref!r} is not in the run store ({exc})") from None

    return {key: fetch(value) for key, value in args.items()}
