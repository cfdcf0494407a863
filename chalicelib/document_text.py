"""The JSON text of a state document for its checkpoint, written once per part.

A checkpoint stores the whole ``RunState`` a state returned as JSON text. Most of that document is
what the state was given (``handlers._as_given`` passes unchanged fields on as the same objects),
and an engine that has written those parts already may know their text: the embedded engine keeps
the text of every part of the documents it has handled (``embedded_engine.history_text``). Such an
engine lends its texts here (``KnownText``) while it runs; the checkpoint then writes only the
fields that changed, and hands their text back for the engine's own copy of the answer.

Without an engine's texts (Lambda on AWS, LocalStack, a test) ``text_of`` is ``json.dumps``. Either
way the text is ``json.dumps(document)``'s, character for character: the same separators, ASCII
only, and each part's text is only ever the text of that very object.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any, Protocol


class KnownText(Protocol):
    """What an engine knows of the JSON text of the parts it handled, by the parts' identity."""

    def known(self, part: Any, separators: None) -> str | None: ...

    def remember(self, part: Any, separators: None, text: str) -> None: ...


lent: KnownText | None = None  # set by the embedded engine while it runs (``interpreter_speedups``)


def text_of(document: dict[str, Any]) -> str:
    """``json.dumps(document, default=str)``, taking each field's text from ``lent`` when it is known."""
    texts = lent
    if texts is None or type(document) is not dict:
        return json.dumps(document, default=str)
    parts = []
    for key, value in document.items():
        text = texts.known(value, None) if type(value) in (dict, list) else None
        if text is None:
            text = json.dumps(value, default=str)
            texts.remember(value, None, text)
        parts.append(encode_basestring_ascii(str(key)) + ": " + text)
    return "{" + ", ".join(parts) + "}"
