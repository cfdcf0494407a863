"""A layer's answer as JSON, with only what the state changed written out.

A state's answer is the whole ``RunState`` as JSON, though most states change a few fields of it:
perception's reading and the plan (three quarters of a 20-step run's document) pass through most
states untouched. ``answer`` writes with pydantic only the fields the state changed, and passes
every other field on as the very object its input held, which the embedded engine then neither
parses nor writes out again (``embedded_engine.shared_payloads``). The engine installs ``write``
through ``chalicelib.engine_seam`` when it starts; handlers run elsewhere write with pydantic.

A field is passed on only when both hold:

- the state left it as it was: the same object before and after. Layers never change a field in
  place; they make a new value and ``model_copy`` it in (every test checks this, ``tests/conftest.py``);
- its input's JSON for it is canonical: equal to what ``model_dump`` writes for it (every field,
  nested defaults included), never a hand-written or foreign input's form, which is written out
  afresh. A part is compared once, the first time it is seen, and known from then on: the engine
  passes the same objects from state to state, so later states pass it on without writing it.

In Lambda every invocation parses a new event, so this would write out and compare every field,
as costly as ``model_dump`` alone: that is why it is not Lambda code.
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel

_LIMIT = 1024  # parts remembered: about two 20-step runs' documents; bounded, so memory stays flat
_canonical: dict[
    tuple[str, int], Any
] = {}  # (field, id of its JSON) -> that JSON, kept alive while remembered
_lock = threading.Lock()


def known_canonical(name: str, part: Any) -> bool:
    """Is ``part`` (a dict or list) JSON of field ``name`` known to be canonical? Such a part was
    written by pydantic here, or compared with its output: it is JSON only (dicts, lists, text,
    numbers), and nothing changes it (an engine may keep it as it is instead of parsing its text)."""
    return (type(part) is dict or type(part) is list) and _canonical.get((name, id(part))) is part


def _remember(document: dict[str, Any]) -> None:
    with _lock:
        for name, part in document.items():
            if type(part) is dict or type(part) is list:
                _canonical[(name, id(part))] = part
        while len(_canonical) > _LIMIT:
            del _canonical[next(iter(_canonical))]


def answer(after: BaseModel, before: BaseModel, event: Any) -> dict[str, Any]:
    """``after.model_dump(mode="json")``, equal in every field, with the fields ``after`` shares with
    ``before`` taken from ``event`` (the JSON ``before`` was read from) where that JSON is canonical."""
    if type(event) is not dict:
        return after.model_dump(mode="json")
    fields = type(after).model_fields
    changed: set[str] = set()
    unproven: set[str] = set()  # left as it was, in JSON not seen here yet
    for name in fields:
        if name not in event or getattr(after, name) is not getattr(before, name):
            changed.add(name)
        elif not known_canonical(name, event[name]):
            unproven.add(name)
    written = after.model_dump(mode="json", include=changed | unproven) if changed or unproven else {}
    for name in unproven:
        if written[name] == event[name]:  # canonical after all: passed on, and known from now on
            written[name] = event[name]
    document = {name: written[name] if name in written else event[name] for name in fields}
    _remember(document)
    return document


def write(after: BaseModel, before: BaseModel, event: Any) -> dict[str, Any]:
    """What the engine installs (``chalicelib.engine_seam``): ``answer``, looked up at each call."""
    return answer(after, before, event)
