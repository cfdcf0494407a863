"""Judging one run document against an entry's expectations.

A run is *right* when its outcome is one expected and every check holds. A *false success* is a
run that reported ``succeeded`` and is not right: the worst outcome, since an operator acts on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.understanding.corpus import Entry

_TOLERANCE = 0.01


@dataclass
class Verdict:
    entry_id: str
    category: str
    request: str
    outcome: str
    right: bool
    false_success: bool
    problems: list[str] = field(default_factory=list)


def outcome_of(doc: dict[str, Any]) -> str:
    if doc.get("status") == "succeeded":
        return "succeeded"
    return str(doc.get("stop_reason") or doc.get("status"))


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(_TOLERANCE, abs(b) * 1e-6)


def _calc_values(doc: dict[str, Any]) -> list[float]:
    found = []
    for step in doc.get("steps") or []:
        preview = step.get("output_preview")
        if step.get("tool") == "calc" and step.get("ok") and isinstance(preview, dict):
            value = preview.get("value")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found.append(float(value))
    return found


def judge(entry: Entry, doc: dict[str, Any], outputs: str, files_dir: Path | None) -> Verdict:
    """``outputs`` is every tool output of the run and its final output, as text."""
    expect = entry.expect
    outcome = outcome_of(doc)
    problems: list[str] = []
    if outcome not in expect.outcomes():
        problems.append(
            f"outcome {outcome} ({(doc.get('stop_detail') or '')[:160]}), "
            f"expected {'/'.join(expect.outcomes())}"
        )
    steps = doc.get("steps") or []
    called = {s.get("tool") for s in steps}
    called_ok = {s.get("tool") for s in steps if s.get("ok")}
    args_text = json.dumps([s.get("args") for s in steps])
    problems += [f"{t} was not called successfully" for t in expect.tools if t not in called_ok]
    problems += [f"{t} was called" for t in expect.no_tools if t in called]
    problems += [f"arguments lack {a!r}" for a in expect.args if a not in args_text]
    problems += [f"arguments hold {a!r}" for a in expect.no_args if a in args_text]
    if outcome == "succeeded":
        values = _calc_values(doc)
        if expect.value is not None and not (values and _close(values[-1], expect.value)):
            problems.append(
                f"last computed value {values[-1] if values else None}, expected {expect.value:g}"
            )
        problems += [
            f"{v:g} was not computed" for v in expect.values if not any(_close(x, v) for x in values)
        ]
        problems += [f"output lacks {c!r}" for c in expect.contains if c not in outputs]
        problems += [f"output holds {c!r}" for c in expect.no_contains if c in outputs]
        if expect.file is not None:
            path = (files_dir / expect.file.path) if files_dir else None
            if path is None or not path.is_file():
                problems.append(f"file {expect.file.path} was not written")
            else:
                text = path.read_text(encoding="utf-8", errors="replace")
                problems += [
                    f"file {expect.file.path} lacks {c!r}" for c in expect.file.contains if c not in text
                ]
    detail = str(doc.get("stop_detail") or "").lower()
    if outcome != "succeeded":
        problems += [f"stop detail lacks {w!r}" for w in expect.detail if w.lower() not in detail]
    right = not problems
    return Verdict(
        entry.id,
        entry.category,
        entry.request,
        outcome,
        right,
        outcome == "succeeded" and not right,
        problems,
    )
