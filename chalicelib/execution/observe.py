"""The Observe state: monitor the tool's outcome, then let the refinement engine decide.

Nothing here sleeps or loops over tool calls: a retry is the Backoff Wait state, a replan is the
Plan state.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.contracts import Replan, RunState, Step, StepRecord, ToolError, ToolResult
from chalicelib.execution import guards as guard_rules
from chalicelib.execution.monitor import classify
from chalicelib.execution.patching import propose_patch
from chalicelib.execution.refinement import Refinement, decide, held_elsewhere
from chalicelib.execution.stops import stop
from chalicelib.journal import journal_event, journal_metrics
from chalicelib.largevalues import BLOB_KEY
from chalicelib.planning.planner import NoRouteError, make_plan
from chalicelib.tools.registry import cost_of, side_effect_of


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
    return ToolResult(
        ok=False,
        tool=state.call.tool if state.call else "unknown",
        error=ToolError(
            kind="crash", message=f"{crash.get('Error', 'error')}: {str(crash.get('Cause', ''))[:500]}"
        ),
    )


def observe(state: RunState) -> RunState:
    """Monitor the tool's outcome, then let the refinement engine decide what happens next."""
    call = state.call
    if call is None or state.plan is None:
        return stop(state, "invalid_state", "Observe ran without a pending call", "Observe")
    step = next(s for s in state.plan.steps if s.id == call.step_id)
    cost = cost_of(call.tool)
    result = _tool_result(state)
    signal, evidence = classify(result)
    patch = propose_patch(state.plan, step, signal, result) if step.id not in state.patched else None
    refinement = decide(
        state,
        step,
        side_effect_of(call.tool, call.args),
        signal,
        result,
        call.attempt,
        has_alternative=signal != "ok" and _has_alternative(state, step),
        patch=patch.description if patch else None,
    )
    fp = guard_rules.fingerprint(call.tool, call.args)
    failures = guard_rules.note_outcome(state, fp, signal)
    if refinement.decision == "retry":
        # a retry that a guard would refuse is not scheduled: stop now rather than after a pointless wait
        after = state.model_copy(
            update={
                "failures": failures,
                "counters": state.counters.model_copy(
                    update={"tool_calls": state.counters.tool_calls + 1, "cost": state.counters.cost + cost}
                ),
            }
        )
        if blocked := guard_rules.check_guards(after, call.tool, cost, fp, refinement.wait_seconds):
            refinement = Refinement("abort", f"no retry: {blocked[1]}", stop_reason=blocked[0])
    counters = state.counters.model_copy(
        update={
            "tool_calls": state.counters.tool_calls + 1,
            "cost": state.counters.cost + cost,
            # waiting out another invocation's hold is not a retry of a failure (refinement.held_elsewhere)
            "retries": state.counters.retries
            + (refinement.decision == "retry" and not held_elsewhere(result)),
            "replans": state.counters.replans + (refinement.decision == "replan"),
            "patches": state.counters.patches + (refinement.decision == "patch_args"),
        }
    )
    preview = result.output if result.output_ref is None else {"preview": result.output}
    record = StepRecord(
        step_id=step.id,
        tool=call.tool,
        args=call.args,
        attempt=call.attempt,
        ok=result.ok,
        signal=signal,
        decision=refinement.decision,
        reason=refinement.reason,
        latency_ms=result.latency_ms,
        output_preview=_preview(preview),
        output_ref=result.output_ref,
        error=result.error,
        wait_seconds=refinement.wait_seconds,
    )
    journal_event(
        "observation",
        "Observe",
        step_id=step.id,
        tool=call.tool,
        attempt=call.attempt,
        ok=result.ok,
        signal=signal,
        evidence=evidence,
        latency_ms=result.latency_ms,
    )
    journal_event(
        "decision",
        "Observe",
        step_id=step.id,
        decision=refinement.decision,
        reason=refinement.reason,
        wait_seconds=refinement.wait_seconds,
    )
    update: dict[str, Any] = {
        "outcome": None,
        "tool_crash": None,
        "counters": counters,
        "steps": [*state.steps, record],
        "attempts": {**state.attempts, step.id: call.attempt},
        "failures": failures,
        "decision": refinement.decision,
        "wait_seconds": refinement.wait_seconds,
    }
    if result.ok:
        stored = {BLOB_KEY: result.output_ref} if result.output_ref else result.output
        update["results"] = {**state.results, step.id: stored}
    if refinement.decision == "patch_args" and patch is not None:
        update["plan"] = patch.plan
        update["patched"] = [*state.patched, step.id]
        journal_event(
            "patch",
            "Observe",
            step_id=step.id,
            description=patch.description,
            args=next(s.args for s in patch.plan.steps if s.id == step.id),
        )
    if refinement.decision == "replan":
        update["avoid"] = [*state.avoid, step.id]
        update["replan"] = Replan(
            step_id=step.id, tool=call.tool, signal=signal, reason=refinement.reason, avoid=update["avoid"]
        )
    new_state = state.model_copy(update=update)
    journal_metrics(
        {
            "ToolCalls": 1,
            "ToolFailures": int(not result.ok),
            "Retries": int(refinement.decision == "retry"),
            "Replans": int(refinement.decision == "replan"),
            "Patches": int(refinement.decision == "patch_args"),
        },
        tool=call.tool,
    )
    if refinement.decision == "abort":
        return stop(
            new_state, refinement.stop_reason or "tool_failed", refinement.reason, "Observe"
        ).model_copy(update={"decision": "abort"})
    return new_state


def _preview(value: Any, limit: int = 400) -> Any:
    text = json.dumps(value, default=str)
    return value if len(text) <= limit else text[:limit] + "..."
