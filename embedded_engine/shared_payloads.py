"""Lambda payloads between moto's interpreter and the handlers, sharing what a state left unchanged.

A Lambda Task's answer reaches moto's interpreter as JSON bytes, which it parses into a new
document. Every part of that document is then new to ``HistoryText``, which writes it out again,
twice (the history uses two separator styles), although most of a state's output is what it was
given: perception's reading and the plan are unchanged by most states.

Here the answer is written field by field (the same bytes as ``json.dumps`` of the whole), and a
field whose text is the text of the same field in the document the function was given is taken
from that document instead of being parsed again. Equal JSON text means an equal JSON value (the
same keys in the same order, the same types), so moto's interpreter gets exactly the document it
would have parsed; its parts are shared, which the premise of ``interpreter_speedups`` allows
(nothing changes a part of a document in place below its top level). The text of each new field is
handed to ``HistoryText`` so that it is not written again either.

The seams: moto's ``to_payload_type`` (its bytes now carry the document they were written from)
and ``_from_payload`` (a stream that carries its document is not parsed again), in
``lambda_eval_utils``. Both are internal to the moto version pinned in ``pyproject.toml``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any

from embedded_engine.history_text import HistoryText, json_encoder
from embedded_engine.state_documents import known_canonical

_MISSING = object()
_PLAIN = (str, int, bool, type(None))  # a value of these types equal to another is the same JSON


class PayloadBytes(bytes):
    """A Task's ``Payload`` as moto sends it, with the document it was written from."""

    document: Any
    sharing: PayloadSharing


class ResponseStream(io.BytesIO):
    """A function's answer as Lambda returns it, with the document moto would parse from it."""

    document: Any


class PayloadSharing:
    """The two seams, and the answer written with its unchanged fields taken from the input."""

    def __init__(self, text: HistoryText):
        self.text = text
        self._dumps = json_encoder(json.JSONEncoder, None)  # json.dumps(value)

    def to_payload_type(self, original: Callable[[Any], bytes | None]) -> Callable[[Any], bytes | None]:
        def to_payload_type(payload: Any) -> bytes | None:
            data = original(payload)
            if type(payload) is not dict or type(data) is not bytes:
                return data
            carried = PayloadBytes(data)
            carried.document, carried.sharing = payload, self
            return carried

        return to_payload_type

    @staticmethod
    def from_payload(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def from_payload(stream: Any) -> Any:
            if isinstance(stream, ResponseStream):
                return stream.document
            return original(stream)

        return from_payload

    def answer(self, given: Any, result: Any) -> ResponseStream | None:
        """The response stream for ``result``, the function's answer to ``given``; None when the
        answer is not a JSON object with text keys (it then goes back as plain bytes)."""
        if type(given) is not dict or type(result) is not dict or any(type(k) is not str for k in result):
            return None
        parts: list[str] = []
        document: dict[str, Any] = {}
        for key, value in result.items():
            before = given.get(key, _MISSING)
            if value is before and (known := self._known(before)) is not None:  # passed on as given
                document[key] = before
                parts.append(encode_basestring_ascii(key) + ": " + known)
                continue
            written = self._dumps(value)
            if before is not _MISSING and self._same(before, value, written):
                document[key] = before
            elif known_canonical(key, value):  # a layer's JSON, as pydantic wrote it: kept, not parsed
                document[key] = value
                self.text.remember(value, None, written)
            else:
                document[key] = parsed = json.loads(written)
                self.text.remember(parsed, None, written)
            parts.append(encode_basestring_ascii(key) + ": " + written)
        stream = ResponseStream(("{" + ", ".join(parts) + "}").encode())
        stream.document = document
        return stream

    def _known(self, part: Any) -> str | None:
        """The text of ``part`` without writing it again: a plain value is cheap to write, a
        document's text is the one kept for it (None if none is)."""
        if type(part) in _PLAIN:
            return self._dumps(part)
        return self.text.known(part, None)

    def _same(self, before: Any, value: Any, written: str) -> bool:
        kind = type(before)
        if kind is not type(value):
            return False
        if kind in _PLAIN:
            return bool(before == value)
        known = self.text.known(before, None)
        return known is not None and known == written
