"""What long-term memory says about a plan before it is made.

The planner consults memory once per Plan state, without reading it itself: ``memory_query`` says
what it needs, the handler adapter reads it, and ``advise`` works on the answer. It retrieves the
facts relevant to the perceived request (for the trace, and for a person reading it), and for
every read whose primary route is an HTTP endpoint that recently failed (its latest fact is a failure younger than
``FAILURE_MEMORY_SECONDS``), it advises planning the alternative route first. A success filed
later for the same endpoint clears the advice. Advice is only advice: when following it would
leave a sub-task with no route, the plan state drops it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.contracts import PerceivedState
from chalicelib.memory.facts import RecallQuery, Recollection, describe_signal
from chalicelib.planning.planner import Route, route_options

FAILURE_MEMORY_SECONDS = 1800.0
RETRIEVE_LIMIT = 5


@dataclass
class Advice:
    avoid: set[str] = field(default_factory=set)
    changes: list[str] = field(default_factory=list)
    retrieved: list[dict[str, Any]] = field(default_factory=list)
    query: str = ""
    error: str | None = None

    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "query": self.query,
            "retrieved": self.retrieved,
            "avoid": sorted(self.avoid),
            "changes": self.changes,
        }
        if self.error:
            data["error"] = self.error
        return data


def _age(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _queried_endpoints(options: dict[str, list[Route]]) -> list[str]:
    """The endpoints whose latest fact can change the plan: a primary route with an alternative."""
    return list(
        dict.fromkeys(
            routes[0].endpoint for routes in options.values() if len(routes) >= 2 and routes[0].endpoint
        )
    )


def memory_query(perception: PerceivedState) -> RecallQuery:
    """What planning ``perception`` needs from long-term memory: the facts relevant to its sub-tasks
    and primary endpoints, and the latest fact of every endpoint that has an alternative route."""
    options = route_options(perception)
    endpoints = [r.endpoint for routes in options.values() for r in routes[:1] if r.endpoint]
    return RecallQuery(
        search=" ".join(dict.fromkeys([*(t.text for t in perception.subtasks), *endpoints])),
        search_limit=RETRIEVE_LIMIT,
        latest=tuple(("endpoint", endpoint) for endpoint in _queried_endpoints(options)),
    )


def advise(perception: PerceivedState, recalled: Recollection, now: float | None = None) -> Advice:
    """Memory's advice for planning ``perception``, from memory's answer to ``memory_query(perception)``.

    A memory that could not be read (``recalled.error``) gives no advice and reports the error.
    """
    now = recalled.read_at if now is None else now
    options = route_options(perception)
    advice = Advice(query=memory_query(perception).search or "", error=recalled.error)
    advice.retrieved = [
        {
            "kind": r.fact.kind,
            "key": r.fact.key,
            "text": r.fact.text,
            "score": float(f"{r.score:.3g}"),
            "age_seconds": round(now - r.fact.created_at, 1),
        }
        for r in recalled.found
    ]
    if recalled.error:  # memory is advice; planning goes on without it
        return advice
    for base, routes in options.items():
        primary = routes[0]
        if len(routes) < 2 or primary.endpoint is None:
            continue
        fact = recalled.latest.get(("endpoint", primary.endpoint))
        if fact is None or fact.data.get("ok") or now - fact.created_at > FAILURE_MEMORY_SECONDS:
            continue
        alternative = routes[1]
        advice.avoid.add(base + primary.suffix)
        advice.changes.append(
            f"{base}: planned {base}{alternative.suffix} ({alternative.tool}) first: {primary.endpoint} was "
            f"{describe_signal(str(fact.data.get('signal')))} {_age(now - fact.created_at)} ago (run {fact.run_id})"
        )
    return advice
