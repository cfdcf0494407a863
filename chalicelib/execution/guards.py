"""Stop guards, checked in the NextStep state before every tool call."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from chalicelib.contracts import RunState


def fingerprint(tool: str, args: dict[str, Any]) -> str:
    """The identity of a call: the same tool with the same (resolved) arguments."""
    canonical = json.dumps({"tool": tool, "args": args}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def check_guards(
    state: RunState, tool: str, cost: float, call_fingerprint: str, wait_seconds: float = 0.0
) -> tuple[str, str] | None:
    """``(stop_reason, detail)`` when a guard forbids the next call, else ``None``.

    ``wait_seconds`` is a backoff that would come first: a retry whose wait alone would carry the
    run past its deadline is refused now, so a run never ends later than its deadline plus the
    limit of the one call in flight.
    """
    guards, counters = state.guards, state.counters
    elapsed = time.time() - state.started_at
    if elapsed > guards.deadline_seconds:
        return "deadline", f"{elapsed:.1f} s elapsed; the deadline is {guards.deadline_seconds:g} s"
    if wait_seconds and elapsed + wait_seconds > guards.deadline_seconds:
        return "deadline", (
            f"{elapsed:.1f} s elapsed and the retry would first wait {wait_seconds:g} s; "
            f"the deadline is {guards.deadline_seconds:g} s"
        )
    if counters.tool_calls >= guards.max_steps:
        return "max_steps", f"{counters.tool_calls} tool calls made; max_steps is {guards.max_steps}"
    if counters.cost + cost > guards.budget:
        return "budget", f"{tool} costs {cost:g}; {counters.cost:g} of the budget {guards.budget:g} is spent"
    for key, count in state.failures.items():
        fp, _, signal = key.partition("|")
        if fp == call_fingerprint and count >= guards.non_progress_limit:
            return "non_progress", (
                f"{tool} with the same arguments failed {count} times in a row with {signal}; "
                f"non_progress_limit is {guards.non_progress_limit}"
            )
    return None


def note_outcome(state: RunState, call_fingerprint: str, signal: str) -> dict[str, int]:
    """The failure streaks after this outcome: a success clears the call's streak."""
    failures = {k: v for k, v in state.failures.items() if not k.startswith(call_fingerprint + "|")}
    if signal != "ok":
        key = f"{call_fingerprint}|{signal}"
        failures[key] = state.failures.get(key, 0) + 1
    return failures
