"""The Finalize state: the run's status, its final output and the check of every clause.

The check is ``postconditions.unmet`` (one postcondition per sub-task, against what ran); the final
output is ``answer.answer_for`` (sentences built from the sub-tasks and the results).

What long-term memory keeps of the run is written by the handler adapter, not here: this state
only computes (``chalicelib.handlers``).
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.contracts import RunState
from chalicelib.execution import answer, postconditions
from chalicelib.journal import journal_event, journal_metrics


def final_output(state: RunState) -> str:
    """The answer a user reads: the request answered in sentences; a run that stopped or failed says
    why instead (``Stopped: reason. detail``)."""
    if state.status in ("stopped", "failed"):
        return f"{state.status.capitalize()}: {state.stop_reason}. {state.stop_detail}".strip()
    return answer.sentence_for(state)


def _dry_run(state: RunState) -> bool:
    return bool(state.perception and state.perception.constraints.dry_run and state.plan and not state.steps)


def dry_run_output(state: RunState) -> str:
    """A dry run's answer: the checked plan, step by step, and that nothing was run."""
    assert state.plan is not None
    lines = [
        f"{step.id}. {step.tool} {json.dumps(step.args, sort_keys=True)}"
        + (f" (only if {step.when.subject} {step.when.op} {step.when.value})" if step.when else "")
        for step in state.plan.steps
        if step.alternative_of is None
    ]
    return "Dry run: nothing was called or written. The plan MAOO checked and would run:\n" + "\n".join(lines)


def finalize(state: RunState) -> RunState:
    """Close the run: its status, its final output, the check of its success criteria, and what
    long-term memory keeps of it (the adapter writes that). The runner then stores the run document and
    exports the trace."""
    update: dict[str, Any] = {"route": None, "call": None}
    if state.crash is not None:
        update.update(
            status="failed",
            stop_reason="crash",
            stop_detail=f"{state.crash.get('Error', 'error')}: {str(state.crash.get('Cause', ''))[:500]}",
        )
    elif state.status == "running" and _dry_run(state):
        update["status"] = "succeeded"  # what was asked: the plan, checked, and nothing run
    elif state.status == "running":
        update["status"] = "succeeded"
        if unmet := postconditions.unmet(state):  # never a success that missed a clause
            update.update(
                status="failed",
                stop_reason="criteria_unmet",
                stop_detail="The run did not do all it was asked: " + "; ".join(unmet) + ".",
            )
    state = state.model_copy(update=update)
    if _dry_run(state) and state.status == "succeeded":
        state = state.model_copy(update={"final_output": dry_run_output(state)})
        built = None
    else:
        built = answer.answer_for(state) if state.status == "succeeded" else None
    if not _dry_run(state) or state.status != "succeeded":
        state = state.model_copy(
            update={
                "final_output": built.sentence if built else final_output(state),
                "answer": built.as_dict() if built else None,
            }
        )
    journal_metrics({"Runs": 1, f"Runs{state.status.capitalize()}": 1})
    if state.stop_reason:
        journal_metrics({"Stops": 1}, stop_reason=state.stop_reason)
    journal_event("criteria", "Finalize", unmet=postconditions.unmet(state))
    journal_event(
        "finalize",
        "Finalize",
        status=state.status,
        stop_reason=state.stop_reason,
        final_output=state.final_output,
        counters=state.counters.model_dump(),
    )
    return state
