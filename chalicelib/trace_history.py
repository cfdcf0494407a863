"""An execution history stored in linear space: each state document once, as what changed.

The engine's history repeats the whole, growing ``RunState`` in every state's input and output,
so a copied history grows with the square of the steps. ``encode(history)`` keeps each event's
small fields as they are and each document (a state's ``input``/``output``, a task's
``parameters``/``output``: JSON text) as a short list of operations against a document kept
before it. ``rebuild(execution)`` gives back the engine's history: every event, every document as
the same JSON text the engine wrote (its separators are read at each document's first key, and
whether it escaped what is not ASCII). Every reader of a trace's history goes through ``rebuild`` (or ``trace_history``), so
traces written before this format (a plain ``history`` list) read the same way.

Stored form (``execution.format == FORMAT``)::

    {"format": "linear/1", "style": [",", ":", true], "styles": {"0": [", ", ": ", true]},
     "documents": [[op, ...], ...],
     "events": [{... "stateEnteredEventDetails": {"name": "Plan", "input": {"doc": 7}} ...}]}

``style`` is how most documents were written; ``styles`` names the others by index.

An operation is a list: ``["c", path, j, subpath]`` copy document ``j`` (its value at
``subpath``) to ``path``; ``["s", path, value]`` set; ``["d", path]`` delete a key;
``["t", path, n]`` cut a list to ``n`` items; ``["o", path, keys]`` put a mapping's keys in
this order. A path is a list of keys and list indexes; ``[]`` is the document itself.

``encode(history, redact=...)`` redacts each new value once, as it is stored (the value under
its own key, which is what redacting the whole document would do there), never the whole
history: a document rebuilt from redacted parts equals the redacted document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

FORMAT = "linear/1"
DOCUMENT_FIELDS = ("input", "output", "parameters")  # the fields of an event's details that hold documents
_CANDIDATES = 3  # documents kept before this one that it may be written against
_TRIES = 4  # ways tried at most before the shortest found is kept
_SMALL = 2048  # a document this short (in characters) is kept whole
_PAYLOAD = '"Payload":'  # the key a Lambda task's request and response carry the state document under

Path = list[str | int]
Redactor = Callable[[str | int | None, Any], Any]


def _no_redaction(_key: str | int | None, value: Any) -> Any:
    return value


def _diff(old: Any, new: Any, path: Path, ops: list[list[Any]]) -> None:
    """Append to ``ops`` what turns ``old`` into ``new`` (both JSON values) at ``path``."""
    if old == new and type(old) is type(new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        _diff_mapping(old, new, path, ops)
    elif isinstance(old, list) and isinstance(new, list):
        _diff_list(old, new, path, ops)
    else:
        ops.append(["s", path, new])


def _diff_mapping(old: dict[str, Any], new: dict[str, Any], path: Path, ops: list[list[Any]]) -> None:
    for key in old:
        if key not in new:
            ops.append(["d", [*path, key]])
    for key, value in new.items():
        if key in old:
            _diff(old[key], value, [*path, key], ops)
        else:
            ops.append(["s", [*path, key], value])
    kept = [k for k in old if k in new] + [k for k in new if k not in old]
    if kept != list(new):
        ops.append(["o", path, list(new)])


def _diff_list(old: list[Any], new: list[Any], path: Path, ops: list[list[Any]]) -> None:
    if len(new) > len(old) and new[: len(old)] == old:  # items added at the end (steps, notes)
        ops.extend(["s", [*path, index], new[index]] for index in range(len(old), len(new)))
        return
    if len(new) < len(old):
        ops.append(["t", path, len(new)])
    for index, value in enumerate(new):
        if index < len(old):
            _diff(old[index], value, [*path, index], ops)
        else:
            ops.append(["s", [*path, index], value])


def _at(value: Any, path: Path) -> Any:
    for part in path:
        value = value[part]
    return value


def _size(ops: list[list[Any]]) -> int:
    return len(json.dumps(ops, separators=(",", ":"), default=str))


class _Encoder:
    def __init__(
        self, redact: Redactor, is_secret_key: Callable[[Any], bool], parsed: Callable[[str], Any] | None
    ) -> None:
        self.redact = redact
        self.is_secret_key = is_secret_key
        self.parsed = parsed
        self.documents: list[list[list[Any]]] = []
        self.values: list[Any] = []  # the parsed documents, for the next ones to be written against
        self.texts: list[str] = []  # and as the engine wrote them
        self.payload_at: list[int] = []  # where the value of their one "Payload": starts, or -1
        self.by_text: dict[str, int] = {}
        self.style: list[Any] | None = None  # how the engine wrote its documents
        self.styles: dict[str, list[Any]] = {}  # the documents it wrote otherwise (its input, as given)

    def add(self, text: str) -> int | None:
        """The index of ``text``'s document, or ``None`` when it is not a JSON document."""
        if text in self.by_text:
            return self.by_text[text]
        found = self._embedded(text)
        if found is not None:
            value, ops = found
        else:
            value = self.parsed(text) if self.parsed is not None else None
            if value is None:
                try:
                    value = json.loads(text)
                except ValueError:
                    return None
            if not isinstance(value, (dict, list)):
                return None
            ops = self._best(value, len(text))
        index = len(self.values)
        style = _style(text, value)
        if self.style is None:
            self.style = style
        elif style != self.style:
            self.styles[str(index)] = style
        self.documents.append([kept for op in ops if (kept := self._redacted(op)) is not None])
        self.values.append(value)
        self.texts.append(text)
        self.payload_at.append(_payload_at(text))
        self.by_text[text] = index
        return index

    def _embedded(self, text: str) -> tuple[Any, list[list[Any]]] | None:
        """A document that holds one kept before it as its Lambda ``Payload`` (a task's request,
        ``{..., "Payload": <the state's input>}``), is one's ``Payload`` (a state's output taken
        from its task's response), or has the same ``Payload`` text as one: found as text, not
        parsed again. Returns the value and its operations, or ``None``. A JSON value ends where it
        ends, so the text after a document's one ``"Payload":`` that starts with another
        document's text holds that document whole."""
        at = _payload_at(text)
        for j in range(len(self.values) - 1, max(0, len(self.values) - _CANDIDATES) - 1, -1):
            base, base_text, base_at = self.values[j], self.texts[j], self.payload_at[j]
            if at >= 0 and len(base_text) < len(text) and text.startswith(base_text, at):
                return self._wrapped(text[:at] + "null" + text[at + len(base_text) :], j, [], base)
            if base_at < 0 or not isinstance(base, dict) or not isinstance(base.get("Payload"), (dict, list)):
                continue
            if len(text) < len(base_text) and base_text.startswith(text, base_at):
                return base["Payload"], [["c", [], j, ["Payload"]]]
            if (
                at >= 0
                and next(reversed(base)) == "Payload"  # so its text ends with the Payload's and "}"
                and len(text) - at == len(base_text) - base_at
                and text.endswith(base_text[base_at:])
            ):
                return self._wrapped(text[:at] + "null}", j, ["Payload"], base["Payload"])
        return None

    @staticmethod
    def _wrapped(rest_text: str, j: int, sub: Path, payload: Any) -> tuple[Any, list[list[Any]]] | None:
        """A Lambda request or response whose ``Payload`` is document ``j``'s value at ``sub``;
        ``rest_text`` is its text with ``null`` in the Payload's place."""
        try:
            rest = json.loads(rest_text)
        except ValueError:
            return None
        if not isinstance(rest, dict) or rest.get("Payload", 0) is not None:
            return None
        ops: list[list[Any]] = [["s", [], {}]]
        for key, item in rest.items():
            ops.append(["c", [key], j, sub] if key == "Payload" else ["s", [key], item])
        return {**rest, "Payload": payload}, ops

    def _sources(self, value: Any) -> list[tuple[int, Path, Any]]:
        """The recent documents (whole, or their Lambda ``Payload``) ``value`` may be written
        against, the most alike first (most top-level keys in common with it, or its ``Payload``)."""
        target = value.get("Payload") if isinstance(value, dict) and "Payload" in value else value
        keys = set(target) if isinstance(target, dict) else set()
        found: list[tuple[int, int, int, Path, Any]] = []
        for j in range(len(self.values) - 1, max(0, len(self.values) - _CANDIDATES) - 1, -1):
            base = self.values[j]
            subs: list[Path] = [[]]
            if isinstance(base, dict) and isinstance(base.get("Payload"), (dict, list)):
                subs.insert(0, ["Payload"])
            for sub in subs:
                source = _at(base, sub)
                alike = (
                    len(keys.intersection(source))
                    if isinstance(source, dict)
                    else int(type(source) is type(target))
                )
                found.append((alike, -len(found), j, sub, source))
        found.sort(reverse=True)
        return [(j, sub, source) for _, _, j, sub, source in found]

    def _options(self, value: Any) -> Iterator[list[list[Any]]]:
        """Ways to write ``value`` against a recent document, the likeliest first: a Lambda task's
        request and response carry the state document as their ``Payload``."""
        value_payload = isinstance(value, dict) and isinstance(value.get("Payload"), (dict, list))
        for j, sub, source in self._sources(value):
            if value_payload:
                wrapped: list[list[Any]] = [["s", [], {}]]
                for key, item in value.items():
                    if key == "Payload":
                        wrapped.append(["c", ["Payload"], j, sub])
                        _diff(source, item, ["Payload"], wrapped)
                    else:
                        wrapped.append(["s", [key], item])
                yield wrapped
            ops: list[list[Any]] = [["c", [], j, sub]]
            _diff(source, value, [], ops)
            yield ops

    def _best(self, value: Any, text_size: int) -> list[list[Any]]:
        """The shortest way found to write ``value``: the first short one (usually against the
        document most like it among the last few), else the shortest of them, else whole."""
        best: list[list[Any]] = [["s", [], value]]
        best_size = text_size
        good_enough = max(_SMALL, text_size // 8)
        if text_size <= good_enough:
            return best
        for tried, option in enumerate(self._options(value)):
            size = _size(option)
            if size < best_size:
                best, best_size = option, size
            if best_size <= good_enough or tried >= _TRIES:
                break
        return best

    def _redacted(self, op: list[Any]) -> list[Any] | None:
        """An operation with its new value redacted as redacting the whole document would leave
        it there; ``None`` for one inside a value that redaction replaced whole (it stays replaced)."""
        kind, path = op[0], op[1]
        if kind == "c":
            return op
        above = path if kind in ("t", "o") else path[:-1]
        if any(self.is_secret_key(key) for key in above):
            return None
        if kind != "s":
            return op
        return ["s", path, self.redact(path[-1] if path else None, op[2])]


def _payload_at(text: str) -> int:
    """Where the value of the one ``"Payload":`` in ``text`` starts; -1 if there is not exactly one."""
    first = text.find(_PAYLOAD)
    if first < 0 or text.find(_PAYLOAD, first + 1) >= 0:
        return -1
    at = first + len(_PAYLOAD)
    return at + 1 if text.startswith(" ", at) else at


def _style(text: str, value: Any) -> list[Any]:
    """How ``text`` was written: its separators (read at its first key) and whether it escapes
    every character outside ASCII."""
    compact = True
    if isinstance(value, dict) and value:
        head = "{" + json.dumps(next(iter(value)), ensure_ascii=text.isascii()) + ":"
        start = len(text) - len(text.lstrip()) if text[:1].isspace() else 0
        compact = text.startswith(head, start) and text[start + len(head) : start + len(head) + 1] != " "
    elif isinstance(value, list) and len(value) > 1:
        compact = ", " not in text[:200] or text.find(",") != text.find(", ")
    return [",", ":", text.isascii()] if compact else [", ", ": ", text.isascii()]


def encode(
    history: list[dict[str, Any]],
    redact: Redactor = _no_redaction,
    is_secret_key: Callable[[Any], bool] = lambda key: False,
    parsed: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """``history`` in linear space (see the module docstring). ``redact(key, value)`` gives
    ``value`` redacted as found under ``key``; ``is_secret_key(key)`` says when redaction replaces
    whatever is under ``key`` whole. ``parsed(text)``, when given, is the value a document's text
    parses to, or ``None`` (then the text is parsed): an engine that kept the documents it wrote
    saves parsing them again, and its documents share their unchanged parts, which compare at once."""
    encoder = _Encoder(redact, is_secret_key, parsed)
    events = []
    for event in history:
        out: dict[str, Any] = {}
        for name, details in event.items():
            if isinstance(details, dict) and any(isinstance(details.get(f), str) for f in DOCUMENT_FIELDS):
                stored = {}
                for field, item in details.items():
                    index = encoder.add(item) if field in DOCUMENT_FIELDS and isinstance(item, str) else None
                    stored[field] = {"doc": index} if index is not None else redact(field, item)
                out[name] = stored
            else:
                out[name] = redact(name, details)
        events.append(out)
    return {
        "format": FORMAT,
        "style": encoder.style,
        "styles": encoder.styles,
        "documents": encoder.documents,
        "events": events,
    }


def _apply(root: Any, op: list[Any], documents: list[Any]) -> Any:
    """``root`` with ``op`` applied; containers along the path are copied, the rest is shared."""
    kind, path = op[0], op[1]
    if kind == "c":
        value: Any = _at(documents[op[2]], op[3])
    elif kind == "s":
        value = op[2]
    if not path and kind in ("c", "s"):
        return value
    root = root.copy()
    parent = root
    for part in path[:-1]:
        parent[part] = parent[part].copy()
        parent = parent[part]
    last = path[-1] if path else None
    if kind in ("c", "s"):
        if isinstance(parent, list) and last == len(parent):
            parent.append(value)
        else:
            parent[last] = value
    elif kind == "d":
        del parent[last]
    elif kind == "t":
        target = parent[last] if path else root
        del target[op[2] :]
    elif kind == "o":
        target = parent[last] if path else root
        ordered = {key: target[key] for key in op[2]}
        target.clear()
        target.update(ordered)
    return root


def documents_of(execution: dict[str, Any]) -> list[Any]:
    """Every stored document of an encoded execution, rebuilt (as JSON values, sharing parts)."""
    rebuilt: list[Any] = []
    for ops in execution.get("documents") or []:
        value: Any = None
        for op in ops:
            value = _apply(value, op, rebuilt)
        rebuilt.append(value)
    return rebuilt


def rebuild(execution: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The engine's history from a trace's ``execution`` part, whichever form it was stored in."""
    if not execution:
        return []
    if execution.get("format") != FORMAT:
        return list(execution.get("history") or [])
    default = execution.get("style") or [",", ":", True]
    styles = execution.get("styles") or {}
    values = documents_of(execution)
    texts: dict[int, str] = {}

    def text(index: int) -> str:
        if index not in texts:
            style = styles.get(str(index), default)
            texts[index] = json.dumps(
                values[index], separators=(style[0], style[1]), ensure_ascii=bool(style[2])
            )
        return texts[index]

    history = []
    for event in execution.get("events") or []:
        out: dict[str, Any] = {}
        for name, details in event.items():
            if isinstance(details, dict) and any(
                isinstance(details.get(f), dict) and "doc" in details[f] for f in DOCUMENT_FIELDS
            ):
                out[name] = {
                    field: text(item["doc"])
                    if field in DOCUMENT_FIELDS and isinstance(item, dict) and "doc" in item
                    else item
                    for field, item in details.items()
                }
            else:
                out[name] = details
        history.append(out)
    return history


def trace_history(trace: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The engine's history kept in a trace document (``[]`` when it holds none)."""
    return rebuild((trace or {}).get("execution"))
