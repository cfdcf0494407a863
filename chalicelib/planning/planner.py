"""Rule-based planner: ``PerceivedState`` -> ``Plan``.

Each sub-task becomes one step, in the order the user asked. A read has a primary route and,
where the same data is reachable another way, an alternative: live data (a service's status and
metrics, incidents, mock data) comes first from the HTTP API, with the ops database as the
alternative; the static inventory (services, deployments) and anything the user asked of "the
database" comes first from the database. Counts exist only in the database.

Replanning passes ``avoid``, the step ids that failed (or that long-term memory advises against),
and the planner picks the next route, so a new plan never repeats the call that just failed. Step
ids are stable across revisions (``s1`` primary, ``s1b`` alternative), so results already
obtained are kept. Data flow is explicit: computations, conditions, titles and messages refer to
earlier results as ``{{sN.path}}``, and every such step depends on the steps it refers to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from chalicelib import catalogue
from chalicelib.config import get_settings
from chalicelib.contracts import (
    ComputeParams,
    ComputeTask,
    Condition,
    CreateTask,
    FetchTask,
    NotifyTask,
    PerceivedState,
    Plan,
    QueryTask,
    ReadParams,
    SaveTask,
    Step,
    SubTask,
)
from chalicelib.errors import MaooError
from chalicelib.planning.sql import QueryCompileError, compile_query, is_estate_question
from chalicelib.references import ANSWER_REF
from chalicelib.tools.registry import TOOLS


class NoRouteError(MaooError):
    """Every route for a sub-task has failed or is excluded."""


@dataclass(frozen=True)
class Route:
    """One way to carry out a read: the tool, its arguments, and where the fields land."""

    suffix: str
    tool: str
    args: dict[str, Any]
    prefix: str  # where the resource's fields sit in this route's output, for references
    endpoint: str | None = None  # "GET /services/payments/metrics": what long-term memory keys facts by


def _base_url() -> str:
    url = get_settings().mock_api_url
    return url or "http://127.0.0.1:8765"


def _http(
    path: str, prefix: str, params: dict[str, Any] | None = None, expect: list[str] | None = None
) -> Route:
    args: dict[str, Any] = {"url": f"{_base_url()}{path}"}
    if params:
        args["params"] = params
    if expect:
        args["expect_fields"] = expect
    return Route("", "http_get", args, prefix, endpoint=f"GET {path}")


def _db(sql: str, params: list[Any], prefix: str) -> Route:
    args: dict[str, Any] = {"sql": sql}
    if params:
        args["params"] = params
    return Route("", "db_query", args, prefix)


def _where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    present = {k: v for k, v in filters.items() if v}
    return (" WHERE " + " AND ".join(f"{k} = ?" for k in present) if present else ""), list(present.values())


def _path(resource: str, service: str | None = None) -> str:
    """The mock API route the catalogue gives for a resource, with the service filled in."""
    path = catalogue.RESOURCE[resource].http_path or ""
    return path.replace("{service}", quote(service or ""))


def _columns(resource: str) -> str:
    """The columns the catalogue lists for a resource: what a database route selects."""
    return ", ".join(catalogue.RESOURCE[resource].columns)


def _filters(params: ReadParams, resource_name: str | None = None) -> dict[str, Any]:
    """The filters a read of a catalogue resource (``resource_name``, else the read's own) carries, in the
    catalogue's column order: the catalogue names the filter columns, the read's typed fields hold them."""
    resource = catalogue.RESOURCE.get(resource_name or params.resource or "")
    said = params.model_dump(exclude_none=True)
    return {name: said[name] for name in (resource.filters if resource else ()) if name in said}


def _http_can_filter(resource: str, filters: dict[str, Any]) -> bool:
    """The HTTP route answers only when it can apply every filter itself; else the database does."""
    return all(name in catalogue.RESOURCE[resource].http_filters for name, value in filters.items() if value)


def _inventory_routes(resource: str, params: ReadParams) -> list[Route]:
    """Routes for the services or deployments inventory: the database first, whatever the task's kind.
    The HTTP route is an alternative only when it can apply every filter the read carries."""
    filters = _filters(params, resource)
    where, values = _where(filters)
    if resource == "services":
        routes = [_db(f"SELECT {_columns('services')} FROM services{where} ORDER BY name", values, "rows")]
        if not filters:
            routes.append(_http(_path("services"), "body.services"))
        return _suffixed(routes)
    routes = [
        _db(
            f"SELECT {_columns('deployments')} FROM deployments{where} ORDER BY deployed_at DESC",
            values,
            "rows",
        )
    ]
    if _http_can_filter("deployments", filters):
        service = filters.get("service")
        routes.append(
            _http(_path("deployments"), "body.deployments", {"service": service} if service else None)
        )
    return _suffixed(routes)


def _read_routes(task: FetchTask | QueryTask) -> list[Route]:
    """The routes for a read, best first (before the alternative suffixes are assigned)."""
    p = task.params
    resource, service = p.resource, p.service
    if resource == "url":  # a URL the user gave: one route, and the policy decides whether it may be reached
        return [
            Route(
                "",
                "http_get",
                {"url": p.url},
                "body.",
                endpoint=endpoint_of("http_get", {"url": p.url}),
            )
        ]
    if resource == "sql":  # SQL the user gave: run as written, read-only; the database refuses anything else
        return [_db(p.sql or "", [], "rows")]
    if is_estate_question(p):  # the request language's question over a table: compiled to SQL, one route
        return [_compiled_route(task)]
    if p.aggregate == "count":
        table = resource if resource in ("incidents", "deployments", "services") else "incidents"
        where, values = _where(_filters(p, table))
        # "count" for the conditions that compare it, "value" like every other single figure
        return [_db(f"SELECT COUNT(*) AS count, COUNT(*) AS value FROM {table}{where}", values, "rows.0.")]
    if resource == "mock_data":
        routes = [
            _http(_path("mock_data"), "body.", expect=["items"]),
            _db(f"SELECT {_columns('mock_data')} FROM mock_items ORDER BY id", [], ""),
        ]
    elif resource == "metrics":
        window = p.window or catalogue.DEFAULT_WINDOW
        routes = [
            _http(_path("metrics", service), "body.", {"window": window}, ["requests", "errors"]),
            _db(
                f"SELECT {_columns('metrics')} FROM metrics WHERE service = ? AND window = ?",
                [service, window],
                "rows.0.",
            ),
        ]
    elif resource == "service":
        routes = [
            _http(_path("service", service), "body."),
            _db(f"SELECT {_columns('service')} FROM services WHERE name = ?", [service], "rows.0."),
        ]
    elif resource == "incidents":
        filters = _filters(p)
        where, values = _where(filters)
        routes = [_db(f"SELECT {_columns('incidents')} FROM incidents{where} ORDER BY id", values, "rows")]
        if _http_can_filter("incidents", filters):
            routes.insert(
                0, _http(_path("incidents"), "body.incidents", {k: v for k, v in filters.items() if v})
            )
    elif resource in ("services", "deployments"):
        return _inventory_routes(resource, p)
    else:
        raise NoRouteError(f"no route to read {resource!r}")
    if task.kind == "query":  # the user asked for the database
        routes = [r for r in routes if r.tool == "db_query"] + [r for r in routes if r.tool != "db_query"]
    return _suffixed(routes)


def _compiled_route(task: FetchTask | QueryTask) -> Route:
    try:
        compiled = compile_query(task.params)
    except QueryCompileError as exc:
        raise NoRouteError(f"{task.text!r}: {exc}") from exc
    return _db(compiled.sql, compiled.params, "rows.0." if compiled.single else "rows")


def _suffixed(routes: list[Route]) -> list[Route]:
    return [
        Route("" if i == 0 else chr(ord("a") + i), r.tool, r.args, r.prefix, r.endpoint)
        for i, r in enumerate(routes)
    ]


def route_options(perception: PerceivedState) -> dict[str, list[Route]]:
    """Every read's routes, best first, by base step id (``s1``): what memory advice works on. A read
    with no route is left out; planning it ends the run ``no_route``, naming why."""
    options: dict[str, list[Route]] = {}
    for i, task in enumerate(perception.subtasks):
        if isinstance(task, (FetchTask, QueryTask)):
            try:
                options[f"s{i + 1}"] = _read_routes(task)
            except NoRouteError:  # e.g. a unit a column cannot be given in (plan text, LLM mode)
                continue
    return options


class _Builder:
    def __init__(self, perception: PerceivedState, avoid: set[str]):
        self.perception = perception
        self.avoid = avoid
        self.denied = set(perception.constraints.denied_tools)
        self.steps: list[Step] = []
        self.by_task: dict[int, tuple[str, str]] = {}  # sub-task index -> (step id, field prefix)
        self.labels: dict[str, str] = {}  # condition subject path -> what it is, in words

    def _choose(self, base_id: str, routes: list[Route], what: str) -> Route:
        open_routes = [r for r in routes if f"{base_id}{r.suffix}" not in self.avoid]
        if not open_routes:
            raise NoRouteError(
                f"every route for {what!r} failed ({', '.join(base_id + r.suffix for r in routes)})"
            )
        allowed = [r for r in open_routes if r.tool not in self.denied]
        return (allowed or open_routes)[
            0
        ]  # a denied tool left alone is for the policy to refuse, with its reason

    def _ref(self, index: int, field: str | None) -> tuple[str, str]:
        """``(reference path, step id)`` for a field of what sub-task ``index`` produced."""
        step_id, prefix = self.by_task[index]
        return f"{step_id}.{prefix}{field or 'value'}", step_id

    def _condition(self, cond: Condition | None) -> tuple[Condition | None, list[str]]:
        if cond is None:
            return None, []
        index, _, field = cond.subject.lstrip("#").partition(".")
        path, step_id = self._ref(int(index), field or None)
        self.labels[path] = _label(self.perception.subtasks[int(index)], field or "value")
        return cond.model_copy(update={"subject": path}), [step_id]

    def _expression(self, task: ComputeTask) -> tuple[str, list[str]]:
        expression, deps = task.params.expression or "", list[str]()
        for ref in sorted(task.params.refs, key=len, reverse=True):
            index, field = task.params.refs[ref]
            path, step_id = self._ref(int(index), field)
            expression = expression.replace(ref, f"{{{{{path}}}}}")
            deps.append(step_id)
        return expression, deps

    def _carried(self, index: int) -> tuple[str, str]:
        """The reference text for what sub-task ``index`` produced: its figure, or its rows as JSON."""
        step_id, prefix = self.by_task[index]
        if prefix.endswith(".") or isinstance(self.perception.subtasks[index], ComputeTask):
            return f"{{{{{step_id}.{prefix}value}}}}", step_id  # a figure: a computed one, or one row's
        return f"{{{{{step_id}{'.' + prefix if prefix else ''}|json}}}}", step_id

    def _data_steps(self) -> list[Step]:
        return [s for s in self.steps if TOOLS[s.tool].side_effect == "read"]

    def add(self, index: int, task: SubTask) -> None:
        base_id = f"s{index + 1}"
        when, deps = self._condition(task.condition)
        prefix = ""
        if isinstance(task, (FetchTask, QueryTask)):
            route = self._choose(base_id, _read_routes(task), task.text)
            step = Step(
                id=base_id + route.suffix,
                tool=route.tool,
                args=route.args,
                purpose=task.text,
                alternative_of=base_id if route.suffix else None,
            )
            prefix = route.prefix
        elif isinstance(task, ComputeTask):
            if task.params.expression is None:
                raise NoRouteError(f"{task.text!r}: nothing to compute")
            expression, refs = self._expression(task)
            step = Step(
                id=base_id, tool="calc", args={"expression": expression}, depends_on=refs, purpose=task.text
            )
        elif task.kind == "summarize":
            sources = [s.id for s in self._data_steps()]
            step = Step(
                id=base_id,
                tool="summarize",
                args={"inputs": [f"{{{{{sid}}}}}" for sid in sources] or [task.text]},
                depends_on=sources,
                purpose=task.text,
            )
        elif isinstance(task, SaveTask):
            step = self._save(base_id, task)
        elif isinstance(task, CreateTask):
            step = self._incident(base_id, task, when)
        elif isinstance(task, NotifyTask):
            step = self._notification(base_id, task, when)
        else:  # pragma: no cover - SubTask.kind is a closed Literal
            raise NoRouteError(f"no step for sub-task kind {task.kind!r}")
        if step.id in self.avoid:
            raise NoRouteError(f"{step.id} ({step.tool}) failed and has no alternative route")
        self.by_task[index] = (step.id, prefix)
        self.steps.append(
            step.model_copy(update={"when": when, "depends_on": sorted(set(step.depends_on + deps))})
        )

    def _save(self, base_id: str, task: SaveTask) -> Step:
        """A file of what the last step produced: its summary as text, anything else as JSON.

        Text always has a heading line: a string that is one whole reference would become the
        referenced value itself, and the validator checks the content is a string.
        """
        path = task.params.path
        asked = task.params.content
        if asked is not None and asked.kind == "literal":  # the user's own words, exactly
            return Step(
                id=base_id,
                tool="file_write",
                args={"path": path, "content": f"{asked.text}\n"},
                purpose=task.text,
            )
        if not self.steps:
            raise NoRouteError(f"{task.text!r}: nothing to save yet")
        last = self.steps[-1]
        suffix = path.rsplit(".", 1)[-1].lower()
        sources = [s.purpose for s in self._data_steps() if s.tool != "summarize" and s.purpose]
        title = "MAOO: " + ("; ".join(dict.fromkeys(sources)) or task.text)
        if last.tool == "summarize" and suffix in ("md", "txt", "log"):  # the answer, then the summary
            content = (
                f"{'# ' if suffix == 'md' else ''}{title}\n\n{{{{answer}}}}\n\n{{{{{last.id}.summary}}}}\n"
            )
        elif suffix == "md":  # the answer in sentences, then the data it rests on
            content = f"# {title}\n\n{{{{answer}}}}\n\n```json\n{{{{{last.id}|json}}}}\n```\n"
        elif suffix in ("txt", "log"):
            content = f"{title}\n\n{{{{answer}}}}\n"
        else:  # .json, .csv: the data itself, for a program to read
            content = f"{{{{{last.id}|json}}}}\n"
        return Step(
            id=base_id,
            tool="file_write",
            args={"path": path, "content": content},
            depends_on=sorted({last.id, *(s.id for s in self._data_steps())}),
            purpose=task.text,
        )

    def _incident(self, base_id: str, task: CreateTask, when: Condition | None) -> Step:
        service = task.params.service
        title, deps = f"{service}: raised by MAOO ({task.text})", list[str]()
        asked = task.params.title
        if asked is not None and asked.kind == "literal":  # the user's own words, exactly
            title = str(asked.text)
        elif asked is not None and asked.kind == "value" and asked.task in self.by_task:
            carried, source = self._carried(asked.task)
            label = _label(self.perception.subtasks[asked.task], asked.field or "value")
            title, deps = f"{service}: {label} is {carried}", [source]
        elif asked is not None and asked.kind == "answer":
            title, deps = f"{service}: {{{{{ANSWER_REF}}}}}", [s.id for s in self._data_steps()]
        elif when is not None:
            label = self.labels.get(when.subject, "value")
            title = f"{service}: {label} is {{{{{when.subject}}}}} ({when.op} {when.value:g}), raised by MAOO"
        return Step(
            id=base_id,
            tool="http_post",
            args={
                "url": f"{_base_url()}/incidents",
                "json_body": {
                    "service": service,
                    "title": title[:200],
                    "severity": task.params.severity or catalogue.DEFAULT_SEVERITY,
                },
            },
            depends_on=deps,
            purpose=task.text,
        )

    def _notification(self, base_id: str, task: NotifyTask, when: Condition | None) -> Step:
        service = task.params.service or ", ".join(self.perception.entities.get("services", [])) or "ops"
        message, deps = f"MAOO ({service}): {task.text}", []
        asked = task.params.content
        if asked is not None and asked.kind == "literal":  # the user's own words, exactly
            message = str(asked.text)
        elif asked is not None and asked.kind == "answer":  # the answer so far, in sentences
            message = f"MAOO ({service}): {{{{{ANSWER_REF}}}}}"
            deps = [s.id for s in self._data_steps()]
        elif asked is not None and asked.kind == "value" and asked.task in self.by_task:
            carried, source = self._carried(asked.task)  # what an earlier sub-task produced
            message, deps = f"MAOO ({service}): {task.text}: {carried}", [source]
        elif when is not None:
            label = self.labels.get(when.subject, "the value")
            message += (
                f". {label[:1].upper()}{label[1:]} is {{{{{when.subject}}}}} ({when.op} {when.value:g})"
            )
        else:
            computed = [s for s in self.steps if s.tool == "calc"]
            if computed:
                message += f". {computed[-1].purpose}: {{{{{computed[-1].id}.value}}}}"
                deps.append(computed[-1].id)
        return Step(
            id=base_id,
            tool="http_post",
            args={
                "url": f"{_base_url()}/notifications",
                "json_body": {"channel": task.params.channel, "message": message[:2000]},
            },
            depends_on=deps,
            purpose=task.text,
        )


_FIELD_WORDS = {
    "errors": "error count",
    "requests": "request count",
    "p95_ms": "p95 latency (ms)",
    "p50_ms": "p50 latency (ms)",
}


def _label(task: SubTask, field: str) -> str:
    """What a condition compares, in words: "the error rate of search over 1h (%)"."""
    p = task.params
    if isinstance(p, ComputeParams) and p.metric == "error_rate":
        return f"the error rate of {p.service} over {p.window or catalogue.DEFAULT_WINDOW} (%)"
    if isinstance(p, ReadParams) and p.aggregate == "count":
        what = " ".join(x for x in (p.status, p.resource or "incidents") if x)
        return f"the number of {what}" + (f" of {p.service}" if p.service else "")
    if isinstance(p, ReadParams) and field == "value" and p.field:  # a question's figure: its field's
        field = p.field
    if isinstance(p, ReadParams) and field in _FIELD_WORDS:
        named = [f.value for f in p.filters if f.field in ("service", "name") and f.op == "="]
        return f"the {_FIELD_WORDS[field]} of {p.service or (named[0] if named else 'the services')}"
    return "the computed value"


def make_plan(perception: PerceivedState, avoid: set[str] | None = None, revision: int = 0) -> Plan:
    """A plan for every sub-task, in order; raises ``NoRouteError`` when a sub-task has no route left."""
    builder = _Builder(perception, avoid or set())
    for index, task in enumerate(perception.subtasks):
        builder.add(index, task)
    return Plan(
        steps=builder.steps, revision=revision, rationale=f"one step per sub-task of {perception.intent}"
    )


def _base(step: Step) -> str:
    return step.alternative_of or step.id


def revise_plan(
    plan: Plan, perception: PerceivedState, flagged: dict[str, str], avoid: set[str] | None = None
) -> Plan:
    """The plan after the critic's reasons: flagged steps dropped or replaced by the planner's own.

    ``flagged`` maps a step id (or a sub-task's base id) to what was wrong: ``"drop"`` (a side effect
    nobody asked for: the step and whatever depends on it go) or ``"replace"`` (the sub-task is not
    covered as asked: the planner's step for it takes the place). Raises ``NoRouteError`` like
    ``make_plan``.
    """
    own = make_plan(perception, avoid, plan.revision)
    dropped = {sid for sid, action in flagged.items() if action == "drop"}
    changed = True
    while changed:  # whatever depends on a dropped step cannot run either
        before = len(dropped)
        dropped |= {s.id for s in plan.steps if set(s.depends_on) & dropped}
        changed = len(dropped) > before
    replace = {sid for sid, action in flagged.items() if action == "replace"}
    kept = {_base(s): s for s in plan.steps if s.id not in dropped and _base(s) not in replace}
    steps: list[Step] = []
    for step in own.steps:
        steps.append(kept.pop(_base(step), step))
    ordered_ids = {s.id for s in steps}
    extras = [s for s in plan.steps if _base(s) in kept and s.id not in ordered_ids]
    notes = ", ".join(
        f"{sid} {'dropped' if a == 'drop' else 'replaced'}" for sid, a in sorted(flagged.items())
    )
    return Plan(
        steps=steps + extras,
        revision=plan.revision,
        rationale=f"{plan.rationale}; revised after the critic ({notes})",
    )


def endpoint_of(tool: str, args: dict[str, Any]) -> str | None:
    """``METHOD /path`` of an HTTP call, the key long-term memory keeps endpoint facts under.

    Calls to the ops API are keyed by path alone (the API's address changes between sessions);
    any other origin stays in the key, so a failing stranger never speaks for the ops API.
    """
    url = args.get("url") if isinstance(args, dict) else None
    if tool not in ("http_get", "http_post") or not isinstance(url, str):
        return None
    method = "GET" if tool == "http_get" else "POST"
    if url.startswith(_base_url() + "/"):
        return f"{method} {url[len(_base_url()) :].split('?')[0]}"
    return f"{method} {url.split('?')[0]}"
