"""A layer's answer as JSON, with only what the state changed written out.

A state's answer is the whole ``RunState`` as JSON, though most states change a few fields of it:
perception's reading and the plan (three quarters of a 20-step run's document) pass through most
states untouched. ``answer`` writes with pydantic only the fields the state changed, and passes
every other field on as the very object its input held, which the embedded engine then neither
parses nor writes out again (``embedded_engine.shared_payloads``).

A field is passed on only when both hold:

- the state left it as it was: the same object before and after. Layers never change a field in
  place; they make a new value and ``model_copy`` it in (every test checks this, ``tests/conftest.py``);
- its input's JSON for it was written here, by this function, for the same field: so it is the
  canonical JSON of that value (every field, nested defaults included), never a hand-written or
  foreign input's form, which is written out afresh as before.

In Lambda every invocation parses a new event, so nothing was written here and every field is
written out, as ``model_dump`` does.
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel

_LIMIT = 4096  # parts remembered: a few runs' worth of documents
_written: dict[tuple[str, int], Any] = {}  # (field, id of its JSON) -> that JSON, kept alive while remembered
_lock = threading.Lock()


def _written_here(name: str, part: Any) -> bool:
    """Was ``part`` (a dict or list) written here as the JSON of field ``name``?"""
    return (type(part) is dict or type(part) is list) and _written.get((name, id(part))) is part


def _remember(document: dict[str, Any]) -> None:
    with _lock:
        for name, part in document.items():
            if type(part) is dict or type(part) is list:
                _written[(name, id(part))] = part
        while len(_written) > _LIMIT:
            del _written[next(iter(_written))]


def answer(after: BaseModel, before: BaseModel, event: Any) -> dict[str, Any]:
    """``after.model_dump(mode="json")``, equal in every field, with the fields ``after`` shares with
    ``before`` taken from ``event`` (the JSON ``before`` was read from) where that JSON was written here."""
    if type(event) is not dict:
        return after.model_dump(mode="json")
    fields = type(after).model_fields
    changed = {
        name
        for name in fields
        if getattr(after, name) is not getattr(before, name) or not _written_here(name, event.get(name))
    }
    written = after.model_dump(mode="json", include=changed) if changed else {}
    document = {name: written[name] if name in changed else event[name] for name in fields}
    _remember(document)
    return document
