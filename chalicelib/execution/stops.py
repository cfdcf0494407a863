"""How a run stops: the reason names the guard or rule, and decides ``stopped`` against ``failed``."""

from __future__ import annotations

from chalicelib.contracts import RunState
from chalicelib.journal import journal_event

# stop reasons that mean "a guard, the policy or a person ended the run"; any other ends it as failed
STOPPED_REASONS = frozenset(
    {
        "max_steps",
        "max_retries",
        "budget",
        "deadline",
        "non_progress",
        "policy_denied",
        "unsupported_request",
        "ambiguous_request",
        "invalid_plan",
        "critic_rejected",
        "unsafe_retry",
        "no_route",
        "llm_token_budget",
        "rejected",
        "approval_expired",
    }
)


def stop(state: RunState, reason: str, detail: str, where: str) -> RunState:
    """``state`` ended with ``reason``: routed to Finalize, with no call pending."""
    journal_event("stop", where, reason=reason, detail=detail)
    return state.model_copy(
        update={
            "status": "stopped" if reason in STOPPED_REASONS else "failed",
            "stop_reason": reason,
            "stop_detail": detail,
            "route": "finish",
            "call": None,
            "pending_approval": None,
        }
    )
