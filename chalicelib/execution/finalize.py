"""The Finalize state: the run's status, its final output and the check of its success criteria.

What long-term memory keeps of the run is written by the handler adapter, not here: this state
only computes (``chalicelib.handlers``).
"""

from __future__ import annotations

from typing import Any

from chalicelib.contracts import RunState
from chalicelib.journal import journal_event, journal_metrics
from chalicelib.planning.critic import check_result
from chalicelib.step_results import result_value
from chalicelib.tools import summarize as summarize_tool


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
    return summarize_tool.summarize(values) + (
        f" Skipped: {', '.join(state.skipped)}." if state.skipped else ""
    )


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
    elif state.status == "running":
        update["status"] = "succeeded"
        if unmet := check_result(
            state
        ):  # the critic, again, against what actually ran: never a success that missed a criterion
            update.update(
                status="failed",
                stop_reason="criteria_unmet",
                stop_detail="The run did not do all it was asked: " + "; ".join(unmet) + ".",
            )
    state = state.model_copy(update=update)
    state = state.model_copy(update={"final_output": final_output(state)})
    journal_metrics({"Runs": 1, f"Runs{state.status.capitalize()}": 1})
    if state.stop_reason:
        journal_metrics({"Stops": 1}, stop_reason=state.stop_reason)
    journal_event("criteria", "Finalize", unmet=check_result(state))
    journal_event(
        "finalize",
        "Finalize",
        status=state.status,
        stop_reason=state.stop_reason,
        final_output=state.final_output,
        counters=state.counters.model_dump(),
    )
    return state
