"""A tool call's large arguments, read back from the run store before the tool validates them.

NextStep sends an argument over ``MAOO_LARGE_OUTPUT_BYTES`` as ``{"$blob": ref}``
(``chalicelib.largevalues``); the tool Lambda, which may do I/O, reads it here. A reference is only
honoured inside the run that stored it: a call cannot read another run's blobs.
"""

from __future__ import annotations

from typing import Any

from chalicelib.largevalues import BLOB_KEY, BlobReferenceError, blob_ref, is_reference
from chalicelib.memory.store import get_run_store


def load(args: dict[str, Any], run_id: str) -> dict[str, Any]:
    """``args`` with every reference replaced by the stored value (one level of lists included)."""
    store = None
    own = blob_ref(run_id, "")

    def fetch(value: Any) -> Any:
        nonlocal store
        if isinstance(value, list):
            return [fetch(item) for item in value]
        if not is_reference(value):
            return value
        ref = value[BLOB_KEY]
        if not ref.startswith(own):
            raise BlobReferenceError(f"argument reference {ref!r} does not belong to run {run_id}")
        store = store or get_run_store()
        try:
            return store.get_blob(ref)
        except (KeyError, LookupError, ValueError) as exc:
            raise BlobReferenceError(f"argument reference {ref!r} is not in the run store ({exc})") from None

    return {key: fetch(value) for key, value in args.items()}
