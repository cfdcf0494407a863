"""The refinement engine: (signal, side-effect class, history) -> one decision, with its reason."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from chalicelib.config import get_settings
from chalicelib.contracts import Decision, RunState, SideEffect, Signal, Step, ToolResult

RETRYABLE: frozenset[Signal] = frozenset(
    {"transient", "rate_limited", "timeout", "malformed_response", "unknown_outcome"}
)
REPLANNABLE: frozenset[Signal] = RETRYABLE | {"schema_drift", "not_found", "auth"}
AMBIGUOUS: frozenset[Signal] = frozenset({"transient", "timeout", "unknown_outcome"})
"""Signals after which a write may or may not have been applied."""

STOP_REASON_FOR_SIGNAL: dict[Signal, str] = {
    "policy_denied": "policy_denied",
    "bad_args": "bad_args",
    "auth": "auth",
    "not_found": "not_found",
    "schema_drift": "schema_drift",
    "malformed_response": "malformed_response",
    "fatal": "tool_failed",
}


@dataclass(frozen=True)
class Refinement:
    decision: Decision
    reason: str
    wait_seconds: int = 0
    stop_reason: str | None = None


def backoff_seconds(state: RunState, step_id: str, attempt: int, retry_after: float | None) -> int:
    """Exponential backoff with jitter, at least any ``Retry-After``; whole seconds for the Wait state.

    The jitter is seeded by run, step and attempt, so a run replays with the same waits.
    """
    settings = get_settings()
    ceiling = min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2 ** (attempt - 1))
    jitter = random.Random(f"{state.run_id}:{step_id}:{attempt}").uniform(0.5, 1.0)
    wait = ceiling * jitter
    if retry_after is not None:
        wait = max(wait, min(retry_after, settings.backoff_max_seconds))
    return int(math.ceil(wait))


def decide(
    state: RunState,
    step: Step,
    side_effect: SideEffect,
    signal: Signal,
    result: ToolResult,
    attempt: int,
    has_alternative: bool,
    patch: str | None = None,
) -> Refinement:
    """One decision for this outcome. ``patch`` describes an available argument patch, if any."""
    if signal == "ok":
        return Refinement("continue", "the step succeeded")
    guards = state.guards
    if patch is not None:
        return Refinement("patch_args", patch)
    if side_effect == "write" and signal in AMBIGUOUS:
        if has_alternative:
            return Refinement(
                "replan",
                f"{step.tool} is a non-idempotent write and may have been applied; not retried blindly",
            )
        return Refinement(
            "abort",
            f"{step.tool} is a non-idempotent write that may have been applied; it is never retried blindly",
            stop_reason="unsafe_retry",
        )
    if signal == "unknown_outcome" and held_elsewhere(result):
        return _resolve_by_key(step, result)
    if signal in RETRYABLE:
        if state.counters.retries >= guards.max_retries:
            return Refinement(
                "abort", f"the run used all {guards.max_retries} retries", stop_reason="max_retries"
            )
        if attempt <= guards.max_retries_per_step:
            retry_after = result.error.retry_after if result.error else None
            wait = backoff_seconds(state, step.id, attempt, retry_after)
            why = f"{signal} on attempt {attempt}; retry {attempt} of {guards.max_retries_per_step} after {wait} s"
            if retry_after is not None:
                capped = retry_after > get_settings().backoff_max_seconds
                why += (
                    f" (Retry-After {retry_after:g} s, capped at MAOO_BACKOFF_MAX_SECONDS)"
                    if capped
                    else f" (Retry-After {retry_after:g} s honoured)"
                )
            return Refinement("retry", why, wait_seconds=wait)
        if has_alternative:
            return Refinement("replan", f"{step.id} failed {attempt} times ({signal}); replanning around it")
        return Refinement(
            "abort",
            f"{step.id} failed {attempt} times ({signal}) and has no alternative route",
            stop_reason="max_retries",
        )
    if signal in REPLANNABLE and has_alternative:
        return Refinement("replan", f"{signal} from {step.tool}; replanning to another route")
    message = result.error.message if result.error else signal
    rule = result.error.details.get("rule") if result.error else None
    why = f"{signal} from {step.tool} cannot be recovered: {message}" + (f" [rule {rule}]" if rule else "")
    return Refinement("abort", why, stop_reason=STOP_REASON_FOR_SIGNAL.get(signal, "tool_failed"))


def held_elsewhere(result: ToolResult) -> bool:
    """The call was not made: another live invocation holds its idempotency record (in progress)
    until a known time. (A hold with no end, as without a Lambda context, is retried as a failure.)"""
    error = result.error
    return (
        error is not None
        and error.details.get("rule") == "idempotency.in_progress"
        and error.retry_after is not None
    )


def _resolve_by_key(step: Step, result: ToolResult) -> Refinement:
    """A call held by another live invocation: its outcome is resolved by calling again with the same
    key once that invocation's hold expires (``retry_after``).

    Not a retry of a failure: it does not spend the run's retries (the deadline guard bounds the
    wait), so a call in another's hands never ends ``max_retries``.
    """
    wait = int(math.ceil(result.error.retry_after or 0)) if result.error else 0
    why = f"{step.tool}'s outcome is unknown; it is called again with the same idempotency key"
    return Refinement("retry", why + (f" after {wait} s, when the hold on it expires" if wait else ""), wait)
