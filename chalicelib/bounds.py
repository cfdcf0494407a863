"""The accepted range of every number a user or an operator can set: guards and ``MAOO_*`` values.

One table, read by the ``Guards`` contract (so an HTTP body, a CLI option, a scenario and an
environment variable meet the same limits) and by ``config`` (so a bad variable names itself and
its range). A value outside its range, or one that is not finite (``inf``, ``nan``), is refused
with a message that says what is accepted; it is never replaced by a default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Bound:
    """A closed range, or a half-open one when ``above`` is set (``minimum < value <= maximum``)."""

    minimum: float
    maximum: float
    whole: bool = False
    above: bool = False

    def accepts(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.whole and not float(value).is_integer():
            return False
        low_ok = value > self.minimum if self.above else value >= self.minimum
        return low_ok and value <= self.maximum

    def describe(self) -> str:
        kind = "a whole number" if self.whole else "a finite number"
        low = f"greater than {self.minimum:g}" if self.above else f"from {self.minimum:g}"
        joiner = " and at most " if self.above else " to "
        return f"{kind} {low}{joiner}{self.maximum:g}"


DEADLINE_MAX_SECONDS = 840.0
"""Below the state machine's ``TimeoutSeconds`` (900), leaving room for the call in flight and Finalize."""

GUARD_BOUNDS: dict[str, Bound] = {
    "max_steps": Bound(1, 200, whole=True),
    "max_retries_per_step": Bound(0, 20, whole=True),
    "max_retries": Bound(0, 100, whole=True),
    "budget": Bound(0, 10_000, above=True),
    "deadline_seconds": Bound(0, DEADLINE_MAX_SECONDS),
    "non_progress_limit": Bound(1, 50, whole=True),
    "llm_token_budget": Bound(0, 10_000_000, whole=True),
}

SETTING_BOUNDS: dict[str, Bound] = {
    "MAOO_LARGE_OUTPUT_BYTES": Bound(256, 200_000, whole=True),
    "MAOO_HTTP_TIMEOUT_SECONDS": Bound(0.05, 12),  # a call ends inside the HTTP tools' 15 s Lambda timeout
    "MAOO_BACKOFF_BASE_SECONDS": Bound(0, 60),
    "MAOO_BACKOFF_MAX_SECONDS": Bound(0, 300),
    "MAOO_TRACE_TTL_DAYS": Bound(1, 3650),
    "MAOO_LLM_TIMEOUT_SECONDS": Bound(0.05, 300),
    "MAOO_LLM_MAX_RETRIES": Bound(0, 10, whole=True),
    "MAOO_LLM_BACKOFF_SECONDS": Bound(0, 60),
    "MAOO_LLM_BACKOFF_MAX_SECONDS": Bound(0, 300),
    "MAOO_LLM_MAX_TOKENS": Bound(16, 200_000, whole=True),
    # an Express execution ends at 300 s: it checkpoints and goes on in a new one at most 280 s in
    "MAOO_EXPRESS_SLICE_SECONDS": Bound(1, 280),
    "MAOO_EXPRESS_MAX_CONTINUATIONS": Bound(0, 100, whole=True),
}

TOOL_COST_BOUND = Bound(0, 10_000)
"""One tool call's cost (``MAOO_TOOL_COSTS``): never more than the largest budget."""


def guard_problem(name: str, value: object) -> str | None:
    """Why ``value`` is not accepted for guard ``name`` (a sentence), or ``None`` when it is."""
    bound = GUARD_BOUNDS.get(name)
    if bound is None:
        return f"guards.{name[:100]!r} is not a guard; accepted: {', '.join(GUARD_BOUNDS)}"
    shown = repr(value)[:100]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"guards.{name}={shown} is not a number; use {bound.describe()}"
    if not bound.accepts(float(value)):
        return f"guards.{name}={shown} is not accepted; use {bound.describe()}"
    return None
