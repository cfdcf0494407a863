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


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _calc_values(doc: dict[str, Any]) -> list[float]:
    """Every figure the run computed, in order: calc's values and a database read's single ``value``."""
    found = []
    for step in doc.get("steps") or []:
        preview = step.get("output_preview")
        if not (step.get("ok") and isinstance(preview, dict)):
            continue
        if step.get("tool") == "calc" and (value := _number(preview.get("value"))) is not None:
            found.append(value)
        rows = preview.get("rows") if step.get("tool") == "db_query" else None
        if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
            # one figure: a single row's, or the one every row shares (a ranking's tied rows)
            values = {_number(r.get("value", r.get("count"))) for r in rows}
            if len(values) == 1 and (value := values.pop()) is not None:
                found.append(value)
            elif len(rows) > 1:  # one figure per row (the error rates of two services): each was computed
                found.extend(v for v in (_number(r.get("value")) for r in rows) if v is not None)
    return found


_KEYS = ("group", "name", "id", "service")


def _rows_of(output: Any) -> list[Any] | None:
    if isinstance(output, list):
        return output
    if isinstance(output, dict):
        for key in ("rows", "incidents", "services", "deployments", "items"):
            if isinstance(output.get(key), list):
                return output[key]
        if isinstance(output.get("body"), (dict, list)):
            return _rows_of(output["body"])
        if any(k in output for k in _KEYS):
            return [output]
    return None


def listed_items(doc: dict[str, Any], results: dict[str, Any] | None = None) -> set[str] | None:
    """The names or ids the last read of the run lists (lower case), or None when it listed nothing."""
    for step in reversed(doc.get("steps") or []):
        if not step.get("ok") or step.get("tool") not in ("db_query", "http_get"):
            continue
        output = (results or {}).get(step.get("step_id"), step.get("output_preview"))
        rows = _rows_of(output)
        if rows is None:
            continue
        keys = set()
        for row in rows:
            if isinstance(row, dict):
                key = next((row[k] for k in _KEYS if k in row), None)
                if key is not None:
                    keys.add(str(key).lower())
        return keys
    return None


def _posts(doc: dict[str, Any], path: str) -> int:
    return len(
        {
            s.get("step_id")
            for s in doc.get("steps") or []
            if s.get("ok") and s.get("tool") == "http_post" and path in str((s.get("args") or {}).get("url"))
        }
    )


def _writes(doc: dict[str, Any]) -> int:
    return len(
        {s.get("step_id") for s in doc.get("steps") or [] if s.get("ok") and s.get("tool") == "file_write"}
    )


def _effects(expect: Any, doc: dict[str, Any]) -> list[str]:
    counted = {
        "incidents": _posts(doc, "/incidents"),
        "notifications": _posts(doc, "/notifications"),
        "files": _writes(doc),
    }
    return [
        f"{counted[name]} {name} made, expected {getattr(expect, name)}"
        for name in counted
        if getattr(expect, name) is not None and counted[name] != getattr(expect, name)
    ]


def _file_problems(expect: Any, files_dir: Path | None) -> list[str]:
    path = (files_dir / expect.file.path) if files_dir else None
    if path is None or not path.is_file():
        return [f"file {expect.file.path} was not written"]
    text = path.read_text(encoding="utf-8", errors="replace")
    problems = [f"file {expect.file.path} lacks {c!r}" for c in expect.file.contains if c not in text]
    if expect.file.equals is not None and text.rstrip("\n") != expect.file.equals.rstrip("\n"):
        problems.append(f"file {expect.file.path} holds {text[:80]!r}, expected {expect.file.equals!r}")
    return problems


_REFUSED = "refused"


def judge(
    entry: Entry,
    doc: dict[str, Any],
    outputs: str,
    files_dir: Path | None,
    results: dict[str, Any] | None = None,
) -> Verdict:
    """``outputs`` is every tool output of the run and its final output, as text; ``results`` the run's
    whole step results where the run has them (previews are cut short)."""
    expect = entry.expect
    outcome = outcome_of(doc)
    problems: list[str] = []
    wrote = _posts(doc, "/incidents") + _posts(doc, "/notifications") + _writes(doc)
    refused = outcome != "succeeded" and not wrote
    if _REFUSED in expect.outcomes() and refused:
        pass
    elif outcome not in expect.outcomes():
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
            problems += _file_problems(expect, files_dir)
        if expect.items is not None:
            listed = listed_items(doc, results)
            wanted = {i.lower() for i in expect.items}
            if listed != wanted:
                problems.append(
                    f"listed {sorted(listed) if listed is not None else None}, expected {sorted(wanted)}"
                )
    problems += _effects(expect, doc)
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
