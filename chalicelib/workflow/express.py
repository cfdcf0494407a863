"""How an Express execution ended, read from the run store: Express keeps no history of its own.

AWS answers neither ``DescribeExecution`` nor ``GetExecutionHistory`` for an Express state
machine, so the runner never asks (on any engine, so that the embedded engine behaves as AWS
does). What says a run ended is MAOO's own record: the checkpoint every Task state writes. The
execution has ended when its last checkpoint is Finalize's (next state ``Done``), NextStep's
holding a write for a person (the machine's ``AwaitingApproval`` end), or NextStep's at the end of
its slice of time (``ContinueAsNew``). Only checkpoints written
since this execution started count, so an approval's or a resume's new execution is not taken
for the one before it. An execution that ends elsewhere (one of the machine's ``Fail`` states,
or the 5-minute cap all the same) writes no such checkpoint: its run's owner lease runs out and the run
reads ``interrupted`` at its last checkpoint, from which ``resume`` continues it as a new
execution, as after any crash. A runner waiting for it takes it as ended when the engine says so
(the embedded engine), or after ``SILENCE_SECONDS`` without a checkpoint (LocalStack, AWS).

A run longer than one execution may last does not meet the cap: every execution on Express gets a
slice of time (``sliced``), NextStep ends the execution at its checkpoint once the slice is over
(``chalicelib.execution.continuation``), and the runner goes on from there in a new execution of
the same run (``continued``), until the run ends.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.config import Settings
from chalicelib.contracts import ExpressSlice, RunState
from chalicelib.execution import continuation
from chalicelib.memory.store import get_run_store

EXPRESS_CAP_SECONDS = 300.0  # an Express execution runs at most 5 minutes
SILENCE_SECONDS = 120.0  # no checkpoint for this long: a waiting runner takes the execution as ended
_RESUMED = re.compile(r"-r\d+$")  # a resumed execution's name: "<run id>-r<n>"


def run_of(execution_arn: str) -> str:
    """The run an execution belongs to (its name, without a resume's ``-r<n>``)."""
    return _RESUMED.sub("", execution_arn.rsplit(":", 1)[-1])


def describe(execution_arn: str) -> dict[str, Any]:
    """What ``DescribeExecution`` would answer, from the run's checkpoints: ``SUCCEEDED`` with the
    final state as ``output`` once the run reached one of its ends, else ``RUNNING``."""
    from chalicelib.durable import checkpoints

    run_id = run_of(execution_arn)
    document = get_run_store().get_run(run_id) or {}
    since = document.get("execution_started_at") if document.get("execution_arn") == execution_arn else None
    last, _ = checkpoints.latest(run_id)
    running: dict[str, Any] = {"executionArn": execution_arn, "status": "RUNNING"}
    if last is None or (since is not None and float(last.get("ts") or 0) < float(since)):
        return {**running, "checkpointedAt": since}
    running["checkpointedAt"] = float(last.get("ts") or 0)
    state = last["document"]
    held = state.get("status") == "awaiting_approval" and state.get("pending_approval")
    if last.get("next_state") == "Done" or held or state.get("route") == "continue":
        return {"executionArn": execution_arn, "status": "SUCCEEDED", "output": json.dumps(state)}
    return running


def ended_elsewhere(execution_arn: str) -> dict[str, Any]:
    """The answer for an Express execution the engine says has ended without reaching an end the
    run store records (a ``Fail`` state): what is known, and where to look."""
    return {
        "executionArn": execution_arn,
        "status": "FAILED",
        "error": "States.ExpressEnded",
        "cause": "the Express execution ended before Finalize checkpointed the run (Express keeps no "
        "history: the run's checkpoints and trace events are its record)",
    }


def sliced(state: RunState, settings: Settings) -> RunState:
    """``state`` as a new execution starts it: on Express, with this execution's slice of time (the
    continuations counted so far kept); on Standard, with none."""
    if settings.workflow_type != "express":
        return state if state.express_slice is None else state.model_copy(update={"express_slice": None})
    before = state.express_slice.continuations if state.express_slice is not None else 0
    part = ExpressSlice(ends_at=continuation.clock() + settings.express_slice_seconds, continuations=before)
    return state.model_copy(update={"express_slice": part})


def continued(output: dict[str, Any] | None) -> RunState | None:
    """The state the run goes on from in a new execution, when an execution ended at the end of its
    slice (``ContinueAsNew``); ``None`` when it ended otherwise."""
    if not output or output.get("route") != "continue":
        return None
    return going_on(RunState.model_validate(output))


def going_on(state: RunState) -> RunState:
    """A run checkpointed at ``ContinueAsNew``, as its next execution starts it: at NextStep, which
    has not yet routed the call it picks again, one continuation more."""
    part = state.express_slice
    counted = part.model_copy(update={"continuations": part.continuations + 1}) if part is not None else None
    return state.model_copy(update={"route": None, "resume_at": "NextStep", "express_slice": counted})
