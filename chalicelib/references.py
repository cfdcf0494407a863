"""References to earlier results inside step arguments: ``{{s1.body.errors}}``, ``{{s3|json}}``.

A string that is exactly one reference becomes the referenced value itself (a number stays a
number); a reference inside longer text is interpolated. ``|json`` renders the value as JSON text.
``{{answer}}`` is not a step: it is the answer in sentences over the sub-tasks before the step's own
(``chalicelib.execution.answer.sentence_for``), what a file or a notification carries when its
content is the answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from chalicelib.errors import MaooError

ANSWER_REF = "answer"  # {{answer}}: the answer so far, in sentences
REF = re.compile(r"\{\{\s*(?P<step>[A-Za-z][\w-]*)(?P<path>(?:\.[\w-]+)*)\s*(?P<json>\|\s*json)?\s*\}\}")


class UnresolvedReferenceError(MaooError):
    """A reference names a step with no result, or a field the result does not have."""


def referenced_steps(value: Any) -> set[str]:
    """Every step id referenced anywhere in ``value``."""
    if isinstance(value, str):
        return {m.group("step") for m in REF.finditer(value)} - {ANSWER_REF}
    if isinstance(value, dict):
        return set().union(*(referenced_steps(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(referenced_steps(v) for v in value)) if value else set()
    return set()


def lookup(results: dict[str, Any], step: str, path: str) -> Any:
    if step not in results:
        raise UnresolvedReferenceError(f"{{{{{step}{path}}}}}: step {step} has no result")
    value = results[step]
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise UnresolvedReferenceError(f"{{{{{step}{path}}}}}: {part!r} is not in the result of {step}")
    return value


def _render(value: Any, as_json: bool) -> str:
    if as_json or not isinstance(value, (str, int, float)):
        return json.dumps(value, indent=2 if as_json else None, sort_keys=True, default=str)
    return str(value)


def resolve(value: Any, get: Callable[[str, str], Any]) -> Any:
    """Replace references in ``value`` using ``get(step, path)``."""
    if isinstance(value, str):
        whole = REF.fullmatch(value.strip())
        if whole and not whole.group("json"):
            return get(whole.group("step"), whole.group("path"))
        return REF.sub(lambda m: _render(get(m.group("step"), m.group("path")), bool(m.group("json"))), value)
    if isinstance(value, dict):
        return {k: resolve(v, get) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, get) for v in value]
    return value


def placeholder(value: Any) -> Any:
    """``value`` with every reference replaced by ``1``: lets the plan validator type-check the rest."""
    return resolve(value, lambda step, path: 1)
