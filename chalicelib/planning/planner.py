"""Rule-based planner: ``PerceivedState`` -> ``Plan``.

Each sub-task becomes one step. A read has a primary route (the HTTP API) and, where the data
also lives in the ops database, an alternative route; replanning swaps a failed route for its
alternative, so the new plan never repeats the call that just failed. Step ids are stable across
revisions (``s1`` primary, ``s1b`` alternative), so results already obtained are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from chalicelib.config import get_settings
from chalicelib.contracts import Condition, PerceivedState, Plan, Step, SubTask


class NoRouteError(Exception):
    """Every route for a sub-task has failed or is excluded."""


@dataclass(frozen=True)
class _Route:
    suffix: str
    tool: str
    args: dict
    prefix: str  # where the resource's fields sit in this route's output, for references


def _base_url() -> str:
    url = get_settings().mock_api_url
    return url or "http://127.0.0.1:8765"


def _fetch_routes(task: SubTask) -> list[_Route]:
    base, p = _base_url(), task.params
    resource = p.get("resource")
    if resource == "mock_data":
        return [
            _Route("", "http_get", {"url": f"{base}/data", "expect_fields": ["items"]}, "body."),
            _Route("b", "db_query", {"sql": "SELECT id, name, value FROM mock_items ORDER BY id"}, ""),
        ]
    if resource == "metrics":
        service, window = p["service"], p.get("window", "1h")
        return [
            _Route("", "http_get", {"url": f"{base}/services/{quote(service)}/metrics", "params": {"window": window},
                                    "expect_fields": ["requests", "errors"]}, "body."),
            _Route("b", "db_query", {"sql": "SELECT service, window, requests, errors, p50_ms, p95_ms FROM metrics"
                                            " WHERE service = ? AND window = ?", "params": [service, window]}, "rows.0."),
        ]
    if resource == "service":
        service = p["service"]
        return [
            _Route("", "http_get", {"url": f"{base}/services/{quote(service)}"}, "body."),
            _Route("b", "db_query", {"sql": "SELECT * FROM services WHERE name = ?", "params": [service]}, "rows.0."),
        ]
    if resource == "incidents":
        params = {k: p[k] for k in ("service", "status") if p.get(k)}
        where = " AND ".join(f"{k} = ?" for k in params) or "1 = 1"
        return [
            _Route("", "http_get", {"url": f"{base}/incidents", "params": params}, "body"),
            _Route("b", "db_query", {"sql": f"SELECT * FROM incidents WHERE {where} ORDER BY id", "params": list(params.values())}, "rows"),
        ]
    raise NoRouteError(f"no route to fetch {resource!r}")


def _query_routes(task: SubTask) -> list[_Route]:
    table, service = task.params["table"], task.params.get("service")
    if service:
        column = "name" if table == "services" else "service"
        return [_Route("", "db_query", {"sql": f"SELECT * FROM {table} WHERE {column} = ? ORDER BY 1", "params": [service]}, "rows")]
    return [_Route("", "db_query", {"sql": f"SELECT * FROM {table} ORDER BY 1"}, "rows")]


class _Builder:
    def __init__(self, perception: PerceivedState, avoid: set[str]):
        self.perception = perception
        self.avoid = avoid
        self.steps: list[Step] = []
        self.by_task: dict[int, tuple[str, str]] = {}  # sub-task index -> (step id, field prefix)
        self.last_data: tuple[str, str] | None = None

    def _choose(self, base_id: str, routes: list[_Route], what: str) -> _Route:
        for route in routes:
            if f"{base_id}{route.suffix}" not in self.avoid:
                return route
        raise NoRouteError(f"every route for {what} failed ({', '.join(base_id + r.suffix for r in routes)})")

    def _condition(self, cond: Condition | None) -> tuple[Condition | None, list[str]]:
        if cond is None:
            return None, []
        index = int(cond.subject.lstrip("#"))
        step_id, prefix = self.by_task[index]
        return cond.model_copy(update={"subject": f"{step_id}.{prefix}value"}), [step_id]

    def add(self, index: int, task: SubTask) -> None:
        base_id = f"s{index + 1}"
        when, when_deps = self._condition(task.condition)
        deps = list(when_deps)
        if task.kind in ("fetch", "query"):
            routes = _fetch_routes(task) if task.kind == "fetch" else _query_routes(task)
            route = self._choose(base_id, routes, task.text)
            step = Step(id=base_id + route.suffix, tool=route.tool, args=route.args, purpose=task.text,
                        alternative_of=base_id if route.suffix else None)
            self.last_data = (step.id, route.prefix)
        elif task.kind == "compute":
            if "expression" in task.params:
                step = Step(id=base_id, tool="calc", args={"expression": task.params["expression"]}, purpose=task.text)
            else:
                source = self.last_data
                if source is None:
                    raise NoRouteError(f"{task.text!r} needs metrics fetched first")
                sid, prefix = source
                expression = f"round({{{{{sid}.{prefix}errors}}}} / {{{{{sid}.{prefix}requests}}}} * 100, 4)"
                step = Step(id=base_id, tool="calc", args={"expression": expression}, depends_on=[sid], purpose=task.text)
            self._append(index, step, when, deps)
            return
        elif task.kind == "summarize":
            sources = [s.id for s in self.steps if s.tool not in ("file_write", "http_post")]
            step = Step(id=base_id, tool="summarize", args={"inputs": [f"{{{{{sid}}}}}" for sid in sources] or [self.perception.intent]},
                        depends_on=sources, purpose=task.text)
            self.last_data = (step.id, "")
        elif task.kind == "save":
            last = self.steps[-1] if self.steps else None
            if last is None:
                raise NoRouteError(f"{task.text!r}: nothing to save yet")
            content = f"{{{{{last.id}.summary}}}}" if last.tool == "summarize" else f"{{{{{last.id}|json}}}}"
            step = Step(id=base_id, tool="file_write", args={"path": task.params["path"], "content": content},
                        depends_on=[last.id], purpose=task.text)
        elif task.kind == "create":
            service = task.params["service"]
            title = f"{service}: raised by MAOO ({task.text})"[:200]
            step = Step(id=base_id, tool="http_post", args={"url": f"{_base_url()}/incidents",
                        "json_body": {"service": service, "title": title, "severity": task.params.get("severity", "sev3")}},
                        purpose=task.text)
        elif task.kind == "notify":
            message = f"MAOO: {self.perception.intent} for {', '.join(self.perception.entities.get('services', [])) or 'ops'}"
            step = Step(id=base_id, tool="http_post", args={"url": f"{_base_url()}/notifications",
                        "json_body": {"channel": task.params["channel"], "message": message}}, purpose=task.text)
        else:  # pragma: no cover - SubTask.kind is a closed Literal
            raise NoRouteError(f"no step for sub-task kind {task.kind!r}")
        self._append(index, step, when, deps)

    def _append(self, index: int, step: Step, when: Condition | None, deps: list[str]) -> None:
        if step.id in self.avoid:
            raise NoRouteError(f"{step.id} ({step.tool}) failed and has no alternative route")
        self.by_task[index] = (step.id, "")
        self.steps.append(step.model_copy(update={"when": when, "depends_on": sorted(set(step.depends_on + deps))}))


def make_plan(perception: PerceivedState, avoid: set[str] | None = None, revision: int = 0) -> Plan:
    """A plan for every sub-task, in order; raises ``NoRouteError`` when a sub-task has no route left."""
    builder = _Builder(perception, avoid or set())
    for index, task in enumerate(perception.subtasks):
        builder.add(index, task)
    return Plan(steps=builder.steps, revision=revision, rationale=f"one step per sub-task of {perception.intent}")
