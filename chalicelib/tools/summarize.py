"""``summarize``: a deterministic, extractive summary of earlier results.

It only restates what the inputs hold (numbers, names, sentences); it never invents text, so the
same inputs always give the same summary.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from chalicelib.tools.base import LambdaSettings, ToolArgs, ToolContext, ToolSpec

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_NAME_KEYS = ("name", "title", "id", "service")


class SummarizeArgs(ToolArgs):
    inputs: list[Any] = Field(min_length=1, max_length=20)
    max_sentences: int = Field(default=6, ge=1, le=20)
    focus: str = Field(default="", max_length=200)


MAX_SENTENCE_CHARS = 400


def _clip(sentence: str) -> str:
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return sentence
    return sentence[: MAX_SENTENCE_CHARS - 3].rstrip() + "..."


def _scalar(value: Any) -> str:
    """Numbers as written, never in exponent notation; floats to at most 4 decimals."""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) >= 1e-4 else repr(value)
    return str(value)


def _first_upper(text: str) -> str:
    """Capitalise the first letter only: names later in the sentence keep their case."""
    return text[:1].upper() + text[1:]


def _describe_list(items: list[Any], noun: str = "items") -> str:
    if not items:
        return f"no {noun}"
    if all(isinstance(item, dict) for item in items):
        names = []
        for item in items[:5]:
            key = next((k for k in _NAME_KEYS if k in item), None)
            names.append(
                _scalar(item[key])
                if key
                else ", ".join(f"{k}={_scalar(v)}" for k, v in list(item.items())[:3])
            )
        more = f" and {len(items) - 5} more" if len(items) > 5 else ""
        return f"{len(items)} {noun} ({'; '.join(names)}{more})"
    return f"{len(items)} {noun}: " + ", ".join(_scalar(v) for v in items[:8])


def _describe(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in _SENTENCE.split(value.strip()) if part.strip()]
    if isinstance(value, (int, float, bool)):
        return [f"The value is {_scalar(value)}."]
    if isinstance(value, list):
        return [_first_upper(_describe_list(value)) + "."]
    if not isinstance(value, dict):
        return [str(value)]
    return _describe_dict(value)


def _describe_dict(value: dict[str, Any]) -> list[str]:
    """Sentences for a tool's output object: its known shapes first, else its scalars and lists."""
    if "expression" in value and "value" in value:
        return [f"{value['expression']} = {_scalar(value['value'])}."]
    if "summary" in value and isinstance(value["summary"], str):
        return _describe(value["summary"])
    if "status" in value and "body" in value:
        return _describe(value["body"])
    if "rows" in value and isinstance(value["rows"], list):
        rows = value["rows"]
        if len(rows) == 1 and isinstance(rows[0], dict):
            return [", ".join(f"{k}: {_scalar(v)}" for k, v in rows[0].items()) + "."]
        return [_first_upper(_describe_list(rows, "rows")) + "."]
    if "path" in value and "bytes" in value:
        return [f"Wrote {value['bytes']} bytes to {value['path']}."]
    sentences = []
    scalars = {k: v for k, v in value.items() if isinstance(v, (str, int, float, bool)) and v is not None}
    if scalars:
        sentences.append("; ".join(f"{k}: {_scalar(v)}" for k, v in list(scalars.items())[:8]) + ".")
    for key, item in value.items():
        if isinstance(item, list):
            sentences.append(
                f"{_first_upper(key.replace('_', ' '))}: {_describe_list(item, key.replace('_', ' '))}."
            )
    return sentences


def summarize(inputs: list[Any], max_sentences: int = 6) -> str:
    """At most ``max_sentences`` sentences of at most ``MAX_SENTENCE_CHARS`` each: a summary of a
    megabyte stays small enough to travel in the state document."""
    sentences: list[str] = []
    for value in inputs:
        for sentence in map(_clip, _describe(value)):
            if sentence not in sentences:
                sentences.append(sentence)
    return " ".join(sentences[:max_sentences]) or "Nothing to summarize."


def run(args: SummarizeArgs, ctx: ToolContext) -> dict[str, Any]:
    text = summarize(args.inputs, args.max_sentences)
    return {"summary": text, "sentences": len(_SENTENCE.split(text))}


SPEC = ToolSpec(
    name="summarize",
    description="Summarize earlier results deterministically (extractive, no model).",
    args_model=SummarizeArgs,
    side_effect="read",
    cost=1.0,
    run=run,
    lambda_settings=LambdaSettings(timeout=15, memory_mb=256),
)
