"""One self-contained HTML page per run: the graph, the timeline, the five views, live refresh.

Everything is inline (style, script, SVG, the state documents as JSON), so the same page works
as a file written by ``python -m cli show RUN_ID --html FILE`` and as ``GET /runs/{id}/view``;
it loads nothing from the network. Served over HTTP, a live run's page re-reads its own URL
every two seconds until the run ends, and an awaiting-approval run's buttons post to the
approval API next to it (``POST /runs/{id}/approval``). An ended run's execution log has a
"Fork from this step" button per step, which posts to ``POST /runs/{id}/fork`` and links the
new run; the header links the run a fork came from and the runs forked from it.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.memory.records import RunRecord
from chalicelib.viewer.facts import RunFacts, ToolCall, collect
from chalicelib.viewer.graph import GraphLayout, machine_layout
from chalicelib.viewer.svg import graph_svg, timeline_svg

_HERE = Path(__file__).resolve().parent
REFRESH_MS = 2000
DOCS_BUDGET_BYTES = 3_000_000
LEFT_OUT = "(left out: this page keeps at most 3 MB of state documents; GET /runs/{id}/trace has them all)"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


@lru_cache(maxsize=2)
def _asset(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")


def _json_block(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` can close it)."""
    return (
        json.dumps(value, default=str, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")
    )


def _pretty(value: Any) -> str:
    return _e(json.dumps(value, indent=2, default=str)) if not isinstance(value, str) else _e(value)


def _header(facts: RunFacts) -> str:
    run = facts.record
    counters = run.counters
    tiles = [
        ("status", facts.status),
        ("tool calls", counters.tool_calls if counters else len(facts.tool_calls)),
        ("retries", counters.retries if counters else "-"),
        ("replans", counters.replans if counters else "-"),
        ("states entered", len(facts.visits)),
        ("duration", f"{facts.t1 - facts.t0:.2f} s"),
    ]
    live = (
        (
            '<span id="live" class="live">live: refreshes every 2 s while the run is '
            f"{_e(facts.status.replace('_', ' '))}</span>"
        )
        if facts.live
        else ""
    )
    reason = f" · <b>{_e(run.stop_reason)}</b>" if run.stop_reason else ""
    return (
        f"<header><h1>Run <code>{_e(facts.run_id)}</code></h1>"
        f'<div><span id="status" class="status s-{_e(facts.status)}">{_e(facts.status)}</span>{reason} '
        f'<span class="muted">engine {_e(run.engine or "?")}</span> {live}</div>'
        f'<div class="tiles">{"".join(_tile(k, v) for k, v in tiles)}</div>'
        f"{_lineage(run)}</header>"
    )


def _run_link(run_id: str) -> str:
    """A link to another run's page, relative to this one (``/runs/{id}/view``)."""
    return f'<a href="../{_e(run_id)}/view"><code>{_e(run_id)}</code></a>'


def _lineage(run: RunRecord) -> str:
    parent = run.forked_from
    forks = run.forks or []
    if not parent and not forks:
        return ""
    parts = []
    if parent:
        reused = ", ".join(parent.reused) or "none"
        parts.append(
            f'<div id="forked-from">Forked from {_run_link(parent.run_id)} at step '
            f"<b>{_e(parent.step_id)}</b> <span class=muted>(results reused: {_e(reused)})</span></div>"
        )
    if forks:
        links = ", ".join(f"{_run_link(f['run_id'])} from step <b>{_e(f['step_id'])}</b>" for f in forks)
        parts.append(f'<div id="forks">Forks: {links}</div>')
    return f'<div class="lineage">{"".join(parts)}</div>'


def _tile(label: str, value: Any) -> str:
    return f"<div class=tile><b>{_e(value)}</b><span>{_e(label)}</span></div>"


def _approval(facts: RunFacts) -> str:
    if facts.pending is None:
        return ""
    p = facts.pending
    args = p.get("args") or p.get("resolved_args") or p.get("arguments")
    why = p.get("reason") or p.get("why")
    return (
        f'<section id="approval" class="card approval"><h2>Awaiting approval</h2>'
        f"<p>Step <b>{_e(p.get('step_id', '?'))}</b> wants to call <b>{_e(p.get('tool', '?'))}</b> with:</p>"
        f"<pre>{_pretty(args)}</pre>"
        f"{'<p>Why: ' + _e(why) + '</p>' if why else ''}"
        f'<label>Reason <input id="approval-reason" type="text" placeholder="why (optional)"></label> '
        f'<button id="approve" data-decision="approve">Approve</button> '
        f'<button id="reject" data-decision="reject">Reject</button> '
        f'<span id="approval-result" class="muted"></span>'
        f"</section>"
    )


def _plan_table(steps: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{_e(s.get('id'))}</td><td><b>{_e(s.get('tool'))}</b></td>"
        f'<td class="mono">{_e(json.dumps(s.get("args"), default=str))}</td>'
        f"<td>{_e(', '.join(s.get('depends_on') or []) or '-')}</td>"
        f"<td>{_e(s.get('purpose') or '')}</td></tr>"
        for s in steps
    )
    return (
        "<table><tr><th>step</th><th>tool</th><th>arguments</th><th>after</th><th>purpose</th></tr>"
        f"{rows}</table>"
    )


def _plans(facts: RunFacts) -> str:
    revisions = facts.plans or ([facts.record.plan] if facts.record.plan else [])
    if not revisions:
        return '<p class="muted">No plan (yet).</p>'
    notes = facts.record.plan_notes or []
    parts = []
    for i, plan in enumerate(revisions):
        revision = plan.get("revision", i)
        note = next((n for n in notes if str(n).startswith(f"revision {revision}")), "")
        label = f"revision {revision}" + (" (after a replan)" if i else "")
        parts.append(
            f'<details class="plan"{" open" if i == len(revisions) - 1 else ""}><summary>{_e(label)}'
            f"{' · ' + _e(note) if note and note != f'revision {revision}' else ''}</summary>"
            f"{_plan_table(plan.get('steps') or [])}</details>"
        )
    return "".join(parts)


def _log_rows(facts: RunFacts) -> list[ToolCall | dict[str, Any]]:
    return list(facts.record.steps or []) or list(facts.tool_calls)


def _field(row: ToolCall | dict[str, Any], name: str) -> Any:
    return row.get(name) if isinstance(row, dict) else getattr(row, name)


def _fork_button(facts: RunFacts, step_id: Any, offered: set[Any]) -> str:
    """The "Fork from this step" button, once per step, on a run that has ended."""
    if facts.live or step_id in offered:
        return ""
    offered.add(step_id)
    return f'<button type="button" class="fork" data-fork="{_e(step_id)}">Fork from this step</button>'


def _execution_log(facts: RunFacts) -> str:
    rows = _log_rows(facts)
    if not rows:
        return '<p class="muted">No tool was called.</p>'
    body = []
    offered: set[Any] = set()
    for i, row in enumerate(rows, 1):
        ok = _field(row, "ok")
        latency = _field(row, "latency_ms")
        body.append(
            f'<tr class="{"f" if ok is False else ""}"><td class="num">{i}</td>'
            f"<td>{_e(_field(row, 'step_id'))}</td>"
            f"<td><b>{_e(_field(row, 'tool'))}</b>"
            f'<div class="mono">{_e(json.dumps(_field(row, "args"), default=str))}'
            f'</div></td><td class="num">{_e(_field(row, "attempt"))}</td>'
            f"<td>{'✓' if ok else ('✗' if ok is False else '…')} {_e(_field(row, 'signal'))}</td>"
            f'<td><span class="d-{_e(_field(row, "decision"))}">{_e(_field(row, "decision"))}</span></td>'
            f'<td class="num">{"" if latency is None else f"{float(latency):.0f}"}</td>'
            f'<td class="muted">{_e(_field(row, "reason"))}</td>'
            f"<td>{_fork_button(facts, _field(row, 'step_id'), offered)}</td></tr>"
        )
    result = '<p id="fork-result" class="muted"></p>' if offered else ""
    return (
        '<table id="log"><tr><th class="num">#</th><th>step</th><th>tool (arguments)</th>'
        '<th class="num">try</th>'
        '<th>signal</th><th>decision</th><th class="num">ms</th><th>reason</th><th></th></tr>'
        + "".join(body)
        + "</table>"
        + result
    )


def _outcome(facts: RunFacts) -> str:
    run = facts.record
    if facts.live:
        return f'<p class="muted">The run is {_e(facts.status.replace("_", " "))}; no final output yet.</p>'
    parts = [f"<p>Status <b>{_e(facts.status)}</b>"]
    if run.stop_reason:
        parts.append(f' · stop reason <b id="stop-reason">{_e(run.stop_reason)}</b>')
    parts.append("</p>")
    if run.stop_detail:
        parts.append(f'<pre class="err">{_e(run.stop_detail)}</pre>')
    parts.append(f'<pre id="final-output">{_e(run.final_output or "(no final output)")}</pre>')
    return "".join(parts)


def _compact(value: Any) -> Any:
    """The perceived state without its empty fields (as the CLI shows it)."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v not in (None, [], {}, "", False)}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _intent(perception: Any) -> str:
    if not isinstance(perception, dict) or not perception.get("intent"):
        return ""
    kind = f" · task type <b>{_e(perception['task_type'])}</b>" if perception.get("task_type") else ""
    return f'<p id="intent">intent <b>{_e(perception["intent"])}</b>{kind}</p>'


def _views(facts: RunFacts) -> str:
    return (
        f'<section class="card views"><h2>The five views</h2>'
        f'<h3>1. Request</h3><blockquote id="request">{_e(facts.document.get("request"))}</blockquote>'
        f"<h3>2. Perceived intent and structured state</h3>{_intent(facts.perception)}"
        f'<pre id="perception">{_pretty(_compact(facts.perception))}</pre>'
        f'<h3>3. Plan</h3><div id="plans">{_plans(facts)}</div>'
        f"<h3>4. Execution log</h3>{_execution_log(facts)}"
        f'<h3>5. Final output</h3><div id="outcome">{_outcome(facts)}</div></section>'
    )


def _timeline_rows(facts: RunFacts) -> str:
    items: list[tuple[float, str]] = []
    for v in facts.visits:
        items.append(
            (
                v.start,
                f'<tr class="tl-row o-{v.outcome}" data-visit="{v.index}">'
                f'<td class="num">+{v.start - facts.t0:.3f}</td>'
                f'<td>state</td><td><b>{_e(v.name)}</b></td><td class="num">'
                f"{'' if v.end is None else f'{(v.end - v.start) * 1000:.0f}'}</td>"
                f"<td>{_e(v.note)}</td></tr>",
            )
        )
    for c in facts.tool_calls:
        detail = (
            f"{_e(c.step_id)} attempt {c.attempt} · {_e(c.signal or '…')} → "
            f'<span class="d-{_e(c.decision)}">{_e(c.decision or "…")}</span>'
            f"{f' · wait {c.wait_seconds:g} s' if c.wait_seconds else ''} "
            f'<span class="mono">{_e(json.dumps(c.args, default=str)[:200])}</span>'
        )
        latency = "" if c.latency_ms is None else f"{float(c.latency_ms):.0f}"
        visit = f' data-visit="{c.visit}"' if c.visit is not None else ""
        items.append(
            (
                c.start + 1e-6,
                f'<tr class="tl-row call"{visit}><td class="num">+{c.start - facts.t0:.3f}</td>'
                f'<td>tool call</td><td><b>{_e(c.tool)}</b></td><td class="num">{latency}</td>'
                f"<td>{detail}</td></tr>",
            )
        )
    for a in facts.approvals:
        items.append(
            (
                a["ts"],
                f'<tr class="tl-row mark"><td class="num">+{a["ts"] - facts.t0:.3f}</td>'
                f"<td>{_e(a['kind'])}</td>"
                f"<td>{_e(a['state'])}</td><td></td>"
                f'<td class="mono">{_e(json.dumps(a["data"], default=str)[:200])}</td></tr>',
            )
        )
    items.sort(key=lambda item: item[0])
    return (
        '<details class="events"><summary>Every item on the timeline, in order</summary><table id="events">'
        '<tr><th class="num">at (s)</th><th>kind</th><th>what</th><th class="num">ms</th><th>detail</th></tr>'
        + "".join(row for _, row in items)
        + "</table></details>"
    )


def kept_documents(docs: list[Any], budget: int = DOCS_BUDGET_BYTES) -> list[Any]:
    """The state documents the page carries, newest first until ``budget`` bytes of JSON.

    A Lambda answers at most 6 MB, so a long run's page keeps its latest documents; each one
    left out says where to read it."""
    kept: list[Any] = [None] * len(docs)
    left = budget
    for index in range(len(docs) - 1, -1, -1):
        size = len(json.dumps(docs[index], default=str))
        if size <= left:
            kept[index] = docs[index]
            left -= size
        else:
            kept[index] = LEFT_OUT
    return kept


def _data(facts: RunFacts) -> dict[str, Any]:
    return {
        "run_id": facts.run_id,
        "status": facts.status,
        "live": facts.live,
        "refresh_ms": REFRESH_MS,
        "docs": kept_documents(facts.docs),
        "visits": [
            {
                "index": v.index,
                "name": v.name,
                "type": v.type,
                "at": round(v.start - facts.t0, 3),
                "ms": None if v.end is None else round((v.end - v.start) * 1000, 1),
                "outcome": v.outcome,
                "note": v.note,
                "input": v.input_doc,
                "output": v.output_doc,
                "changes": v.changes,
            }
            for v in facts.visits
        ],
    }


def render(facts: RunFacts, layout: GraphLayout) -> str:
    """The page for ``facts``."""
    history_note = (
        (
            '<p class="muted" id="recorded-note">Express keeps no execution history: this is MAOO\'s own '
            "record, rebuilt from the checkpoint every Task state wrote, in every execution the run "
            "went on in (each Choice decided by the definition's rules).</p>"
            if facts.recorded
            else ""
        )
        if facts.has_history
        else (
            '<p class="muted">The engine\'s execution history is not available yet; '
            "the graph fills in as it is read.</p>"
        )
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MAOO run {_e(facts.run_id)}: {_e(facts.status)}</title><style>{_asset("page.css")}</style></head>
<body><main id="page" data-status="{_e(facts.status)}" data-live="{str(facts.live).lower()}">
{_header(facts)}
{_approval(facts)}
<section class="card graph"><h2>State machine</h2>
<div class="legend"><span class="lg o-ok">ok</span><span class="lg o-warn">tool failed / retry / replan</span>
<span class="lg o-fail">failed</span><span class="lg unvisited">not entered</span>
<span class="lg current">in flight</span>
<span class="muted">numbers: times entered (nodes), times taken (edges). Click a state, or a bar on the
timeline, to see its input and output documents and what changed.</span></div>
{history_note}<div class="scroll">{graph_svg(layout, facts)}</div></section>
<aside class="card detail" id="detail" hidden><button type="button" id="detail-close" title="close">×</button>
<h2>State documents</h2><div id="detail-body"></div></aside>
<section class="card"><h2>Timeline</h2>{timeline_svg(facts)}{_timeline_rows(facts)}</section>
{_views(facts)}
<script type="application/json" id="run-data">{_json_block(_data(facts))}</script>
</main><script>{_asset("page.js")}</script></body></html>
"""


def render_trace(trace: dict[str, Any]) -> str:
    """The page for a trace document (what ``GET /runs/{id}/trace`` returns)."""
    layout = machine_layout()
    return render(collect(trace, layout), layout)


def facts_json(trace: dict[str, Any]) -> dict[str, Any]:
    """The page's facts as one JSON document (``GET /runs/{id}/view?format=json``)."""
    layout = machine_layout()
    facts = collect(trace, layout)
    return {
        **_data(facts),
        "states": list(layout.nodes),
        "edge_counts": facts.edge_counts,
        "node_outcomes": facts.node_outcomes,
        "current": facts.current,
        "tool_calls": [vars(c) for c in facts.tool_calls],
        "pending": facts.pending,
        "history": "checkpoints" if facts.recorded else ("engine" if facts.has_history else None),
    }
