"""What a finished run teaches long-term memory: endpoint health, computed error rates, the outcome.

Computed by the Finalize state (a pure function of the ``RunState``); the handler adapter files the
facts (``chalicelib.memory.longterm.remember_facts``). Here, not in ``memory``, because reading a run
needs the planner's idea of an endpoint and the critic's map of sub-tasks to steps: the store stays
below the layers.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from chalicelib import catalogue
from chalicelib.contracts import ComputeTask, RunState
from chalicelib.memory.facts import Fact, describe_signal
from chalicelib.planning.critic import step_for
from chalicelib.planning.planner import endpoint_of


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def facts_for_run(state: RunState, now: float | None = None) -> list[Fact]:
    """The facts a finished run teaches: endpoint health, computed error rates, the outcome."""
    now = time.time() if now is None else now
    facts: list[Fact] = []
    last_by_endpoint: dict[str, Any] = {}
    signals: dict[str, list[str]] = {}
    for record in state.steps:
        endpoint = endpoint_of(record.tool, record.args)
        if endpoint:
            last_by_endpoint[endpoint] = record
            signals.setdefault(endpoint, []).append(record.signal)
    for endpoint, record in last_by_endpoint.items():
        seen = ", ".join(dict.fromkeys(signals[endpoint]))
        facts.append(
            Fact(
                kind="endpoint",
                key=endpoint,
                run_id=state.run_id,
                created_at=now,
                text=f"endpoint {endpoint} was {describe_signal(record.signal)} at {_iso(now)} (signals seen: {seen})",
                data={
                    "ok": record.ok,
                    "signal": record.signal,
                    "signals": signals[endpoint],
                    "step_id": record.step_id,
                },
            )
        )
    for index, task in enumerate(state.perception.subtasks if state.perception else []):
        step = step_for(state.plan, index)
        if not isinstance(task, ComputeTask) or task.params.metric != "error_rate":
            continue
        if step is None or step.id not in state.results:
            continue
        value = state.results[step.id].get("value") if isinstance(state.results[step.id], dict) else None
        if isinstance(value, (int, float)):
            service, window = task.params.service, task.params.window or catalogue.DEFAULT_WINDOW
            facts.append(
                Fact(
                    kind="metric",
                    key=f"error_rate {service} {window}",
                    run_id=state.run_id,
                    created_at=now,
                    text=f"last known error rate of {service} {window} = {value:g} % (at {_iso(now)})",
                    data={"service": service, "window": window, "value": value},
                )
            )
    tools = " -> ".join(s.tool for s in state.plan.steps) if state.plan else "no plan"
    outcome = state.status + (f" ({state.stop_reason})" if state.stop_reason else "")
    facts.append(
        Fact(
            kind="run",
            key=state.run_id,
            run_id=state.run_id,
            created_at=now,
            text=f"request {state.request[:300]!r} {outcome}; plan: {tools}",
            data={
                "request": state.request,
                "status": state.status,
                "stop_reason": state.stop_reason,
                "intent": state.perception.intent if state.perception else None,
                **({"plan_text": True} if state.plan_text else {}),  # "again" repeats it as plan text
            },
        )
    )
    return facts
