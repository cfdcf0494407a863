"""Large values travel between states by reference, never inside the state document.

Step Functions caps a state document at 256 KB. A tool output over ``MAOO_LARGE_OUTPUT_BYTES`` is
kept in the run store and the state carries ``{"$blob": ref}`` (see ``tools.invocation``). This module
is the other half: when NextStep resolves a step's arguments, any argument value over the same
threshold (a large earlier result, or text that interpolates one) is stored too, and the tool call
carries ``{"$blob": ref}`` in its place. The tool Lambda reads it back from the run store just
before it validates its arguments (``chalicelib.tools.blob_args``). So neither ``call``, nor the
step record, nor any history event ever holds the large value itself.

NextStep is a pure transition: it keeps the values to store in its journal, under a reference
made from their content (``blob_ref``), and its handler adapter stores them before it saves the
state. This module does no I/O.

A reference is only honoured inside the run that stored it: a call cannot read another run's blobs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalicelib.config import get_settings
from chalicelib.errors import MaooError
from chalicelib.journal import journal_blob

BLOB_KEY = "$blob"


def blob_ref(run_id: str, key: str) -> str:
    """The reference of a large value stored for ``run_id`` under ``key``, as every run store makes it."""
    return f"blob:{run_id}:{key}"


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

    def shrink(value: Any) -> Any:
        if _size(value) <= limit:
            return value
        if isinstance(value, list):
            return [shrink(item) for item in value]
        digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:24]
        ref = blob_ref(run_id, digest)
        journal_blob(ref, run_id, digest, value)
        return {BLOB_KEY: ref}

    return {key: shrink(value) for key, value in args.items()}
