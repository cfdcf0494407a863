"""The execution layer's states: NextStep, Observe and Finalize.

Each takes the ``RunState`` and returns the next one; the state machine does the looping. Nothing
here sleeps or loops over tool calls: a retry is the Backoff Wait state, a replan is the Plan state.
"""

from __future__ import annotations

import hashlib
import json
import operator
from typing import Any

from chalicelib.contracts import Replan, RunState, Step, StepRecord, ToolCall, ToolError, ToolResult
from chalicelib.execution import guards as guard_rules
from chalicelib.execution.monitor import classify
from chalicelib.execution.patching import propose_patch
from chalicelib.execution.refinement import Refinement, decide
from chalicelib.execution.refs import UnresolvedReferenceError, lookup, resolve
from chalicelib.largevalues import by_reference
from chalicelib.memory.events import record_event
from chalicelib.memory.longterm import remember_run
from chalicelib.memory.store import get_run_store
from chalicelib.observability import emit_metrics
from chalicelib.planning.critic import check_result
from chalicelib.planning.planner import NoRouteError, make_plan
from chalicelib.tools import summarize as summarize_tool
from chalicelib.tools.registry import cost_of, side_effect_of

BLOB_KEY = "$blob"
_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
# stop reasons that mean "a guard or the policy ended the run"; any other ends it as failed
STOPPED_REASONS = frozenset({
    "max_steps", "max_retries", "budget", "deadline", "non_progress", "policy_denied", "unsupported_request",
    "ambiguous_request", "invalid_plan", "critic_rejected", "unsafe_retry", "no_route", "llm_token_budget",
})


def _stop(state: RunState, reason: str, detail: str, where: str) -> RunState:
    record_event(state.run_id, "stop", where, reason=reason, detail=detail)
    return state.model_copy(update={
        "status": "stopped" if reason in STOPPED_REASONS else "failed",
        "stop_reason": reason, "stop_detail": detail, "route": "finish", "call": None,
    })


def result_value(state: RunState, step_id: str) -> Any:
    """A step's result, loading it from the run store when it was too large for the state."""
    value = state.results[step_id]
    if isinstance(value, dict) and BLOB_KEY in value:
        return get_run_store().get_blob(value[BLOB_KEY])
    return value


def _get(state: RunState):
    def get(step: str, path: str) -> Any:
        if step not in state.results:
            raise UnresolvedReferenceError(f"{{{{{step}{path}}}}}: step {step} has no result")
        return lookup({step: result_value(state, step)}, step, path)
    return get


def _idempotency_key(run_id: str, step_id: str, args: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{run_id}:{step_id}:{digest}"


def _ready(state: RunState) -> Step | None:
    done = set(state.results) | set(state.skipped)
    for step in state.plan.steps if state.plan else []:
        if step.id not in done and all(dep in done for dep in step.depends_on):
            return step
    return None


def next_step(state: RunState) -> RunState:
    """Pick the next ready step, enforce the guards, resolve references, and route to its tool."""
    if state.status != "running":
        return state.model_copy(update={"route": "finish", "call": None})
    while (step := _ready(state)) is not None:
        skipped_dep = next((dep for dep in step.depends_on if dep in state.skipped), None)
        if skipped_dep:
            record_event(state.run_id, "skip", "NextStep", step_id=step.id, reason=f"depends on skipped {skipped_dep}")
            state = state.model_copy(update={"skipped": [*state.skipped, step.id]})
            continue
        if step.when is not None:
            try:
                subject = step.when.subject
                actual = _get(state)(subject.split(".")[0], subject[len(subject.split(".")[0]):])
                holds = _COMPARE[step.when.op](float(actual), step.when.value)
            except (UnresolvedReferenceError, TypeError, ValueError) as exc:
                return _stop(state, "unresolved_reference", f"{step.id}: condition cannot be evaluated: {exc}", "NextStep")
            record_event(state.run_id, "condition", "NextStep", step_id=step.id, subject=subject, actual=actual,
                         op=step.when.op, value=step.when.value, holds=holds)
            if not holds:
                state = state.model_copy(update={"skipped": [*state.skipped, step.id]})
                continue
        break
    if step is None:
        return state.model_copy(update={"route": "finish", "call": None})

    try:
        args = resolve(step.args, _get(state))
    except UnresolvedReferenceError as exc:
        return _stop(state, "unresolved_reference", f"{step.id}: {exc}", "NextStep")
    fp = guard_rules.fingerprint(step.tool, args)
    if blocked := guard_rules.check_guards(state, step.tool, cost_of(step.tool), fp):
        return _stop(state, *blocked, "NextStep")
    attempt = state.attempts.get(step.id, 0) + 1
    key = _idempotency_key(state.run_id, step.id, args) if side_effect_of(step.tool, args) != "read" else None
    sent = by_reference(args, state.run_id)  # a large value goes to the run store; the call carries its reference
    call = ToolCall(run_id=state.run_id, step_id=step.id, tool=step.tool, args=sent, attempt=attempt, idempotency_key=key)
    record_event(state.run_id, "tool_call", "NextStep", step_id=step.id, tool=step.tool, args=sent, attempt=attempt,
                 idempotency_key=key)
    return state.model_copy(update={"route": "call", "call": call, "decision": None, "wait_seconds": 0})


def _has_alternative(state: RunState, step: Step) -> bool:
    if state.perception is None:
        return False
    try:
        make_plan(state.perception, set(state.avoid) | {step.id})
    except NoRouteError:
        return False
    return True


def _tool_result(state: RunState) -> ToolResult:
    if state.outcome is not None:
        return state.outcome.result
    crash = state.tool_crash or {}
    return ToolResult(ok=False, tool=state.call.tool if state.call else "unknown",
                      error=ToolError(kind="crash", message=f"{crash.get('Error', 'error')}: {str(crash.get('Cause', ''))[:500]}"))


def observe(state: RunState) -> RunState:
    """Monitor the tool's outcome, then let the refinement engine decide what happens next."""
    call = state.call
    if call is None or state.plan is None:
        return _stop(state, "invalid_state", "Observe ran without a pending call", "Observe")
    step = next(s for s in state.plan.steps if s.id == call.step_id)
    cost = cost_of(call.tool)
    result = _tool_result(state)
    signal, evidence = classify(result)
    patch = propose_patch(state.plan, step, signal, result) if step.id not in state.patched else None
    refinement = decide(state, step, side_effect_of(call.tool, call.args), signal, result, call.attempt,
                        has_alternative=signal != "ok" and _has_alternative(state, step),
                        patch=patch.description if patch else None)
    fp = guard_rules.fingerprint(call.tool, call.args)
    failures = guard_rules.note_outcome(state, fp, signal)
    if refinement.decision == "retry":
        # a retry that a guard would refuse is not scheduled: stop now rather than after a pointless wait
        after = state.model_copy(update={"failures": failures, "counters": state.counters.model_copy(update={
            "tool_calls": state.counters.tool_calls + 1, "cost": state.counters.cost + cost})})
        if blocked := guard_rules.check_guards(after, call.tool, cost, fp, refinement.wait_seconds):
            refinement = Refinement("abort", f"no retry: {blocked[1]}", stop_reason=blocked[0])
    counters = state.counters.model_copy(update={
        "tool_calls": state.counters.tool_calls + 1,
        "cost": state.counters.cost + cost,
        "retries": state.counters.retries + (refinement.decision == "retry"),
        "replans": state.counters.replans + (refinement.decision == "replan"),
        "patches": state.counters.patches + (refinement.decision == "patch_args"),
    })
    preview = result.output if result.output_ref is None else {"preview": result.output}
    record = StepRecord(step_id=step.id, tool=call.tool, args=call.args, attempt=call.attempt, ok=result.ok, signal=signal,
                        decision=refinement.decision, reason=refinement.reason, latency_ms=result.latency_ms,
                        output_preview=_preview(preview), output_ref=result.output_ref, error=result.error,
                        wait_seconds=refinement.wait_seconds)
    record_event(state.run_id, "observation", "Observe", step_id=step.id, tool=call.tool, attempt=call.attempt,
                 ok=result.ok, signal=signal, evidence=evidence, latency_ms=result.latency_ms)
    record_event(state.run_id, "decision", "Observe", step_id=step.id, decision=refinement.decision, reason=refinement.reason,
                 wait_seconds=refinement.wait_seconds)
    update: dict[str, Any] = {
        "outcome": None, "tool_crash": None, "counters": counters, "steps": [*state.steps, record],
        "attempts": {**state.attempts, step.id: call.attempt}, "failures": failures,
        "decision": refinement.decision, "wait_seconds": refinement.wait_seconds,
    }
    if result.ok:
        stored = {BLOB_KEY: result.output_ref} if result.output_ref else result.output
        update["results"] = {**state.results, step.id: stored}
    if refinement.decision == "patch_args" and patch is not None:
        update["plan"] = patch.plan
        update["patched"] = [*state.patched, step.id]
        record_event(state.run_id, "patch", "Observe", step_id=step.id, description=patch.description,
                     args=next(s.args for s in patch.plan.steps if s.id == step.id))
    if refinement.decision == "replan":
        update["avoid"] = [*state.avoid, step.id]
        update["replan"] = Replan(step_id=step.id, tool=call.tool, signal=signal, reason=refinement.reason, avoid=update["avoid"])
    new_state = state.model_copy(update=update)
    emit_metrics({"ToolCalls": 1, "ToolFailures": int(not result.ok), "Retries": int(refinement.decision == "retry"),
                  "Replans": int(refinement.decision == "replan"), "Patches": int(refinement.decision == "patch_args")},
                 tool=call.tool)
    if refinement.decision == "abort":
        return _stop(new_state, refinement.stop_reason or "tool_failed", refinement.reason, "Observe").model_copy(update={"decision": "abort"})
    return new_state


def _preview(value: Any, limit: int = 400) -> Any:
    text = json.dumps(value, default=str)
    return value if len(text) <= limit else text[:limit] + "..."


def final_output(state: RunState) -> str:
    """The answer a user reads: the last summary, else a summary of every result."""
    if state.status in ("stopped", "failed"):
        return f"{state.status.capitalize()}: {state.stop_reason}. {state.stop_detail}".strip()
    for step in reversed(state.plan.steps if state.plan else []):
        if step.tool == "summarize" and step.id in state.results:
            return str(result_value(state, step.id).get("summary", ""))
    values = [result_value(state, sid) for sid in state.results]
    if not values:
        return "Nothing was done."
    return summarize_tool.summarize(values) + (f" Skipped: {', '.join(state.skipped)}." if state.skipped else "")


def finalize(state: RunState) -> RunState:
    """Close the run: its status, its final output, the check of its success criteria, and what
    long-term memory keeps of it. The runner then stores the run document and exports the trace."""
    update: dict[str, Any] = {"route": None, "call": None}
    if state.crash is not None:
        update.update(status="failed", stop_reason="crash",
                      stop_detail=f"{state.crash.get('Error', 'error')}: {str(state.crash.get('Cause', ''))[:500]}")
    elif state.status == "running":
        update["status"] = "succeeded"
        if unmet := check_result(state):  # the critic, again, against what actually ran: never a success that missed a criterion
            update.update(status="failed", stop_reason="criteria_unmet",
                          stop_detail="The run did not do all it was asked: " + "; ".join(unmet) + ".")
    state = state.model_copy(update=update)
    state = state.model_copy(update={"final_output": final_output(state)})
    emit_metrics({"Runs": 1, f"Runs{state.status.capitalize()}": 1})
    if state.stop_reason:
        emit_metrics({"Stops": 1}, stop_reason=state.stop_reason)
    record_event(state.run_id, "criteria", "Finalize", unmet=check_result(state))
    remember_run(state)
    record_event(state.run_id, "finalize", "Finalize", status=state.status, stop_reason=state.stop_reason,
                 final_output=state.final_output, counters=state.counters.model_dump())
    return state
