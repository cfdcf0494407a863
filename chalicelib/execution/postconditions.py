"""Every clause verified: each sub-task's postcondition, checked by Finalize against what actually ran.

A run that did not do what a clause asked never ends ``succeeded``: ``unmet`` names each clause
whose postcondition does not hold, and Finalize ends the run ``failed`` with ``criteria_unmet``.
This is the one place a finished run is judged (the critic judges plans before anything runs).

What each sub-task must show (the run document's steps and results are the evidence):

- every sub-task: a step carried it out and left a result of its kind (a number for a computation,
  rows or a body for a read, a summary, a written file, an id for a post); a step skipped counts
  only when its condition did not hold;
- a condition: the step is guarded by the same comparison on the value the clause names (the step
  of that sub-task, its field), and only its branch ran: the step ran when the comparison holds on
  the value that was computed, and was skipped when it does not;
- a read: every row returned satisfies every filter of the clause (flat fields and ``filters``), so
  "services other than checkout" never lists checkout; a filter whose column the rows do not carry
  (a count, a sum) must have reached the call itself (the SQL's WHERE and its parameters, or the
  HTTP query);
- a file: written to the path asked, holding the literal text asked, or the value asked;
- an incident or a notification: posted (an id came back) for the service or channel asked, with the
  severity asked, carrying the literal or the value asked.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib import catalogue
from chalicelib.contracts import (
    Content,
    CreateTask,
    FetchTask,
    Filter,
    NotifyTask,
    QueryTask,
    ReadParams,
    RunState,
    SaveTask,
    Step,
    SubTask,
)
from chalicelib.execution import answer
from chalicelib.journal import read_blob
from chalicelib.largevalues import is_reference
from chalicelib.references import UnresolvedReferenceError, lookup
from chalicelib.step_results import result_value, task_step

MAX_VIOLATIONS = 3  # rows named per broken filter
# a figure computed from columns, not stored (the catalogue's formula): a filter on it reaches the SQL as
# an expression over those columns
_DERIVED = {"error_rate": tuple(re.findall(r"@(\w+)", catalogue.ERROR_RATE_EXPRESSION))}
FLAT_FILTERS = (
    "service",
    "window",
    "status",
    "severity",
    "tier",
    "region",
    "owner",
)  # ReadParams' equality filters


def _criterion(task: SubTask) -> str:
    return ", ".join(task.success_criteria) or task.kind


def clause_name(index: int, task: SubTask) -> str:
    """How a report names a clause: its number, its words and its success criterion."""
    return f'clause {index + 1} "{task.text}" ({_criterion(task)})'


# ---------------------------------------------------------------- what ran


def _call_args(state: RunState, step_id: str) -> dict[str, Any] | None:
    """The arguments of the call that succeeded for ``step_id`` (large ones read back), or None."""
    record = next((r for r in reversed(state.steps) if r.step_id == step_id and r.ok), None)
    if record is None:
        return None
    return {k: read_blob(v["$blob"]) if is_reference(v) else v for k, v in record.args.items()}


def _produced(task: SubTask, value: Any) -> str | None:
    """Why ``value`` is not a result of the sub-task's kind ("has no data"), or None when it is."""
    if task.kind == "compute":
        number = value.get("value") if isinstance(value, dict) else None
        return None if answer.is_number(number) else "has no numeric value"
    if isinstance(task, (FetchTask, QueryTask)):
        data = value.get("body", value.get("rows")) if isinstance(value, dict) else None
        if data is None:
            return "has no data"
        p = task.params
        if p.aggregate == "one" and isinstance(data, list) and len(data) != 1:
            return f"matches {len(data)} rows where the request names one (say which)"
        # one row is the answer (a service, its metrics, an aggregate); an empty list is a list's answer
        single = task.params.resource in ("metrics", "service") or task.params.aggregate not in (None, "list")
        return "has no matching row" if single and isinstance(data, list) and not data else None
    if task.kind == "summarize":
        return (
            None
            if isinstance(value, dict) and str(value.get("summary", "")).strip()
            else "has an empty summary"
        )
    if isinstance(task, SaveTask):
        return None if isinstance(value, dict) and value.get("bytes", 0) > 0 else "did not write the file"
    body = value.get("body") if isinstance(value, dict) else None
    return None if isinstance(body, dict) and body.get("id") else "returned no id"


# ---------------------------------------------------------------- conditions


def _condition(state: RunState, task: SubTask, step: Step) -> tuple[list[str], bool]:
    """``(problems, ran)``: what is wrong with the step's guard (the clause's condition on the value it
    names) and with which branch ran; ``ran``: the step was to run, so its result is checked next."""
    c = task.condition
    assert c is not None
    subject_index, name = answer.condition_subject(c)
    asked = f"{c.op} {c.value:g}"
    when = step.when
    if when is None:
        return [f"{step.id} runs unconditionally, but the request made it conditional ({asked})"], True
    subject_step = task_step(state, subject_index)
    head, _, path = when.subject.partition(".")
    last = path.rsplit(".", 1)[-1] if path else "value"
    if subject_step is None or head != subject_step.id or last != (name or "value"):
        named = f"{subject_step.id}.{name or 'value'}" if subject_step else f"#{subject_index}"
        return [
            f"{step.id}'s condition compares {when.subject}, not the value the clause names ({named})"
        ], True
    if (when.op, when.value) != (c.op, c.value):
        return [f"{step.id}'s condition is {when.op} {when.value:g}, but the request asked {asked}"], True
    if head not in state.results:
        return [f"the value its condition names ({when.subject}) has no result"], False
    try:
        actual = lookup({head: result_value(state, head)}, head, "." + path if path else "")
    except UnresolvedReferenceError as exc:
        return [f"its condition cannot be evaluated: {exc}"], False
    holds = answer.holds(actual, c)
    if holds is None:
        return [f"its condition compares {actual!r}, which is not a number"], False
    ran, skipped = step.id in state.results, step.id in state.skipped
    verdict = f"{answer.number(actual)} {c.op} {c.value:g}"
    if holds and not ran:
        return [
            f"its condition held ({verdict}) but {step.id} {'was skipped' if skipped else 'did not run'}"
        ], False
    if not holds and ran:
        return [f"{step.id} ran although its condition did not hold ({verdict} is false)"], True
    if not holds and not skipped:
        return [f"its condition did not hold ({verdict}) but {step.id} was not skipped either"], False
    return [], holds


# ---------------------------------------------------------------- reads


def _column(resource: str, name: str) -> str:
    """The column a filter names: a service's own row calls its name ``name``."""
    return "name" if name == "service" and resource in ("service", "services") else name


def filters_of(p: ReadParams) -> list[Filter]:
    """Every filter of a read: its flat fields the resource has as columns, then ``filters``."""
    resource = p.resource or ("incidents" if p.aggregate == "count" else "")
    known = catalogue.RESOURCE.get(resource)
    columns = set(known.columns) if known else set()
    flat = [
        Filter(field=_column(resource, name), op="=", value=getattr(p, name))
        for name in FLAT_FILTERS
        if getattr(p, name) is not None and _column(resource, name) in columns
    ]
    return flat + [f.model_copy(update={"field": _column(resource, f.field)}) for f in p.filters]


def _same(a: Any, b: Any) -> bool:
    if answer.is_number(a) or answer.is_number(b):
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return str(a).strip().lower() == str(b).strip().lower()


def row_meets(row_value: Any, f: Filter) -> bool:
    """Whether a row's value meets one filter."""
    items = f.value if isinstance(f.value, list) else [f.value]
    if f.op == "=":
        return _same(row_value, f.value)
    if f.op == "!=":
        return not _same(row_value, f.value)
    if f.op == "in":
        return any(_same(row_value, v) for v in items)
    if f.op == "not in":
        return not any(_same(row_value, v) for v in items)
    try:
        a, b = float(row_value), float(f.value)
    except (TypeError, ValueError):
        a, b = str(row_value), str(f.value)  # type: ignore[assignment]
    return bool(answer.COMPARE[f.op](a, b))


def _reached_call(f: Filter, tool: str, args: dict[str, Any]) -> bool:
    """Whether a filter the rows cannot show was applied by the call itself: its column (or, for a
    derived figure, every column it is computed from) in the SQL's WHERE, a negation for ``!=`` and
    ``not in``, and its values among the parameters or in the text."""
    values = f.value if isinstance(f.value, list) else [f.value]
    if tool == "db_query":
        sql = str(args.get("sql", "")).lower()
        where = re.split(r"\bwhere\b", sql, maxsplit=1)
        if len(where) < 2:
            return False
        clause = re.split(r"\b(?:group\s+by|order\s+by|limit|having)\b", where[1])[0]
        columns = _DERIVED.get(f.field, (f.field,))
        if not all(re.search(rf"\b{re.escape(c.lower())}\b", clause) for c in columns):
            return False
        if f.op in ("!=", "not in") and not re.search(r"!=|<>|\bnot\b", clause):
            return False
        params = list(args.get("params") or [])
        return all(
            any(_same(v, p) for p in params) or re.search(rf"\b{re.escape(str(v).lower())}\b", clause)
            for v in values
        )
    if tool == "http_get":
        if f.op not in ("=", "in"):
            return False
        query = {str(k).lower(): str(v).lower() for k, v in (args.get("params") or {}).items()}
        url = str(args.get("url", "")).lower()
        items = [str(v).lower() for v in values]
        return all(query.get(f.field.lower()) == v or f"/{v}/" in url + "/" for v in items)
    return False


def _read(state: RunState, task: FetchTask | QueryTask, step: Step, value: Any) -> list[str]:
    p = task.params
    if p.resource in ("url", "sql", "mock_data"):
        return []
    resource = p.resource or "incidents"
    rows = answer.rows_of(value) or []
    problems: list[str] = []
    args = _call_args(state, step.id)
    for f in filters_of(p):
        shown = f"{f.field} {f.op} {f.value}"
        # the field asked comes back as ``value``, in its own unit unless another was asked
        as_value = f.field == p.field and p.unit is None and not any(f.field in r for r in rows)
        column = "value" if as_value else f.field
        carrying = [r for r in rows if column in r]
        if carrying:
            broken = [r for r in carrying if not row_meets(r[column], f)]
            if broken:
                named = ", ".join(
                    f"{answer.row_label(resource, r)} with {f.field} {r[column]}"
                    for r in broken[:MAX_VIOLATIONS]
                )
                more = f" and {len(broken) - MAX_VIOLATIONS} more" if len(broken) > MAX_VIOLATIONS else ""
                problems.append(f'{step.id} returned {named}{more}, which the filter "{shown}" excludes')
            continue
        if args is not None and not _reached_call(f, step.tool, args):
            problems.append(f'the filter "{shown}" is not applied by {step.id} ({step.tool})')
    if p.group_by and rows and not all(p.group_by in r or "group" in r for r in rows):
        problems.append(f"{step.id} returned rows without the {p.group_by} they were to be grouped by")
    elif why := _shape(p, rows):
        problems.append(f"{step.id} {why}")
    return problems


def _shape(p: ReadParams, rows: list[dict[str, Any]]) -> str | None:
    """Why the rows cannot answer what the clause computes (the field asked, an aggregate's number)."""
    if not rows or p.group_by:
        return None
    if p.aggregate in ("count", "sum", "avg"):
        figure = answer.row_scalar(rows[0], p.field, p.aggregate, "value", "count")
        return None if answer.is_number(figure) else f"returned no number for the {p.aggregate} asked"
    if (
        p.field
        and p.aggregate in (None, "list", "one", "argmax", "argmin", "max", "min")
        and not all(p.field in r or "value" in r for r in rows)
    ):
        return f"returned rows without the field asked ({p.field})"
    return None


# ---------------------------------------------------------------- actions


def _content_problem(
    state: RunState, content: Content | None, text: str, where: str, upto: int | None = None
) -> str | None:
    """Why ``text`` does not carry the content asked (a literal, a value, the answer over the sub-tasks
    before ``upto``, the clause's own index), or None when it does."""
    if content is None:
        return None
    if content.kind == "literal":
        literal = (content.text or "").strip()
        return (
            None if literal.lower() in text.lower() else f'{where} does not hold the text asked ("{literal}")'
        )
    if content.kind == "value":
        if content.task is None:
            return f"{where} should hold a value, but the request names no clause it comes from"
        value = answer.value_of(state, content.task, content.field)
        if value is None:
            return f"the value {where} should hold (clause {content.task + 1}) has no result"
        values = value if isinstance(value, list) else [value]
        missing = [v for v in values if not any(form in text for form in answer.number_forms(v))]
        if missing:
            return f"{where} does not hold the value asked ({', '.join(answer.number(v) for v in missing)})"
        return None
    if upto is None:
        return None if text.strip() else f"{where} is empty, not the answer"
    said = answer.sentence_for(state, upto)
    return None if said in text else f'{where} does not hold the answer ("{said}")'


def _posted(result: Any, args: dict[str, Any] | None) -> dict[str, Any]:
    """What the service recorded of a post (its echo), else what was sent."""
    body = result.get("body") if isinstance(result, dict) else None
    sent = (args or {}).get("json_body")
    return {**(sent if isinstance(sent, dict) else {}), **(body if isinstance(body, dict) else {})}


def _asked(state: RunState, step: Step, argument: str, said: Any) -> Any:
    """What the run was asked for one argument of a step: a value a person set on a fork
    (``--set s3.json_body.severity=sev1``) takes the place of what the request said."""
    corrections = state.forked_from.set if state.forked_from else {}
    return corrections.get(f"{step.id}.{argument}", said)


def _patched(state: RunState, step: Step) -> str:
    """Why an argument differs from what was asked, when the refinement patched it to a safe default."""
    return " (patched to a safe default after the server rejected it)" if step.id in state.patched else ""


def _saved(state: RunState, index: int, task: SaveTask, step: Step, value: Any) -> list[str]:
    path = _asked(state, step, "path", task.params.path)
    if isinstance(value, dict) and value.get("path") != path:
        return [f"{step.id} wrote {value.get('path')!r}, not {path!r}"]
    written = (_call_args(state, step.id) or {}).get("content")
    asked = None if _asked(state, step, "content", None) is not None else task.params.content
    if isinstance(written, str) and (why := _content_problem(state, asked, written, path, index)):
        return [why]
    return []


def _opened(state: RunState, index: int, task: CreateTask, step: Step, value: Any) -> list[str]:
    posted = _posted(value, _call_args(state, step.id))
    problems: list[str] = []
    for name, said in (("service", task.params.service), ("severity", task.params.severity)):
        asked = _asked(state, step, f"json_body.{name}", said)
        if asked and not _same(posted.get(name), asked):
            problems.append(
                f"{step.id} opened the incident with {name} {posted.get(name)!r}, not {asked!r}"
                + _patched(state, step)
            )
    title = None if _asked(state, step, "json_body.title", None) is not None else task.params.title
    where = f"the incident {posted.get('id', '')}".strip()
    if why := _content_problem(state, title, str(posted.get("title", "")), where, index):
        problems.append(why)
    return problems


def _notified(state: RunState, index: int, task: NotifyTask, step: Step, value: Any) -> list[str]:
    posted = _posted(value, _call_args(state, step.id))
    problems: list[str] = []
    channel = _asked(state, step, "json_body.channel", task.params.channel)
    if not _same(posted.get("channel"), channel):
        problems.append(
            f"{step.id} notified {posted.get('channel')!r}, not {channel!r}" + _patched(state, step)
        )
    if _asked(state, step, "json_body.message", None) is not None:
        return problems  # a person wrote the message on a fork
    where, message = f"the message to #{channel}", str(posted.get("message", ""))
    if why := _content_problem(state, task.params.content, message, where, index):
        problems.append(why)
    elif task.params.content is None and (last := answer.last_value(state, index)) is not None:
        # content not said: the task's own words with the last value computed (NotifyParams.content)
        source, figure = last
        if not any(form in message for form in answer.number_forms(figure)):
            problems.append(
                f"{where} does not carry the value clause {source + 1} computed ({answer.number(figure)})"
            )
    return problems


def _action(state: RunState, index: int, task: SubTask, step: Step, value: Any) -> list[str]:
    if isinstance(task, SaveTask):
        return _saved(state, index, task, step, value)
    if isinstance(task, CreateTask):
        return _opened(state, index, task, step, value)
    if isinstance(task, NotifyTask):
        return _notified(state, index, task, step, value)
    return []


# ---------------------------------------------------------------- the check


def _check(state: RunState, index: int, task: SubTask) -> list[str]:
    step = task_step(state, index)
    if step is None:
        return ["no step was planned"]
    if task.condition is not None:
        problems, ran = _condition(state, task, step)
        if problems or not ran:
            return problems
    elif step.id in state.skipped:
        return [f"{step.id} was skipped"]
    if step.id not in state.results:
        return [f"{step.id} has no result"]
    value = result_value(state, step.id)
    if why := _produced(task, value):
        return [f"{step.id} {why}"]
    if isinstance(task, (FetchTask, QueryTask)):
        return _read(state, task, step, value)
    return _action(state, index, task, step, value)


def unmet(state: RunState) -> list[str]:
    """Every clause whose postcondition does not hold, each named with why; empty when all hold."""
    perception = state.perception
    if perception is None or not perception.subtasks:
        return []
    problems: list[str] = []
    for index, task in enumerate(perception.subtasks):
        try:
            found = _check(state, index, task)
        except Exception as exc:  # a result that cannot be read is an unmet clause, not a crash
            found = [f"has a result that cannot be read ({exc})"]
        problems += [f"{clause_name(index, task)}: {why}" for why in found]
    return problems
