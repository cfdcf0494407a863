"""The ASL definition and its ``${...FunctionArn}`` placeholders.

In the cloud the template's ``DefinitionSubstitutions`` binds them. Engines that take a plain
definition (embedded, LocalStack) get them bound here, structurally: the JSON is parsed and each
string that is exactly a placeholder is replaced, never a text search-and-replace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

ASL_PATH = Path(__file__).resolve().parent.parent / "statemachine" / "maoo.asl.json"
PLACEHOLDER = re.compile(r"^\$\{(?P<name>[A-Za-z0-9]+)\}$")


@lru_cache(maxsize=1)
def load_definition() -> dict[str, Any]:
    return json.loads(ASL_PATH.read_text(encoding="utf-8"))


def walk(value: Any) -> Iterator[Any]:
    """Every node of a JSON document, the document itself first, then depth-first."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def placeholders(definition: dict[str, Any] | None = None) -> set[str]:
    """Every placeholder name in the definition, e.g. ``ToolHttpGetFunctionArn``."""
    return {
        m.group("name")
        for v in walk(load_definition() if definition is None else definition)
        if isinstance(v, str) and (m := PLACEHOLDER.match(v))
    }


def function_name_for(placeholder: str) -> str:
    """``ToolHttpGetFunctionArn`` -> ``tool_http_get`` (the name declared in ``app.py``)."""
    stem = placeholder.removesuffix("FunctionArn")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", stem).lower()


def substitute(definition: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """A copy of the definition with every placeholder bound; a missing binding is an error."""
    missing = placeholders(definition) - set(values)
    if missing:
        raise KeyError(f"no value for placeholder(s): {', '.join(sorted(missing))}")

    def bind(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: bind(v) for k, v in value.items()}
        if isinstance(value, list):
            return [bind(v) for v in value]
        if isinstance(value, str) and (m := PLACEHOLDER.match(value)):
            return values[m.group("name")]
        return value

    return bind(definition)
