"""What a run page shows, read from a run's trace: state visits, transitions taken, the timeline.

The trace is the document ``GET /runs/{id}/trace`` returns: ``run`` (the run document),
``events`` (MAOO's own trace events) and ``execution`` (the engine's history, or ``None`` while
it is not known). Every fact is derived here, in Python, so the page's script only shows and
hides what is already on the page; the same facts serve the HTML and ``?format=json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from pydantic import ValidationError

from chalicelib.memory.records import RunRecord, record_of
from chalicelib.trace_history import trace_history
from chalicelib.viewer.graph import GraphLayout, Transition
from chalicelib.workflow.recorded import SOURCE as RECORDED
from chalicelib.workflow.recorded import rule_matches

LIVE_STATUSES = ("running", "interrupted", "awaiting_approval")
APPROVAL_WORDS = ("pause", "approv", "reject", "resume", "interrupt")
MAX_CHANGES = 80
VALUE_CHARS = 240


@dataclass
class Visit:
    """One entry into a state: when, with which document, and how it ended."""

    index: int
    name: str
    type: str
    start: float
    end: float | None = None
    input_doc: int | None = None
    output_doc: int | None = None
    attempts: int = 0
    error: str | None = None
    outcome: str = "ok"  # ok | warn | fail | current
    note: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ToolCall:
    step_id: str
    tool: str
    args: Any
    attempt: int
    start: float
    end: float | None
    ok: bool | None = None
    signal: str | None = None
    decision: str | None = None
    reason: str | None = None
    latency_ms: float | None = None
    wait_seconds: float | None = None
    visit: int | None = None


@dataclass
class RunFacts:
    run_id: str
    status: str
    live: bool
    t0: float
    t1: float
    visits: list[Visit]
    docs: list[Any]
    edge_counts: dict[str, int]
    node_outcomes: dict[str, str]
    node_counts: dict[str, int]
    current: str | None
    tool_calls: list[ToolCall]
    waits: list[Visit]
    approvals: list[dict[str, Any]]
    plans: list[dict[str, Any]]
    perception: Any
    document: dict[str, Any]
    pending: dict[str, Any] | None
    has_history: bool
    record: RunRecord
    """The run document typed (``memory.records``); a trace written by another version gets a bare one."""
    recorded: bool = False  # the history is MAOO's own record (an Express run), not the engine's


def _ts(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return 0.0


def _loads(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class _Docs:
    """State documents, each kept once: a state's output is usually the next state's input."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._index: dict[str, int] = {}

    def add(self, value: Any) -> int:
        key = json.dumps(value, sort_keys=True, default=str)
        if key not in self._index:
            self._index[key] = len(self.items)
            self.items.append(value)
        return self._index[key]


def _short(value: Any) -> str:
    """A value as JSON text, cut to ``VALUE_CHARS`` (the page shows it as it is)."""
    text = json.dumps(value, default=str)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def diff(before: Any, after: Any, path: str = "$") -> list[dict[str, Any]]:
    """What changed from ``before`` to ``after``: one entry per added, removed or changed path
    (values as short JSON text). Lists are compared item by item; extra items are added or removed."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict[str, Any]] = []
        for key in list(before) + [k for k in after if k not in before]:
            sub = f"{path}.{key}"
            if key not in after:
                out.append({"path": sub, "op": "removed", "before": _short(before[key])})
            elif key not in before:
                out.append({"path": sub, "op": "added", "after": _short(after[key])})
            else:
                out.extend(diff(before[key], after[key], sub))
        return out
    if isinstance(before, list) and isinstance(after, list):
        out = [
            c for i, (b, a) in enumerate(zip(before, after, strict=False)) for c in diff(b, a, f"{path}[{i}]")
        ]
        out += [
            {"path": f"{path}[{i}]", "op": "added", "after": _short(a)}
            for i, a in enumerate(after)
            if i >= len(before)
        ]
        out += [
            {"path": f"{path}[{i}]", "op": "removed", "before": _short(b)}
            for i, b in enumerate(before)
            if i >= len(after)
        ]
        return out
    if before == after:
        return []
    return [{"path": path, "op": "changed", "before": _short(before), "after": _short(after)}]


def _visits(history: list[dict[str, Any]], docs: _Docs) -> list[Visit]:
    visits: list[Visit] = []
    open_visit: Visit | None = None
    for event in history:
        kind = str(event.get("type", ""))
        when = _ts(event.get("timestamp"))
        entered = event.get("stateEnteredEventDetails")
        if entered:
            open_visit = Visit(
                len(visits),
                entered["name"],
                kind.removesuffix("StateEntered"),
                when,
                input_doc=docs.add(_loads(entered.get("input"))),
            )
            visits.append(open_visit)
            if kind == "FailStateEntered":
                open_visit.outcome = "fail"
            continue
        if open_visit is None:
            continue
        if kind in ("TaskScheduled", "LambdaFunctionScheduled"):
            open_visit.attempts += 1
        failed = event.get("taskFailedEventDetails") or event.get("lambdaFunctionFailedEventDetails")
        if failed:
            open_visit.error = f"{failed.get('error', '?')}: {str(failed.get('cause', ''))[:300]}"
        exited = event.get("stateExitedEventDetails")
        if exited:
            open_visit.end = when
            open_visit.output_doc = docs.add(_loads(exited.get("output")))
            open_visit = None
        elif kind.startswith("Execution") and kind != "ExecutionStarted" and open_visit.end is None:
            open_visit.end = when
            if kind != "ExecutionSucceeded":
                open_visit.outcome = "fail"
                open_visit.error = open_visit.error or str(
                    (event.get("executionFailedEventDetails") or {}).get("error", kind)
                )
    return visits


def _taken(source: Visit, target: Visit, graph: GraphLayout, docs: list[Any]) -> Transition | None:
    candidates = [t for t in graph.transitions if t.source == source.name and t.target == target.name]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    document = docs[source.input_doc] if source.input_doc is not None else None
    for t in candidates:
        if t.kind == "choice" and t.rule is not None and rule_matches(t.rule, document):
            return t
    wanted = "catch" if source.error else "next"
    return next((t for t in candidates if t.kind == wanted), candidates[0])


def _call_visits(visits: list[Visit], docs: list[Any]) -> dict[tuple[str, int], list[Visit]]:
    """The ``Call*`` visits by the (step, attempt) their input's ``call`` names, in order."""
    found: dict[tuple[str, int], list[Visit]] = {}
    for v in visits:
        document = docs[v.input_doc] if v.input_doc is not None else None
        call = document.get("call") if isinstance(document, dict) else None
        if v.name.startswith("Call") and isinstance(call, dict):
            found.setdefault((str(call.get("step_id")), int(call.get("attempt") or 1)), []).append(v)
    return found


def _tool_calls(events: list[dict[str, Any]], visits: list[Visit], docs: list[Any]) -> list[ToolCall]:
    """Each ``tool_call`` event joined to its observation and decision, and to the ``Call*`` visit
    that made it (matched by step and attempt, so a history that starts later still lines up)."""
    calls: list[ToolCall] = []
    by_call = _call_visits(visits, docs)
    for event in events:
        data = event.get("data") or {}
        kind = event.get("kind")
        if kind == "tool_call":
            queue = by_call.get((str(data.get("step_id")), int(data.get("attempt") or 1)))
            visit = queue.pop(0) if queue else None
            start = visit.start if visit else float(event.get("ts") or 0)
            end = visit.end if visit else None
            calls.append(
                ToolCall(
                    str(data.get("step_id")),
                    str(data.get("tool")),
                    data.get("args"),
                    int(data.get("attempt") or 1),
                    start,
                    end,
                    visit=visit.index if visit else None,
                )
            )
        elif calls and kind == "observation" and data.get("step_id") == calls[-1].step_id:
            calls[-1].ok, calls[-1].signal = data.get("ok"), data.get("signal")
            calls[-1].latency_ms = data.get("latency_ms")
            if calls[-1].end is None:
                calls[-1].end = float(event.get("ts") or calls[-1].start)
        elif calls and kind == "decision" and data.get("step_id") == calls[-1].step_id:
            calls[-1].decision, calls[-1].reason = data.get("decision"), data.get("reason")
            calls[-1].wait_seconds = data.get("wait_seconds")
    return calls


def _outcomes(visits: list[Visit], docs: list[Any]) -> None:
    for v in visits:
        output = docs[v.output_doc] if v.output_doc is not None else None
        if v.outcome == "fail" or (v.error and v.type != "Task"):
            v.outcome = "fail"
        elif v.error:
            v.outcome = "fail"
            v.note = f"failed: {v.error}"
        elif v.name.startswith("Call") and isinstance(output, dict):
            result = (output.get("outcome") or {}).get("result") or {}
            if output.get("tool_crash") or result.get("ok") is False:
                v.outcome = "warn"
                v.note = "the tool reported a failure"
        elif (
            v.name == "Observe"
            and isinstance(output, dict)
            and output.get("decision") in ("retry", "replan", "abort")
        ):
            v.outcome = "warn"
            v.note = f"decision: {output.get('decision')}"
        if v.attempts > 1:
            v.note = (v.note + "; " if v.note else "") + f"{v.attempts} invocations (native Retry)"
        if v.input_doc is not None and v.output_doc is not None:
            v.changes = diff(docs[v.input_doc], docs[v.output_doc])[:MAX_CHANGES]


_RANK = {"ok": 0, "warn": 1, "fail": 2}


def _pending(events: list[dict[str, Any]], document: dict[str, Any]) -> dict[str, Any] | None:
    """The step waiting for approval: from the run document if a field of it names a tool, else
    the newest pause event (the durable runs' ``awaiting_approval``), else the newest tool call."""
    if document.get("status") != "awaiting_approval":
        return None
    for value in document.values():  # whichever field holds it: a dict that names a tool
        if isinstance(value, dict) and "tool" in value:
            return dict(value)
    for event in reversed(events):
        if any(word in str(event.get("kind", "")) for word in ("pause", "await")):
            return dict(event.get("data") or {})
    call = next((e for e in reversed(events) if e.get("kind") == "tool_call"), None)
    return dict(call.get("data") or {}) if call else {}


def collect(trace: dict[str, Any], graph: GraphLayout) -> RunFacts:
    """All the facts a run page shows, from one trace document."""
    document = dict(trace.get("run") or {})
    events = list(trace.get("events") or [])
    history = trace_history(trace)
    status = str(document.get("status") or "running")
    live = status in LIVE_STATUSES
    docs = _Docs()
    visits = _visits(history, docs)
    _outcomes(visits, docs.items)
    current = None
    if live and visits and visits[-1].end is None:
        visits[-1].outcome = "current"
        current = visits[-1].name
    elif live and not visits and events:
        current = str(events[-1].get("state") or "") or None
    edge_counts: dict[str, int] = {}
    for source, target in pairwise(visits):
        taken = _taken(source, target, graph, docs.items)
        if taken is not None:
            edge_counts[taken.key] = edge_counts.get(taken.key, 0) + 1
    node_outcomes: dict[str, str] = {}
    node_counts: dict[str, int] = {}
    for v in visits:
        node_counts[v.name] = node_counts.get(v.name, 0) + 1
        if v.outcome != "current":
            before = node_outcomes.get(v.name, "ok")
            node_outcomes[v.name] = v.outcome if _RANK[v.outcome] >= _RANK[before] else before
        else:
            node_outcomes.setdefault(v.name, "ok")
    times = [v.start for v in visits] + [float(e.get("ts") or 0) for e in events if e.get("ts")]
    ends = [v.end or v.start for v in visits] + times
    t0 = min(times) if times else float(document.get("created_at") or 0)
    t1 = max(ends) if ends else t0
    perception = document.get("perception") or next(
        (e.get("data") for e in events if e.get("kind") == "perception"), None
    )
    run_id = str(trace.get("run_id") or document.get("run_id") or "?")
    try:
        record = record_of({**document, "run_id": run_id})
    except ValidationError:  # a trace from another version: the page shows what it can read
        record = RunRecord(run_id=run_id)
    return RunFacts(
        run_id=run_id,
        status=status,
        live=live,
        t0=t0,
        t1=max(t1, t0),
        visits=visits,
        docs=docs.items,
        edge_counts=edge_counts,
        node_outcomes=node_outcomes,
        node_counts=node_counts,
        current=current,
        tool_calls=_tool_calls(events, visits, docs.items),
        waits=[v for v in visits if v.type == "Wait"],
        approvals=[
            {
                "kind": e.get("kind"),
                "ts": float(e.get("ts") or t0),
                "state": e.get("state"),
                "data": e.get("data"),
            }
            for e in events
            if any(w in str(e.get("kind", "")) for w in APPROVAL_WORDS)
        ],
        plans=[e.get("data") or {} for e in events if e.get("kind") == "plan"],
        perception=perception,
        document=document,
        pending=_pending(events, document),
        has_history=bool(history),
        record=record,
        recorded=(trace.get("execution") or {}).get("source") == RECORDED,
    )
