"""What long-term memory says about a plan before it is made.

The planner consults memory once per Plan state: it retrieves the facts relevant to the perceived
request (for the trace, and for a person reading it), and for every read whose primary route is
an HTTP endpoint that recently failed (its latest fact is a failure younger than
``FAILURE_MEMORY_SECONDS``), it advises planning the alternative route first. A success filed
later for the same endpoint clears the advice. Advice is only advice: when following it would
leave a sub-task with no route, the plan state drops it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from chalicelib.contracts import PerceivedState
from chalicelib.memory.longterm import LongTermMemory, describe_signal, get_long_term_memory
from chalicelib.planning.planner import route_options

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


def advise(
    perception: PerceivedState, memory: LongTermMemory | None = None, now: float | None = None
) -> Advice:
    """Memory's advice for planning ``perception``. Never raises: a memory error is reported, not fatal."""
    now = time.time() if now is None else now
    options = route_options(perception)
    endpoints = [r.endpoint for routes in options.values() for r in routes[:1] if r.endpoint]
    advice = Advice(query=" ".join(dict.fromkeys([*(t.text for t in perception.subtasks), *endpoints])))
    try:
        memory = memory or get_long_term_memory()
        advice.retrieved = [
            {
                "kind": r.fact.kind,
                "key": r.fact.key,
                "text": r.fact.text,
                "score": float(f"{r.score:.3g}"),
                "age_seconds": round(now - r.fact.created_at, 1),
            }
            for r in memory.search(advice.query, limit=RETRIEVE_LIMIT)
        ]
        for base, routes in options.items():
            primary = routes[0]
            if len(routes) < 2 or primary.endpoint is None:
                continue
            fact = memory.latest("endpoint", primary.endpoint)
            if fact is None or fact.data.get("ok") or now - fact.created_at > FAILURE_MEMORY_SECONDS:
                continue
            alternative = routes[1]
            advice.avoid.add(base + primary.suffix)
            advice.changes.append(
                f"{base}: planned {base}{alternative.suffix} ({alternative.tool}) first: {primary.endpoint} was "
                f"{describe_signal(str(fact.data.get('signal')))} {_age(now - fact.created_at)} ago (run {fact.run_id})"
            )
    except Exception as exc:  # memory is advice; planning goes on without it
        advice.avoid.clear()
        advice.changes.clear()
        advice.error = f"{type(exc).__name__}: {exc}"
    return advice
