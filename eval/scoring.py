"""Score a finished run against a scenario's expectations: one pass/fail check per expectation.

Every check is judged on what a user can see: the run document (status, stop reason, the tool
calls with their signals and decisions, the final output), what the mock API applied and saw, and
the files written to the sandbox. Each ``Check`` says why it passed or failed, in words.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eval.models import Expectations

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Observed:
    """What a run left behind: the run document, the mock API's records, the sandbox folder."""

    doc: dict[str, Any]
    side_effects: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    files_dir: Path | None = None


def extract_numbers(text: str) -> list[float]:
    """Every number written in ``text`` ("1,200", "6.5", "-3", "2e3"), in order."""
    found = []
    for match in _NUMBER.finditer(text or ""):
        try:
            found.append(float(match.group(0).replace(",", "")))
        except ValueError:  # pragma: no cover - the pattern only matches numbers
            continue
    return found


def _short(values: Any, limit: int = 160) -> str:
    text = repr(values)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc.get("steps") or []


def score(expect: Expectations, seen: Observed) -> list[Check]:
    """One ``Check`` per expectation that the scenario states, in a stable order."""
    steps = _steps(seen.doc)
    checks = _outcome_checks(expect, seen.doc) + _path_checks(expect, seen.doc, steps)
    if expect.final_output is not None:
        checks.extend(_final_output(expect, seen.doc.get("final_output") or ""))
    return checks + _effect_checks(expect, seen, steps)


def _outcome_checks(expect: Expectations, doc: dict[str, Any]) -> list[Check]:
    """How the run ended: status, stop reason, stop detail."""
    checks: list[Check] = []
    add = checks.append
    add(
        Check(
            "status",
            doc.get("status") == expect.status,
            f"status is {doc.get('status')!r}"
            + ("" if doc.get("status") == expect.status else f", expected {expect.status!r}"),
        )
    )
    if expect.checks_stop_reason():
        actual = doc.get("stop_reason")
        add(
            Check(
                "stop_reason",
                actual == expect.stop_reason,
                f"stop_reason is {actual!r}"
                + ("" if actual == expect.stop_reason else f", expected {expect.stop_reason!r}"),
            )
        )
    if expect.stop_detail_contains:
        detail = doc.get("stop_detail") or ""
        missing = [t for t in expect.stop_detail_contains if t.lower() not in detail.lower()]
        add(
            Check(
                "stop_detail_contains",
                not missing,
                f"stop_detail lacks {missing} (it reads {_short(detail)})"
                if missing
                else f"stop_detail names {expect.stop_detail_contains}",
            )
        )
    return checks


def _path_checks(expect: Expectations, doc: dict[str, Any], steps: list[dict[str, Any]]) -> list[Check]:
    """The way the run went: tools, signals, decisions, states."""
    checks: list[Check] = []
    add = checks.append
    tools = [s["tool"] for s in steps]
    missing: list[str]
    if expect.tools_sequence is not None:
        ok = tools == list(expect.tools_sequence)
        add(
            Check(
                "tools_sequence",
                ok,
                f"tools called {tools}" + ("" if ok else f", expected {list(expect.tools_sequence)}"),
            )
        )
    if expect.tools_set is not None:
        ok = set(tools) == set(expect.tools_set)
        add(
            Check(
                "tools_set",
                ok,
                f"tools used {sorted(set(tools))}"
                + ("" if ok else f", expected {sorted(set(expect.tools_set))}"),
            )
        )
    if expect.signals:
        observed = [s["signal"] for s in steps]
        missing = [x for x in expect.signals if x not in observed]
        add(Check("signals", not missing, f"signals {observed}" + (f" lack {missing}" if missing else "")))
    decisions = [s["decision"] for s in steps]
    if expect.decisions:
        missing = [x for x in expect.decisions if x not in decisions]
        add(
            Check(
                "decisions", not missing, f"decisions {decisions}" + (f" lack {missing}" if missing else "")
            )
        )
    if expect.decisions_absent:
        present = [x for x in expect.decisions_absent if x in decisions]
        add(
            Check(
                "decisions_absent",
                not present,
                f"decisions {decisions}" + (f" include {present}, which must not happen" if present else ""),
            )
        )
    if expect.states_include:
        states = doc.get("states") or []
        missing = [x for x in expect.states_include if x not in states]
        add(
            Check(
                "states_include",
                not missing,
                f"states entered lack {missing}" if missing else f"states include {expect.states_include}",
            )
        )
    return checks


def _effect_checks(expect: Expectations, seen: Observed, steps: list[dict[str, Any]]) -> list[Check]:
    """What the run did to the world and how long it waited: side effects, requests, files, notes."""
    doc, checks = seen.doc, list[Check]()
    add = checks.append
    if expect.side_effects is not None:
        count = len(seen.side_effects)
        add(
            Check(
                "side_effects",
                count == expect.side_effects,
                f"{count} side effect(s) applied"
                + ("" if count == expect.side_effects else f", expected {expect.side_effects}"),
            )
        )
    for kind, wanted in sorted(expect.side_effect_kinds.items()):
        count = sum(1 for e in seen.side_effects if e.get("kind") == kind)
        add(
            Check(
                f"side_effects[{kind}]",
                count == wanted,
                f"{count} {kind}" + ("" if count == wanted else f", expected {wanted}"),
            )
        )
    if expect.requests_absent:
        sent = [f"{r['method']} {r['path']}" for r in seen.requests]
        hits = sorted(
            {s for s in sent for pattern in expect.requests_absent if fnmatch.fnmatchcase(s, pattern)}
        )
        add(
            Check(
                "requests_absent",
                not hits,
                f"the mock API received {hits}, which must not be called"
                if hits
                else f"none of {expect.requests_absent} was requested ({len(sent)} request(s) in all)",
            )
        )
    if expect.max_steps is not None:
        add(
            Check(
                "max_steps",
                len(steps) <= expect.max_steps,
                f"{len(steps)} tool call(s), at most {expect.max_steps} allowed",
            )
        )
    if expect.min_wait_seconds is not None:
        longest = max((float(s.get("wait_seconds") or 0) for s in steps), default=0.0)
        add(
            Check(
                "min_wait_seconds",
                longest >= expect.min_wait_seconds,
                f"longest retry wait {longest:g} s, expected at least {expect.min_wait_seconds:g} s",
            )
        )
    if expect.plan_notes_contains:
        notes = " | ".join(doc.get("plan_notes") or [])
        missing = [t for t in expect.plan_notes_contains if t.lower() not in notes.lower()]
        add(
            Check(
                "plan_notes_contains",
                not missing,
                f"plan notes lack {missing} (they read {_short(notes)})"
                if missing
                else f"plan notes mention {expect.plan_notes_contains}",
            )
        )
    for name, lines in sorted(expect.files.items()):
        checks.append(_file(seen.files_dir, name, lines))
    return checks


def _final_output(expect: Expectations, text: str) -> list[Check]:
    out = expect.final_output
    assert out is not None
    checks = []
    lowered = text.lower()
    for needle in out.contains:
        ok = needle.lower() in lowered
        checks.append(
            Check(f"final_output contains {needle!r}", ok, "found" if ok else f"not in {_short(text)}")
        )
    for needle in out.not_contains:
        ok = needle.lower() not in lowered
        checks.append(
            Check(f"final_output lacks {needle!r}", ok, "absent" if ok else f"present in {_short(text)}")
        )
    numbers = extract_numbers(text)
    for wanted in out.numbers:
        close = [n for n in numbers if abs(n - wanted.value) <= wanted.tolerance]
        checks.append(
            Check(
                f"final_output number {wanted.value:g}±{wanted.tolerance:g}",
                bool(close),
                f"found {close[0]:g}" if close else f"numbers in the output: {_short(numbers)}",
            )
        )
    return checks


def _file(files_dir: Path | None, name: str, wanted: list[str]) -> Check:
    label = f"file {name}"
    if files_dir is None:
        return Check(label, False, "the sandbox folder is not known on this engine")
    path = files_dir / name
    if not path.is_file():
        return Check(label, False, f"{name} was not written to the sandbox")
    content = path.read_text(encoding="utf-8", errors="replace")
    missing = [w for w in wanted if w.lower() not in content.lower()]
    return Check(
        label, not missing, f"{name} lacks {missing}" if missing else f"{name} written ({len(content)} chars)"
    )
