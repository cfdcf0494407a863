"""The JSON text of the documents moto's interpreter writes into an execution's history.

moto's interpreter writes the whole state document as JSON text several times per state: the
state's input when it is entered, the size check, the Task's parameters, the Lambda payload, the
Task's output, the state's output when it is left (``to_json_str``). On a run whose state document
is 15 KB that was a third of the engine's time, and nearly all of it is text written already for
another copy of the same document: the copies share their parts
(``interpreter_speedups.share_document`` makes a new top level over the same items).

``HistoryText`` writes the same text, character for character, as ``to_json_str``, but keeps:

- the text of a document (a dict or list written at the top, or a dict of at least ``_WIDE`` keys
  inside one) under the identity of its keys and items, and of the keys and items of the documents
  among them: another copy over the same items is the same text, and a change at the top level of
  the document or of one inside it (a new item) makes a new text;
- the text of every other part under the part's own identity.

Both keep the objects they were written from, so that no identity is reused while its text is
kept. That is exact where nothing changes a part in place below the top level of a document. For
the definitions ``interpreter_speedups.unproven_features`` accepts, the only changes made in place
are ``ResultPath`` setting one field at the top of a state's input (a new copy each time it is read)
and the Lambda integration turning the ``Payload`` of a Task's fresh parameters into bytes: both at
a document's top. The engine uses it for those definitions alone.

``value_of(text)`` hands a reader of the history the document a text was written from, so that it
need not parse the text again (``chalicelib.trace_history`` does, for the trace): only for a
document written from JSON's own types alone (no date or other object the encoder turned into
text) whose top level, and that of each document inside it, are still as they were written.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

_CONSTANTS = {None: "null", True: "true", False: "false"}
_WIDE = 16  # keys: a dict this wide inside a document is a document itself (a state's input)

Separators = tuple[str, str] | None


def _identity(items: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a document's text depends on: the identity of each item, and for each item that is a
    document itself (a wide dict), the identity of its keys and items, so that a change at its top
    is seen too."""
    ids = tuple(map(id, items))
    inner = [value for value in items if type(value) is dict and len(value) >= _WIDE]
    if not inner:
        return ids
    return ids, tuple((tuple(value), _identity(tuple(value.values()))) for value in inner)


def json_encoder(encoder: type[json.JSONEncoder], separators: Separators) -> Callable[[Any], str]:
    """``json.dumps(obj, cls=encoder, separators=separators)`` as one function, with the C encoder
    ``json.dumps`` builds on every call built once. Without the check for circular references: a
    document parsed from JSON has none (a cycle ends in ``RecursionError`` instead of ``ValueError``)."""
    made = encoder(separators=separators)
    if c_make_encoder is None:  # a Python without json's C accelerator
        return made.encode
    item, colon = (", ", ": ") if separators is None else separators
    chunks = c_make_encoder(
        None, made.default, encode_basestring_ascii, None, colon, item, False, False, True
    )

    def encode(obj: Any) -> str:
        if type(obj) is str:
            return encode_basestring_ascii(obj)
        return "".join(chunks(obj, 0))

    return encode


class HistoryText:
    """A drop-in for ``to_json_str(obj, separators=None)`` that keeps the text of what it wrote.

    ``encoder`` is the ``JSONEncoder`` class ``to_json_str`` uses (it turns dates into ISO text and
    anything else unknown into ``str``). At most ``documents`` documents (a state's text is used
    again within the next few states) and ``parts`` parts (a part can last a whole run) are kept."""

    def __init__(
        self, encoder: type[json.JSONEncoder], documents: int = 128, parts: int = 4096, values: int = 1024
    ):
        self.limits = {"documents": documents, "parts": parts, "values": values}
        self._documents: dict[tuple[Any, ...], tuple[tuple[Any, ...], str, bool]] = {}
        self._parts: dict[tuple[int, Separators], tuple[Any, str, bool]] = {}
        self._values: dict[int, tuple[str, Any, tuple[Any, ...]]] = {}
        self._encoders: dict[Separators, Callable[[Any], str]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        local = self._local

        class Noting(encoder):  # type: ignore[valid-type,misc]
            """The same encoder, noting that it met an object JSON has no type for."""

            def default(self, o: Any) -> Any:
                local.met_other = True
                return super().default(o)

        self.encoder = Noting

    def __call__(self, obj: Any, separators: Separators = None) -> str:
        kind = type(obj)
        if (kind is dict or kind is list) and obj:
            return self._document(obj, separators, None, top=True)
        return self._whole(obj, separators)

    def value_of(self, text: str) -> Any:
        """The document ``text`` was written from, as ``json.loads(text)`` would give it back, if it
        is kept and unchanged at its top (and at the top of each document inside it); else None."""
        kept = self._values.get(id(text))
        if kept is None or kept[0] is not text:
            return None
        _, obj, ident = kept
        keys = tuple(obj) if type(obj) is dict else None
        items = tuple(obj.values()) if type(obj) is dict else tuple(obj)
        if (ident[0], keys, _identity(items)) != ident:
            return None
        return obj

    def let_go(self, texts: list[str]) -> None:
        """Keep the documents of ``texts`` no longer (their execution's trace is stored), nor any
        kept before the last of them: documents written that never reached a history (a size
        check, a Lambda request), or an execution's that ran beside it (whose trace then parses
        its text, as without them)."""
        with self._lock:
            order = list(self._values)
            ours = {id(text) for text in texts}
            last = max((at for at, key in enumerate(order) if key in ours), default=-1)
            for key in order[: last + 1]:
                del self._values[key]

    def known(self, part: Any, separators: Separators) -> str | None:
        """The text kept for ``part`` (a dict or list), if any."""
        kept = self._parts.get((id(part), separators))
        return kept[1] if kept is not None and kept[0] is part else None

    def remember(self, part: Any, separators: Separators, text: str) -> None:
        """Keep ``text``, written elsewhere by ``to_json_str``'s rules from JSON's own types (by an
        encoder that knows no others), as the text of ``part``."""
        if type(part) is dict or type(part) is list:
            self._keep(self._parts, self.limits["parts"], (id(part), separators), (part, text, True))

    def clear(self) -> None:
        with self._lock:
            self._documents.clear()
            self._parts.clear()
            self._values.clear()

    def _whole(self, obj: Any, separators: Separators) -> str:
        encode = self._encoders.get(separators)
        if encode is None:
            encode = self._encoders[separators] = json_encoder(self.encoder, separators)
        return encode(obj)

    def _document(
        self,
        obj: dict[Any, Any] | list[Any],
        separators: Separators,
        other: list[Any] | None,
        top: bool = False,
    ) -> str:
        """``obj``'s text; ``other`` (when given) gets ``obj`` if anything in it is not of JSON's own
        types; ``top``: a document the history holds, kept for ``value_of`` when it is."""
        keys: tuple[Any, ...] | None = None
        if isinstance(obj, dict):
            keys, items = tuple(obj), tuple(obj.values())
            if any(type(key) is not str for key in keys):  # json's own rules for such keys
                if other is not None:
                    other.append(obj)
                return self._whole(obj, separators)
        else:
            items = tuple(obj)
        ident = (separators, keys, _identity(items))
        kept = self._documents.get(ident)
        if kept is not None:
            if not kept[2]:
                if other is not None:
                    other.append(obj)
            elif top:
                self._keep(self._values, self.limits["values"], id(kept[1]), (kept[1], obj, ident))
            return kept[1]
        item, colon = (", ", ": ") if separators is None else separators
        mine: list[Any] = []
        parts = [self._part(value, separators, mine) for value in items]
        if keys is None:
            text = "[" + item.join(parts) + "]"
        else:
            text = (
                "{"
                + item.join(
                    [encode_basestring_ascii(k) + colon + v for k, v in zip(keys, parts, strict=True)]
                )
                + "}"
            )
        pure = not mine
        self._keep(self._documents, self.limits["documents"], ident, (items, text, pure))
        if not pure:
            if other is not None:
                other.append(obj)
        elif top:
            self._keep(self._values, self.limits["values"], id(text), (text, obj, ident))
        return text

    def _part(self, value: Any, separators: Separators, other: list[Any]) -> str:
        kind = type(value)
        if kind is str:
            return encode_basestring_ascii(value)
        if kind is int:
            return int.__repr__(value)
        if value is None or kind is bool:
            return _CONSTANTS[value]
        if kind is dict and len(value) >= _WIDE:
            return self._document(value, separators, other)
        if kind is not dict and kind is not list:
            if kind is not float:
                other.append(value)
            return self._whole(value, separators)
        ident = (id(value), separators)
        kept = self._parts.get(ident)
        if kept is not None and kept[0] is value:
            if not kept[2]:
                other.append(value)
            return kept[1]
        self._local.met_other = False
        text = self._whole(value, separators)
        pure = not self._local.met_other
        if not pure:
            other.append(value)
        self._keep(self._parts, self.limits["parts"], ident, (value, text, pure))
        return text

    def _keep(self, kept: dict[Any, Any], limit: int, ident: Any, entry: Any) -> None:
        with self._lock:
            while len(kept) >= limit:
                kept.pop(next(iter(kept)))
            kept[ident] = entry
