"""The seed's five views of a run, in Rich: request, perception, plan, execution log, final output.

Everything a user or a tool wrote (the request, arguments, outputs, errors, notes) is shown as
text: it goes into a ``Text`` or through ``escape``, never into a string Rich reads as markup, so
``[/bold]`` in a request is printed as typed instead of crashing the view.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from chalicelib.contracts import Counters
from chalicelib.memory.records import RunRecord, record_of

_STATUS_STYLE = {
    "succeeded": "bold green",
    "stopped": "bold yellow",
    "failed": "bold red",
    "awaiting_approval": "bold cyan",
    "interrupted": "bold magenta",
    "running": "bold",
}


_LOOPBACK_ORIGIN = re.compile(r"https?://(?:127\.0\.0\.1|localhost)(?::\d+)?")


def _short(value: Any, limit: int = 70) -> str:
    """Compact text for a table cell; the local mock API's origin is left out (paths read better)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = _LOOPBACK_ORIGIN.sub("", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compact(value: Any) -> Any:
    """Drop empty and null fields: the perceived state reads better without them."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v not in (None, [], {}, "", False)}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def plan_table(plan: dict[str, Any] | None) -> Table:
    table = Table(title=f"Plan (revision {plan['revision'] if plan else '-'})", expand=True)
    for column in ("step", "tool"):
        table.add_column(column, no_wrap=True)
    table.add_column("arguments", overflow="fold", ratio=1)
    for column in ("after", "when"):
        table.add_column(column, no_wrap=True)
    for step in (plan or {}).get("steps", []):
        when = step.get("when")
        table.add_row(
            Text(step["id"]),
            Text(step["tool"]),
            Text(_short(step["args"], 120)),
            Text(", ".join(step.get("depends_on", [])) or "-"),
            Text(f"{when['subject']} {when['op']} {when['value']:g}") if when else "-",
        )
    return table


def execution_table(steps: list[dict[str, Any]], plan: dict[str, Any] | None = None) -> Table:
    """One row per tool call. Long resolved arguments are shown as planned (with their ``{{refs}}``)."""
    planned = {step["id"]: step["args"] for step in (plan or {}).get("steps", [])}
    table = Table(title="Execution log (tool calls)", expand=True)
    for column in ("#", "step", "tool", "try", "signal", "decision", "ms"):
        table.add_column(column, no_wrap=True)
    table.add_column("arguments -> outcome", overflow="fold", ratio=1)
    for index, step in enumerate(steps, 1):
        args = step["args"]
        if len(json.dumps(args, default=str)) > 60 and step["step_id"] in planned:
            args = planned[step["step_id"]]
        detail = Text(_short(args, 60) + "\n", style="dim")
        if step["ok"]:
            detail.append("ok", style="green")
        else:
            detail.append(_short((step.get("error") or {}).get("message", "error"), 90), style="red")
        if step.get("reason") and step["decision"] != "continue":
            detail.append(f"\n-> {step['reason']}", style="yellow")
        decision = step["decision"] + (f" {step['wait_seconds']:g}s" if step.get("wait_seconds") else "")
        table.add_row(
            str(index),
            Text(step["step_id"]),
            Text(step["tool"]),
            str(step["attempt"]),
            Text(step["signal"]),
            Text(decision),
            f"{step['latency_ms']:.0f}",
            detail,
        )
    return table


def render_run(console: Console, doc: dict[str, Any], explains: str | None = None) -> None:
    run = record_of(doc)
    console.print(
        Panel(
            Text(run.request),
            title="User request",
            subtitle=Text(explains) if explains else None,
            subtitle_align="left",
        )
    )
    perception = _compact(run.perception or {})
    understood = perception.get("understood")
    console.print(
        Panel(
            Syntax(json.dumps(perception, indent=1), "json", word_wrap=True),
            title=Text(
                f"Perceived intent: {perception.get('intent', '-')} ({perception.get('task_type', '-')})"
            ),
        )
    )
    if understood:  # the request language's one line: what MAOO understood, before anything ran
        console.print(Text.assemble(("Understood: ", "bold"), understood))
    console.print(plan_table(run.plan))
    for note in run.plan_notes or []:
        console.print(f"  [dim]plan:[/dim] {escape(str(note))}")
    console.print(execution_table(run.steps or [], run.plan))
    if run.skipped:
        console.print(f"  [dim]skipped (condition false):[/dim] {escape(', '.join(run.skipped))}")
    render_durability(console, run)
    style = _STATUS_STYLE.get(run.status, "bold")
    status = Text(run.status.upper(), style=style)
    if run.stop_reason:
        status.append(f"  reason: {run.stop_reason}", style=style)
    body = Group(Text(run.final_output or ""), Text(""), status)
    console.print(Panel(body, title="Final output"))
    c = run.counters or Counters()
    console.print(
        Text(
            f"run {run.run_id} on {run.engine} · {c.tool_calls} tool calls · "
            f"{c.retries} retries · {c.replans} replans · {len(run.states or [])} states · "
            f"{run.duration_ms or 0:.0f} ms\ntrace: {run.trace_file}",
            style="dim",
        )
    )


def render_lineage(console: Console, run: RunRecord) -> None:
    """The run this one was forked from, and the runs forked from it."""
    parent = run.forked_from
    if parent:
        reused = ", ".join(parent.reused) or "none"
        console.print(
            f"  [dim]forked from:[/dim] {escape(parent.run_id)} at step {escape(parent.step_id)} "
            f"[dim](results reused: {escape(reused)}; show it: python -m cli show {escape(parent.run_id)})[/dim]"
        )
    for child in run.forks or []:
        console.print(
            f"  [dim]forked to:[/dim] {escape(child['run_id'])} from step {escape(child['step_id'])} "
            f"[dim](python -m cli show {escape(child['run_id'])})[/dim]"
        )


def render_durability(console: Console, run: RunRecord) -> None:
    """Pauses, approvals, rejections and resumes, in order; and the call a run holds for approval."""
    render_lineage(console, run)
    for event in run.lifecycle or []:
        data = event["data"]
        what = ", ".join(f"{k}={_short(v, 60)}" for k, v in data.items() if v not in (None, "", [], {}))
        console.print(f"  [dim]{escape(str(event['kind']))}:[/dim] {escape(what)}")
    pending = run.pending_approval
    if pending and run.status == "awaiting_approval":
        body = Group(
            Text(f"step {pending.step_id}: {pending.tool} ({pending.side_effect})"),
            Syntax(json.dumps(pending.args, indent=1), "json", word_wrap=True),
            Text(f"why: {pending.reason}"),
            Text(
                f"decide: python -m cli approve {run.run_id}  |  python -m cli reject {run.run_id} "
                '--reason "..."'
            ),
        )
        console.print(Panel(body, title="Awaiting approval"))
