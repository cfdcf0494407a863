"""The NextStep state: pick the next ready step, enforce the guards, resolve references, route.

It takes the ``RunState`` and returns the next one; the state machine does the looping. With the
approval policy ``writes``, a write that no one has approved yet is not routed to its tool: the run
is routed to ``AwaitingApproval`` with the call it holds, and ends there until a person decides.
"""

from __future__ import annotations

import hashlib
import json
import operator
import time
from collections.abc import Callable
from typing import Any

from chalicelib.contracts import ApprovalRequest, RunState, Step, ToolCall
from chalicelib.execution import guards as guard_rules
from chalicelib.execution.answer import sentence_for
from chalicelib.execution.continuation import at_slice_end
from chalicelib.execution.stops import stop
from chalicelib.journal import journal_event
from chalicelib.largevalues import by_reference
from chalicelib.references import ANSWER_REF, UnresolvedReferenceError, lookup, resolve
from chalicelib.step_results import result_value, task_index
from chalicelib.tools.registry import cost_of, side_effect_of

_COMPARE = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def _get(state: RunState, upto: int | None = None) -> Callable[[str, str], Any]:
    """Reads references to earlier results; ``{{answer}}`` is the answer over sub-tasks ``[0, upto)``."""

    def get(step: str, path: str) -> Any:
        if step == ANSWER_REF and not path:
            return sentence_for(state, upto)
        if step not in state.results:
            raise UnresolvedReferenceError(f"{{{{{step}{path}}}}}: step {step} has no result")
        return lookup({step: result_value(state, step)}, step, path)

    return get


def idempotency_key(run_id: str, step_id: str, args: dict[str, Any]) -> str:
    """Run id + step id + a hash of the arguments: the same on a retry and on a resume of the run."""
    digest = hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{run_id}:{step_id}:{digest}"


def _ready(state: RunState) -> Step | None:
    done = set(state.results) | set(state.skipped)
    for step in state.plan.steps if state.plan else []:
        if step.id not in done and all(dep in done for dep in step.depends_on):
            return step
    return None


def _next_runnable(state: RunState) -> tuple[RunState, Step | None]:
    """Skip the steps whose dependency was skipped or whose condition does not hold."""
    while (step := _ready(state)) is not None:
        skipped_dep = next((dep for dep in step.depends_on if dep in state.skipped), None)
        if skipped_dep:
            journal_event("skip", "NextStep", step_id=step.id, reason=f"depends on skipped {skipped_dep}")
            state = state.model_copy(update={"skipped": [*state.skipped, step.id]})
            continue
        if step.when is not None:
            subject = step.when.subject
            head = subject.split(".")[0]
            try:
                actual = _get(state)(head, subject[len(head) :])
                holds = _COMPARE[step.when.op](float(actual), step.when.value)
            except (UnresolvedReferenceError, TypeError, ValueError) as exc:
                raise UnresolvedReferenceError(f"{step.id}: condition cannot be evaluated: {exc}") from None
            journal_event(
                "condition",
                "NextStep",
                step_id=step.id,
                subject=subject,
                actual=actual,
                op=step.when.op,
                value=step.when.value,
                holds=holds,
            )
            if not holds:
                state = state.model_copy(update={"skipped": [*state.skipped, step.id]})
                continue
        return state, step
    return state, None


def _hold_for_approval(state: RunState, call: ToolCall, side_effect: str) -> RunState:
    request = ApprovalRequest(
        step_id=call.step_id,
        tool=call.tool,
        args=call.args,
        side_effect=side_effect,  # type: ignore[arg-type]
        idempotency_key=call.idempotency_key,
        requested_at=time.time(),
        reason=f"{call.tool} is a {side_effect} tool and this run asked for approval of every write "
        "(--approve writes)",
    )
    journal_event(
        "approval_requested",
        "NextStep",
        step_id=call.step_id,
        tool=call.tool,
        args=call.args,
        side_effect=side_effect,
        reason=request.reason,
    )
    return state.model_copy(
        update={
            "route": "await_approval",
            "status": "awaiting_approval",
            "call": call,
            "pending_approval": request,
            "decision": None,
            "wait_seconds": 0,
            "final_output": f"Waiting for approval of step {call.step_id} ({call.tool}, {side_effect}).",
        }
    )


def next_step(state: RunState) -> RunState:
    """Pick the next ready step, enforce the guards, resolve references, and route to its tool."""
    if state.status != "running":
        return state.model_copy(update={"route": "finish", "call": None})
    try:
        state, step = _next_runnable(state)
    except UnresolvedReferenceError as exc:
        return stop(state, "unresolved_reference", str(exc), "NextStep")
    if step is None:
        return state.model_copy(update={"route": "finish", "call": None})

    try:
        args = resolve(step.args, _get(state, task_index(step)))
    except UnresolvedReferenceError as exc:
        return stop(state, "unresolved_reference", f"{step.id}: {exc}", "NextStep")
    fp = guard_rules.fingerprint(step.tool, args)
    if blocked := guard_rules.check_guards(state, step.tool, cost_of(step.tool), fp):
        return stop(state, *blocked, "NextStep")
    if (paused := at_slice_end(state)) is not None:  # Express: go on in a new execution, call not made
        return paused
    attempt = state.attempts.get(step.id, 0) + 1
    side_effect = side_effect_of(step.tool, args)
    key = idempotency_key(state.run_id, step.id, args) if side_effect != "read" else None
    sent = by_reference(
        args, state.run_id
    )  # a large value goes to the run store; the call carries its reference
    call = ToolCall(
        run_id=state.run_id,
        step_id=step.id,
        tool=step.tool,
        args=sent,
        attempt=attempt,
        idempotency_key=key,
        # a person's approval takes the call over: one held because it was in flight is sent again
        replay=f"{step.id}:{step.tool}" in state.approved,
        deadline_at=state.started_at + state.guards.deadline_seconds,
    )
    if state.approve == "writes" and side_effect != "read" and f"{step.id}:{step.tool}" not in state.approved:
        return _hold_for_approval(state, call, side_effect)
    journal_event(
        "tool_call",
        "NextStep",
        step_id=step.id,
        tool=step.tool,
        args=sent,
        attempt=attempt,
        idempotency_key=key,
    )
    return state.model_copy(update={"route": "call", "call": call, "decision": None, "wait_seconds": 0})
