"""The final output as sentences: the request answered with its figures and units, then what was done.

Built from the request language (``PerceivedState.subtasks``) and what ran (``RunState.results``),
never from the raw tool outputs alone, so the answer says what was asked in the words of the
request: "search's error rate over the last hour is 6.5 % (520 errors in 8,000 requests), above
5 %: opened INC-1007 (sev2, search), notified #ops (NTF-0001), wrote report.md."

- A value says what it is, its unit and the figures it rests on.
- A list names its rows; a count says what was counted; an aggregate names its field and rows.
- A condition states the value it compares, which way the comparison went, and which actions
  ran ("opened INC-1007") or did not ("no incident opened").
- Actions no condition governs come last, in the order asked: "Opened ..., notified ..., wrote ...".
- A read that only feeds a computation is not stated on its own: its figures are in the
  computation's sentence.

``sentence_for`` is the same sentence over what has run so far: what a file or a notification
carries when its content is the answer (``Content(kind="answer")``, the reference ``{{answer}}``).
``answer_for`` keeps the structured parts beside the sentence (the run document's ``answer``).
Pure: reads only the state (and, through ``result_value``, a large result kept in the run store).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib import catalogue
from chalicelib.contracts import (
    ComputeParams,
    ComputeTask,
    Condition,
    CreateTask,
    FetchTask,
    NotifyTask,
    QueryTask,
    ReadParams,
    RunState,
    SaveTask,
    SubTask,
)
from chalicelib.step_results import result_value, task_step
from chalicelib.tools import summarize as summarize_tool

MAX_ROWS_NAMED = 20  # a list names this many rows, then says how many more

_FIELD_WORDS = {
    "errors": "error count",
    "requests": "request count",
    "p95_ms": "p95 latency",
    "p50_ms": "p50 latency",
    "opened_at": "opening time",
    "deployed_at": "deployment time",
}
_FIELD_UNITS = {"p95_ms": "ms", "p50_ms": "ms", "error_rate": "%"}
_NOUNS = {
    "incidents": ("incident", "incidents"),
    "deployments": ("deployment", "deployments"),
    "services": ("service", "services"),
    "service": ("service", "services"),
    "metrics": ("metrics row", "metrics rows"),
    "mock_data": ("mock item", "mock items"),
}
_AGGREGATE_WORDS = {"sum": "total", "avg": "average", "min": "lowest", "max": "highest"}
_HOLDS = {
    ">": "above",
    ">=": "at least",
    "<": "below",
    "<=": "at most",
    "==": "equal to",
    "!=": "not equal to",
}
_FAILS = {
    ">": "not above",
    ">=": "below",
    "<": "not below",
    "<=": "above",
    "==": "not equal to",
    "!=": "equal to",
}
COMPARE = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@dataclass(frozen=True)
class Clause:
    """One sub-task's part of the answer: its words, and the value and figures they state."""

    task: int
    kind: str
    text: str
    value: Any = None
    unit: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    done: bool = True  # an action: carried out (False: not, because its condition did not hold)


@dataclass(frozen=True)
class Answer:
    """The answer as a user reads it (``sentence``) and as a program reads it (``clauses``)."""

    sentence: str
    clauses: tuple[Clause, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "clauses": [asdict(c) for c in self.clauses]}


# ---------------------------------------------------------------- numbers and words


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(value: Any, unit: str | None = None) -> str:
    """A number as a person writes it: thousands separated, no exponent, a percentage to one decimal
    at least ("2.0 %"); with its unit after a space. Anything else as text."""
    if not is_number(value):
        return str(value) + (f" {unit}" if unit else "")
    if unit == "%":
        text = f"{value:,.4f}".rstrip("0")
        text = text + "0" if text.endswith(".") else text
    elif isinstance(value, int) or (value.is_integer() and abs(value) < 1e15):
        text = f"{int(value):,}"
    else:
        text = f"{value:,.6f}".rstrip("0").rstrip(".")
        if text in ("0", "-0"):
            text = f"{value:.3g}"
    return f"{text} {unit}" if unit else text


def number_forms(value: Any) -> set[str]:
    """The ways a value may be written into a file or a message: as the tools render it and as
    ``number`` does (``6.5``, ``6.50``, ``8000``, ``8,000``)."""
    if not is_number(value):
        return {str(value)}
    forms = {str(value), number(value), number(value).replace(",", ""), f"{value:g}"}
    if isinstance(value, float) and value.is_integer():
        forms |= {str(int(value)), f"{value:.1f}"}
    if isinstance(value, float):
        forms |= {f"{value:.2f}", f"{value:.4f}".rstrip("0").rstrip(".")}
    return forms


def window_words(window: str | None) -> str:
    """ "1h" -> "the last hour", "24h" -> "the last 24 hours", "5m" -> "the last 5 minutes"."""
    name = window or catalogue.DEFAULT_WINDOW
    match = re.fullmatch(r"(\d+)\s*([mhd])", name)
    if not match:
        return name
    count, unit = int(match.group(1)), {"m": "minute", "h": "hour", "d": "day"}[match.group(2)]
    return f"the last {unit}" if count == 1 else f"the last {count} {unit}s"


def field_words(name: str) -> str:
    return _FIELD_WORDS.get(name, name.replace("_", " "))


def _cap(text: str) -> str:
    """The first letter in capitals, unless the sentence starts with a name written in lower case
    ("search's error rate ...")."""
    first = re.split(r"[\s'(]", text, maxsplit=1)[0]
    return text if first in catalogue.SERVICE_NAMES else text[:1].upper() + text[1:]


def possessive(name: Any) -> str:
    """ "search" -> "search's", "payments" -> "payments'"."""
    text = str(name)
    return f"{text}'" if text.endswith("s") else f"{text}'s"


def _join(parts: list[str]) -> str:
    return ", ".join(p for p in parts if p)


# ---------------------------------------------------------------- what a result holds


def rows_of(value: Any) -> list[dict[str, Any]] | None:
    """The rows a read returned, whatever its route: ``rows`` of db_query, the list in an HTTP body
    (``incidents``, ``services``, ``deployments``, ``items``), or an HTTP body that is one object."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("rows"), list):
        return [r for r in value["rows"] if isinstance(r, dict)]
    body = value.get("body")
    if isinstance(body, list):
        return [r for r in body if isinstance(r, dict)]
    if isinstance(body, dict):
        for key in ("incidents", "services", "deployments", "items", "rows"):
            if isinstance(body.get(key), list):
                return [r for r in body[key] if isinstance(r, dict)]
        return [body]
    return None


def row_scalar(row: dict[str, Any], *names: str | None) -> Any:
    for name in names:
        if name and name in row:
            return row[name]
    numbers = [v for v in row.values() if is_number(v)]
    return numbers[0] if len(numbers) == 1 else None


def _result(state: RunState, index: int) -> Any:
    step = task_step(state, index)
    if step is None or step.id not in state.results:
        return None
    return result_value(state, step.id)


def value_of(state: RunState, index: int, name: str | None = None) -> Any:
    """The value sub-task ``index`` produced (its field ``name``), or None when it has none yet:
    a computation's number; a read's count, aggregate or field (a list of it when several rows)."""
    perception = state.perception
    if perception is None or not 0 <= index < len(perception.subtasks):
        return None
    task, result = perception.subtasks[index], _result(state, index)
    if result is None:
        return None
    if isinstance(task, ComputeTask):
        return result.get(name or "value") if isinstance(result, dict) else None
    if isinstance(task, (FetchTask, QueryTask)):
        rows = rows_of(result)
        if not rows:
            return None
        wanted = name if name and name != "value" else None
        if wanted and len(rows) > 1 and all(wanted in r for r in rows):
            return [r[wanted] for r in rows]
        p = task.params
        return row_scalar(rows[0], wanted, p.field, p.aggregate, "value", "count")
    if not isinstance(result, dict):
        return None
    body = result["body"] if isinstance(result.get("body"), dict) else result
    return body.get(name or "id")


def last_value(state: RunState, before: int) -> tuple[int, Any] | None:
    """``(sub-task, value)`` of the last single figure the sub-tasks before ``before`` produced (a
    computation, a count, a sum or average, one row's field): what a notification whose content is not
    said carries (``NotifyParams.content``). None when there is none."""
    tasks = state.perception.subtasks if state.perception else []
    for index in range(min(before, len(tasks)) - 1, -1, -1):
        task = tasks[index]
        if isinstance(task, ComputeTask):
            value = value_of(state, index)
        elif isinstance(task, (FetchTask, QueryTask)) and not task.params.group_by:
            p = task.params
            rows = rows_of(_result(state, index)) or []
            single = p.aggregate in ("count", "sum", "avg") or (p.field is not None and len(rows) == 1)
            value = value_of(state, index) if single else None
        else:
            continue
        if is_number(value):
            return index, value
    return None


# ---------------------------------------------------------------- a read in words

# the compiler's result shapes (chalicelib.planning.sql): a figure is ``value``; a grouping's rows carry
# ``group`` and ``value``; a field's or a ranking's rows carry the table's key and ``value``
_KEYS = ("id", "name", "service", "group")
_UNIT_WORDS = {"millions": "million", "thousands": "thousand"}
_STATE_FIELDS = ("severity", "status")  # said before the noun: "open incidents", "failed deployments"


def _resource(p: ReadParams) -> str:
    return p.resource or ("incidents" if p.aggregate == "count" else "")


def _unit(p: ReadParams) -> str | None:
    """The unit a read's figures are in: the one asked (``ReadParams.unit``), else the field's own."""
    unit = p.unit or _FIELD_UNITS.get(p.field or "")
    return _UNIT_WORDS.get(unit, unit) if unit else None


def _figure(p: ReadParams, value: Any) -> str:
    if p.round_to is not None and is_number(value):
        text = f"{value:,.{int(p.round_to)}f}"
        unit = _unit(p)
        return f"{text} {unit}" if unit else text
    return number(value, _unit(p))


def _field_of(row: dict[str, Any], name: str | None) -> Any:
    return row.get(name) if name and name in row else row.get("value")


def _key_of(row: dict[str, Any], name: str | None = None) -> Any:
    return next((row[k] for k in _KEYS if k in row and k != name), None)


def _filter_words(name: str, op: str, value: Any) -> str:
    items = value if isinstance(value, list) else [value]
    shown = [str(v) for v in items]
    if name in ("service", "name"):
        if op in ("!=", "not in"):
            return "other than " + " and ".join(shown)
        if op in ("=", "in"):
            return "of " + " and ".join(shown)  # "the total error count of payments and auth"
    words = field_words(name)
    if name in ("tier", "region") and op in ("=", "in"):
        return f"in {'tier ' if name == 'tier' else ''}" + " or ".join(shown)
    if op in ("=", "in"):
        return f"with {words} " + " or ".join(shown)
    if op in ("!=", "not in"):
        return f"whose {words} is not " + " or ".join(shown)
    return f"with {words} {_HOLDS.get(op, op)} {number(value, _FIELD_UNITS.get(name))}"


def describe(p: ReadParams, plural: bool = True) -> str:
    """What a read selects, in words: "open incidents of checkout", "services other than checkout",
    "payments or auth over the last hour"."""
    resource = _resource(p)
    states = [f for f in p.filters if f.field in _STATE_FIELDS and f.op in ("=", "in")]
    adjectives = [str(x) for x in (p.severity, p.status) if x] + [
        " or ".join(str(v) for v in (f.value if isinstance(f.value, list) else [f.value])) for f in states
    ]
    rest = [f for f in p.filters if f not in states]
    named = p.service is not None or any(f.field in ("service", "name") and f.op in ("=", "in") for f in rest)
    if resource == "metrics":
        noun = "" if named else ("services" if plural else "service")
    else:
        noun = _NOUNS.get(resource, (resource or "row", (resource or "row") + "s"))[1 if plural else 0]
    words = [" ".join(w.replace("_", " ") for w in [*adjectives, noun] if w)]
    if p.service and resource not in ("service",):
        words.append(f"of {p.service}")
    if p.tier is not None:
        words.append(f"in tier {p.tier}")
    if p.region:
        words.append(f"in {p.region}")
    if p.owner:
        words.append(f"owned by {p.owner}")
    words += [_filter_words(f.field, f.op, f.value) for f in rest]
    if resource == "metrics":
        words.append(f"over {window_words(p.window)}")
    text = " ".join(w for w in words if w)
    return text[3:] if text.startswith("of ") else text


def row_label(resource: str, row: dict[str, Any]) -> str:
    """A row named the way a person refers to it: "INC-1001 (sev2, Checkout latency above SLO)"."""

    def part(*keys: str) -> list[str]:
        return [str(row[k]) for k in keys if row.get(k) not in (None, "")]

    if resource == "incidents" and "id" in row:
        return f"{row['id']} ({_join(part('severity', 'title'))})" if part("severity", "title") else row["id"]
    if resource == "deployments" and "id" in row:
        what = " ".join(part("service", "version"))
        details = _join([what, *part("status")])
        return f"{row['id']} ({details})" if details else row["id"]
    if resource in ("services", "service") and "name" in row:
        extra = part("status") + ([f"tier {row['tier']}"] if row.get("tier") is not None else [])
        return f"{row['name']} ({_join(extra)})" if extra else str(row["name"])
    if "name" in row and "value" in row:
        return f"{row['name']} ({number(row['value'])})"
    head = next((k for k in _KEYS + ("title",) if k in row), None)
    if head is None:
        return _join([f"{field_words(k)} {number(v)}" for k, v in row.items()])
    rest = [number(v) for k, v in row.items() if k != head and v not in (None, "")]
    return f"{row[head]} ({_join(rest)})" if rest else str(row[head])


def _metrics_sentence(p: ReadParams, row: dict[str, Any]) -> str:
    parts = [
        f"{number(row['requests'])} requests" if "requests" in row else "",
        f"{number(row['errors'])} errors" if "errors" in row else "",
        f"p50 {number(row['p50_ms'], 'ms')}" if "p50_ms" in row else "",
        f"p95 {number(row['p95_ms'], 'ms')}" if "p95_ms" in row else "",
    ]
    service = row.get("service", p.service)
    return f"{possessive(service)} metrics over {window_words(row.get('window', p.window))}: {_join(parts)}"


def _whose(p: ReadParams, row: dict[str, Any] | None = None) -> str:
    row = row or {}
    if p.resource == "metrics":
        return f"{possessive(row.get('service', p.service))} {{}} over {window_words(row.get('window', p.window))}"
    if p.resource in ("service", "services") and (row.get("name") or p.service):
        return f"{possessive(row.get('name', p.service))} {{}}"
    if key := _key_of(row, p.field):
        return f"the {{}} of {key}"
    return f"the {{}} of {describe(p)}"


def _grouped(p: ReadParams, rows: list[dict[str, Any]]) -> tuple[str, Any]:
    """ "Open incidents by severity: sev2 2, sev3 1": one figure per value of the grouping column;
    a ranking of groups names the best: "us-east-1 has the most services (3)"."""
    group = p.group_by or ""
    values = {
        str(r[group] if group in r else r.get("group")): row_scalar(
            {k: v for k, v in r.items() if k not in (group, "group")}, "value", p.field, p.aggregate, "count"
        )
        for r in rows
    }
    what = describe(p)
    if p.field and p.aggregate not in (None, "count", "list", "argmax", "argmin"):
        what = f"{_AGGREGATE_WORDS.get(p.aggregate or '', p.aggregate)} {field_words(p.field)} of {what}"
    if p.aggregate in ("argmax", "argmin"):
        highest = p.aggregate == "argmax"
        if p.field:
            measure = f"{'highest' if highest else 'lowest'} total {field_words(p.field)}"
        else:
            measure = f"{'most' if highest else 'fewest'} {what}"
        named = " and ".join(f"{g} ({_figure(p, v)})" for g, v in values.items())
        verb = "is" if len(values) == 1 else "are"
        return f"The {field_words(group)} with the {measure} {verb} {named}", values
    pairs = [f"{g} {_figure(p, v)}" for g, v in list(values.items())[:MAX_ROWS_NAMED]]
    return f"{_cap(what)} by {field_words(group)}: {_join(pairs)}", values


def _counted(p: ReadParams, rows: list[dict[str, Any]]) -> tuple[str, Any]:
    """ "There are 2 open incidents of checkout": a count says what was counted."""
    count = row_scalar(rows[0], "count", "value") if rows else 0
    n = int(count) if is_number(count) and p.unit is None else count
    if n == 0:
        return f"There are no {describe(p)}", n
    if n == 1:
        return f"There is 1 {describe(p, plural=False)}", n
    if p.unit is not None:
        return f"The number of {describe(p)} is {_figure(p, n)}", n
    return f"There are {number(n)} {describe(p)}", n


def _ranked(p: ReadParams, rows: list[dict[str, Any]]) -> tuple[str, Any]:
    """The row(s) a ranking or a "latest" picked, named, with the figure they were picked by."""
    resource = _resource(p)
    if p.aggregate in ("argmax", "argmin", "max", "min"):
        most = "highest" if p.aggregate in ("argmax", "max") else "lowest"
        picked = [
            f"{_key_of(r, p.field) or row_label(resource, r)} ({_figure(p, _field_of(r, p.field))})"
            for r in rows
        ]
        verb = "has" if len(picked) == 1 else "have"
        text = f"Of the {describe(p)}, {' and '.join(picked)} {verb} the {most} {field_words(p.field or 'value')}"
        return text, _field_of(rows[0], p.field)
    if p.field:
        key = _key_of(rows[0], p.field)
        value = _field_of(rows[0], p.field)
        return (
            f"The {p.aggregate} of the {describe(p)} is {key}, its {field_words(p.field)} {_figure(p, value)}",
            value,
        )
    label = row_label(resource, rows[0])
    when = next((rows[0][k] for k in ("deployed_at", "opened_at") if rows[0].get(k)), None)
    said = f"{label}, {'deployed' if 'deployed_at' in rows[0] else 'opened'} {when}" if when else label
    return f"The {p.aggregate} of the {describe(p)} is {said}", label  # the time it is the latest by


def _fields(p: ReadParams, rows: list[dict[str, Any]]) -> tuple[str, Any]:
    """One column of the rows: "search's p95 latency over the last hour is 700 ms", "the service of
    INC-1005 is auth", or each row's key with its value."""
    name = p.field or ""
    values = [_field_of(r, name) for r in rows]
    if len(rows) == 1:
        return f"{_whose(p, rows[0]).format(field_words(name))} is {_figure(p, values[0])}", values[0]
    keyed = [(_key_of(r, name), v) for r, v in zip(rows, values, strict=True)]
    shown = [f"{k} {_figure(p, v)}" if k is not None else _figure(p, v) for k, v in keyed[:MAX_ROWS_NAMED]]
    more = f" and {len(rows) - MAX_ROWS_NAMED} more" if len(rows) > MAX_ROWS_NAMED else ""
    return f"{_cap(field_words(name))} of the {describe(p)}: {_join(shown)}{more}", values


def _listed(p: ReadParams, rows: list[dict[str, Any]]) -> tuple[str, Any]:
    """The rows, each named: "Open incidents of checkout (2): INC-1001 (sev2, ...), INC-1002 (...)"."""
    resource = _resource(p)
    if resource == "metrics" and len(rows) == 1:
        return _metrics_sentence(p, rows[0]), rows[0]
    if (
        resource in ("service", "services")
        and len(rows) == 1
        and (p.resource == "service" or p.aggregate == "one")
    ):
        row = rows[0]
        extra = [
            f"tier {row['tier']}" if row.get("tier") is not None else "",
            str(row.get("region") or ""),
            f"owned by {row['owner']}" if row.get("owner") else "",
        ]
        return f"{row.get('name', p.service)} is {row.get('status')} ({_join(extra)})", row
    labels = [row_label(resource, r) for r in rows]
    more = f" and {len(labels) - MAX_ROWS_NAMED} more" if len(labels) > MAX_ROWS_NAMED else ""
    what = "Rows returned" if resource == "sql" else _cap(describe(p))
    return f"{what} ({len(rows)}): {_join(labels[:MAX_ROWS_NAMED])}{more}", labels[:50]


def _read_clause(index: int, task: FetchTask | QueryTask, result: Any) -> Clause:
    p = task.params
    rows = rows_of(result)
    unit = _unit(p)
    if rows is None or p.resource == "url":  # a body of no known shape: what the summary tool says of it
        body = result.get("body", result) if isinstance(result, dict) else result
        return Clause(index, task.kind, summarize_tool.summarize([body]).rstrip("."))
    if p.group_by:
        text, value = _grouped(p, rows)
        return Clause(index, task.kind, text, value, unit)
    if p.aggregate == "count":
        text, value = _counted(p, rows)
        return Clause(index, task.kind, text, value, unit if p.unit else None)
    if not rows:
        return Clause(index, task.kind, f"There are no {describe(p)}", [])
    if p.aggregate in ("sum", "avg"):
        value = row_scalar(rows[0], p.field, p.aggregate, "value")
        what = f"{_AGGREGATE_WORDS[p.aggregate]} {field_words(p.field or 'value')}"
        return Clause(index, task.kind, f"The {what} of {describe(p)} is {_figure(p, value)}", value, unit)
    if p.aggregate in ("argmax", "argmin", "max", "min", "latest", "earliest"):
        text, value = _ranked(p, rows)
        return Clause(index, task.kind, text, value, unit, {"rows": rows[:MAX_ROWS_NAMED]})
    text, value = _fields(p, rows) if p.field else _listed(p, rows)
    return Clause(index, task.kind, text, value, unit if p.field else None)


# ---------------------------------------------------------------- a computation in words


def _compute_clause(state: RunState, index: int, task: ComputeTask, result: Any) -> Clause:
    p = task.params
    value = result.get("value") if isinstance(result, dict) else None
    refs = {ref: value_of(state, int(i), str(f)) for ref, (i, f) in p.refs.items()}
    if p.metric == "error_rate":
        errors, requests = refs.get("@errors"), refs.get("@requests")
        unit = p.unit or "%"
        rests = (
            f" ({number(errors)} errors in {number(requests)} requests)"
            if errors is not None and requests is not None
            else ""
        )
        text = f"{possessive(p.service)} error rate over {window_words(p.window)} is {number(value, unit)}{rests}"
        return Clause(index, "compute", text, value, unit, {"errors": errors, "requests": requests})
    expression = result.get("expression") if isinstance(result, dict) else None
    expression = expression or p.expression or ""
    return Clause(
        index,
        "compute",
        f"{expression} = {number(value, _UNIT_WORDS.get(p.unit or '', p.unit))}{_sources(state, p)}",
        value,
        p.unit,
        {k.lstrip("@"): v for k, v in refs.items()},
    )


def _sources(state: RunState, p: ComputeParams) -> str:
    """What the figures of a computation over the estate are: "(search's error count over the last
    24 hours is 7,680; ...)", from the reads it refers to (a computation referred to is said itself)."""
    tasks = state.perception.subtasks if state.perception else []
    said: list[str] = []
    for i in dict.fromkeys(int(i) for i, _ in p.refs.values()):
        task, result = (tasks[i], _result(state, i)) if 0 <= i < len(tasks) else (None, None)
        if isinstance(task, (FetchTask, QueryTask)) and result is not None:
            text = _read_clause(i, task, result).text
            # inside the parentheses a sentence of its own starts lower case ("there are 2 ...")
            said.append(text[:1].lower() + text[1:] if text[:1].isupper() and text[1:2].islower() else text)
    return f" ({'; '.join(said)})" if said else ""


# ---------------------------------------------------------------- actions in words


def _action_clause(state: RunState, index: int, task: SubTask, result: Any) -> Clause | None:
    body = result.get("body") if isinstance(result, dict) else None
    body = body if isinstance(body, dict) else {}
    done = result is not None
    if isinstance(task, CreateTask):
        if not done:
            return Clause(index, task.kind, "no incident opened", done=False)
        severity = body.get("severity", task.params.severity)
        service = body.get("service", task.params.service)
        text = f"opened {body.get('id', 'an incident')} ({_join([str(severity or ''), str(service or '')])})"
        return Clause(index, task.kind, text, body.get("id"))
    if isinstance(task, NotifyTask):
        channel = body.get("channel", task.params.channel)
        if not done:
            return Clause(index, task.kind, f"#{channel} not notified", done=False)
        sent = f" ({body['id']})" if body.get("id") else ""
        return Clause(index, task.kind, f"notified #{channel}{sent}", body.get("id"))
    if isinstance(task, SaveTask):
        if not done:
            return Clause(index, task.kind, f"{task.params.path} not written", done=False)
        path = result.get("path", task.params.path) if isinstance(result, dict) else task.params.path
        return Clause(index, task.kind, f"wrote {path}", path)
    return None


# ---------------------------------------------------------------- conditions


def condition_subject(condition: Condition) -> tuple[int, str | None]:
    """The sub-task a condition names (``#1`` -> 1) and its field, if one is named (``#0.p95_ms``)."""
    index, _, name = condition.subject.lstrip("#").partition(".")
    return int(index), name or None


def _subject_phrase(state: RunState, index: int, name: str | None) -> tuple[str, Any, str | None] | None:
    """``(words, value, unit)`` of what a condition compares."""
    perception = state.perception
    assert perception is not None
    task, result = perception.subtasks[index], _result(state, index)
    if result is None:
        return None
    if isinstance(task, ComputeTask):
        clause = _compute_clause(state, index, task, result)
        return clause.text, clause.value, clause.unit
    if isinstance(task, (FetchTask, QueryTask)):
        value = value_of(state, index, name)
        p = task.params
        if p.aggregate == "count" and not p.group_by:
            return f"The number of {describe(p)} is {number(value)}", value, None
        if name and name != "value" and name != p.field:
            unit = _FIELD_UNITS.get(name)
            rows = rows_of(result) or [{}]
            return f"{_whose(p, rows[0]).format(field_words(name))} is {number(value, unit)}", value, unit
        clause = _read_clause(index, task, result)
        return clause.text, value, clause.unit
    return None


def holds(value: Any, condition: Condition) -> bool | None:
    try:
        return bool(COMPARE[condition.op](float(value), condition.value))
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- the answer


def _structure(tasks: list[SubTask]) -> tuple[dict[int, list[int]], set[int]]:
    """The sub-tasks each condition's subject governs, and the reads that feed a computation."""
    conditional: dict[int, list[int]] = {}
    for i, task in enumerate(tasks):
        if task.condition is not None:
            conditional.setdefault(condition_subject(task.condition)[0], []).append(i)
    feeds = {int(i) for t in tasks if isinstance(t, ComputeTask) for i, _ in t.params.refs.values()}
    return conditional, feeds


def _clauses(state: RunState, upto: int | None) -> tuple[list[str], list[Clause], list[Clause]]:
    """``(sentences, clauses, unconditional actions)`` over sub-tasks ``[0, upto)``."""
    perception = state.perception
    tasks = list(perception.subtasks if perception else [])[:upto]
    conditional, feeds = _structure(tasks)
    sentences: list[str] = []
    clauses: list[Clause] = []
    actions: list[Clause] = []
    summaries: list[str] = []
    for i, task in enumerate(tasks):
        result = _result(state, i)
        if i in conditional:
            sentences += _condition_sentence(state, i, conditional[i], tasks, clauses)
        elif task.condition is not None:
            continue  # stated with the value its condition names
        elif isinstance(task, (CreateTask, NotifyTask, SaveTask)):
            if result is not None and (clause := _action_clause(state, i, task, result)):
                actions.append(clause)
        elif result is None:
            continue
        elif task.kind == "summarize":
            summaries.append(str(result.get("summary", "")) if isinstance(result, dict) else "")
        elif (clause := _value_clause(state, i, task, result)) is not None:
            clauses.append(clause)
            if i not in feeds or isinstance(task, ComputeTask):  # a read feeding a computation is said there
                sentences.append(_cap(clause.text))
    if not sentences:
        sentences += [s.strip().rstrip(".") for s in summaries if s.strip()]
    return sentences, clauses, actions


def _value_clause(state: RunState, index: int, task: SubTask, result: Any) -> Clause | None:
    if isinstance(task, ComputeTask):
        return _compute_clause(state, index, task, result)
    if isinstance(task, (FetchTask, QueryTask)):
        return _read_clause(index, task, result)
    return None


def _condition_sentence(
    state: RunState, subject: int, governed: list[int], tasks: list[SubTask], clauses: list[Clause]
) -> list[str]:
    first = tasks[governed[0]].condition
    assert first is not None
    phrase = _subject_phrase(state, subject, condition_subject(first)[1])
    if phrase is None:
        return []
    words, value, unit = phrase
    held = holds(value, first)
    threshold = number(first.value) + (f" {unit}" if unit else "")
    verdict = f"{(_HOLDS if held else _FAILS)[first.op]} {threshold}"
    branch: list[str] = []
    for i in governed:
        task = tasks[i]
        result = _result(state, i)
        clause = _action_clause(state, i, task, result)
        if clause is None and result is not None:  # a conditional read or computation: its value
            clause = _value_clause(state, i, task, result)
        if clause is None:
            continue
        clauses.append(clause)
        branch.append(clause.text)
    subject_clause = Clause(
        subject, tasks[subject].kind, words, value, unit, {"condition": verdict, "holds": held}
    )
    clauses.append(subject_clause)
    return [f"{_cap(words)}, {verdict}" + (f": {', '.join(branch)}" if branch else "")]


def answer_for(state: RunState, upto: int | None = None) -> Answer:
    """The answer over sub-tasks ``[0, upto)`` (all when None) with what has run so far."""
    sentences, clauses, actions = _clauses(state, upto)
    if actions:
        sentences.append(_cap(_join([a.text for a in actions])))
    all_clauses = sorted([*clauses, *actions], key=lambda c: c.task)
    if not sentences:
        if state.perception is None or not state.perception.subtasks:
            values = [result_value(state, sid) for sid in state.results]
            text = summarize_tool.summarize(values) if values else "Nothing was done."
            return Answer(text, ())
        return Answer("Nothing was done.", tuple(all_clauses))
    return Answer(". ".join(s.rstrip(".") for s in sentences) + ".", tuple(all_clauses))


def sentence_for(state: RunState, upto: int | None = None) -> str:
    """The answer's sentence over sub-tasks ``[0, upto)`` with what has run so far: what a file or a
    notification carries when its content is the answer (``{{answer}}`` in a step's arguments)."""
    return answer_for(state, upto).sentence
