"""The request language's canonical one-line text: what MAOO understood, shown before anything runs.

Perception (the offline reader or the LLM) produces the typed sub-tasks of ``PerceivedState``; this
module prints them as one line a person can check at a glance, one statement per sub-task, in order:

    #1 = incidents | where service = checkout and status != resolved | count ; if #1 > 2: notify #ops "busy"

A question over a table reads ``table | where filters | aggregate field | by column | in unit | round n``
(a plain read of the catalogue, routed to the API or the database first, is marked ``fetch``/``query``);
a computation ``calc expression`` over earlier statements (``#1.value``); an action ``notify``,
``open incident`` or ``write`` with its literal text in quotes or the statement it carries (``<- #2``);
a condition ``if #i op value:`` before the statements it governs. The constraints lead in brackets. The
text is derived from the typed sub-tasks, never stored apart from them, so it cannot disagree with
what the planner compiles; and it is faithful: ``chalicelib.perception.plan_text`` reads it back into
sub-tasks that plan to the same steps (``--plan-text``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.contracts import (
    ComputeTask,
    Condition,
    Constraints,
    Content,
    CreateTask,
    FetchTask,
    NotifyTask,
    PerceivedState,
    QueryTask,
    ReadParams,
    SaveTask,
    SubTask,
)

FLAT_FIELDS = ("service", "status", "severity", "tier", "region", "owner", "window")


# what the text shows unquoted (a word, a number); anything else is quoted, so that it reads back the same
BARE_WORD = re.compile(r"[^\s,()\"|;]+")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_value(v) for v in value) + ")"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and (not BARE_WORD.fullmatch(value) or NUMBER.fullmatch(value)):
        return json.dumps(
            value
        )  # text with spaces, or digits meant as text: quoted, so it reads back the same
    return str(value)


def _plain(kind: str, p: ReadParams) -> bool:
    """A catalogue read (its route: the API or the database first, by ``kind``), not a question over a
    table: shown as ``fetch``/``query`` so that the text reads back into the same sub-task."""
    flat = any(getattr(p, name) is not None for name in FLAT_FIELDS if name != "window")
    return kind != "query" or p.aggregate is None or flat


def _query(kind: str, p: ReadParams) -> str:
    if p.resource == "url":
        return f"GET {p.url}"
    if p.resource == "sql":
        return f"sql {json.dumps(p.sql)}"
    table = {"service": "services", "mock_data": "mock data"}.get(str(p.resource), str(p.resource))
    conditions = [
        f"{name} = {_value(getattr(p, name))}" for name in FLAT_FIELDS if getattr(p, name) is not None
    ]
    if p.resource == "service" and p.service is not None:
        conditions = [c.replace("service =", "name =", 1) for c in conditions]
    conditions += [f"{f.field} {f.op} {_value(f.value)}" for f in p.filters]
    plain = _plain(kind, p)
    parts = [f"{kind} {table}" if plain else table]
    if conditions:
        parts.append("where " + " and ".join(conditions))
    aggregate = p.aggregate or "list"
    if aggregate != "list" or p.field or (plain and p.aggregate):
        parts.append(" ".join(x for x in (aggregate, p.field) if x))
    if p.group_by:
        parts.append(f"by {p.group_by}")
    if p.unit:
        parts.append(f"in {p.unit}")
    if p.round_to is not None:
        parts.append(f"round {p.round_to}")
    return " | ".join(parts)


def _content(content: Content | None) -> str:
    if content is None:
        return "<- last"
    if content.kind == "literal":
        return json.dumps(content.text)
    if content.kind == "value":
        return f"<- #{(content.task or 0) + 1}" + (f".{content.field}" if content.field else "")
    return "<- answer"


def _compute(task: ComputeTask) -> str:
    expression = task.params.expression or ""
    for ref, (index, field) in sorted(task.params.refs.items(), key=lambda kv: len(kv[0]), reverse=True):
        expression = expression.replace(ref, f"#{int(index) + 1}" + ("" if field == "value" else f".{field}"))
    return f"calc {expression}" + (f" | in {task.params.unit}" if task.params.unit else "")


def statement(task: SubTask) -> str:
    """One sub-task as a statement of the request language."""
    if isinstance(task, (QueryTask, FetchTask)):
        return _query(task.kind, task.params)
    if isinstance(task, ComputeTask):
        return _compute(task)
    if isinstance(task, SaveTask):
        path = task.params.path
        shown = path if BARE_WORD.fullmatch(path) and not path.startswith(("<-", '"')) else json.dumps(path)
        return f"write {shown} {_content(task.params.content)}"
    if isinstance(task, NotifyTask):
        about = f" for {task.params.service}" if task.params.service else ""
        return f"notify #{task.params.channel}{about} {_content(task.params.content)}"
    if isinstance(task, CreateTask):
        service = task.params.service or "?"
        title = f" {_content(task.params.title)}" if task.params.title else ""
        return f"open incident {task.params.severity or 'sev3'} for {service}{title}"
    return "summarize"


def _condition(condition: Condition) -> str:
    index, _, field = condition.subject.lstrip("#").partition(".")
    subject = f"#{int(index) + 1}" + (f".{field}" if field else "") if index.isdigit() else condition.subject
    return f"if {subject} {condition.op} {_value(condition.value)}: "


def _constraints(c: Constraints) -> str:
    said = [
        "dry run" if c.dry_run else "",
        "read-only" if c.read_only else "",
        "no files" if c.no_files else "",
        f"budget {_value(c.budget)}" if c.budget is not None else "",
        f"max {c.max_steps} steps" if c.max_steps is not None else "",
        f"deadline {_value(c.deadline_seconds)} s" if c.deadline_seconds is not None else "",
        *(f"not {tool}" for tool in c.denied_tools),
    ]
    kept = [s for s in said if s]
    return f"[{', '.join(kept)}] " if kept else ""


def render(perception: PerceivedState) -> str:
    """The whole reading as one line; empty when nothing was read."""
    if not perception.subtasks:
        return ""
    statements = [
        f"#{i + 1} = " + (_condition(t.condition) if t.condition else "") + statement(t)
        for i, t in enumerate(perception.subtasks)
    ]
    return _constraints(perception.constraints) + " ; ".join(statements)
