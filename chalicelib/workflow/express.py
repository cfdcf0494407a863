"""How an Express execution ended, read from the run store: Express keeps no history of its own.

AWS answers neither ``DescribeExecution`` nor ``GetExecutionHistory`` for an Express state
machine, so the runner never asks (on any engine, so that the embedded engine behaves as AWS
does). What says a run ended is MAOO's own record: the checkpoint every Task state writes. The
execution has ended when its last checkpoint is Finalize's (next state ``Done``), or NextStep's
holding a write for a person (the machine's ``AwaitingApproval`` end). Only checkpoints written
since this execution started count, so an approval's or a resume's new execution is not taken
for the one before it. An execution that ends elsewhere (one of the machine's ``Fail`` states,
or Express's 5-minute cap) writes no such checkpoint: its run's owner lease runs out and the run
reads ``interrupted`` at its last checkpoint, from which ``resume`` continues it as a new
execution, as after any crash. A runner waiting for it takes it as ended when the engine says so
(the embedded engine), or after ``SILENCE_SECONDS`` without a checkpoint (LocalStack, AWS).
"""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.memory.store import get_run_store

EXPRESS_CAP_SECONDS = 300.0  # an Express execution runs at most 5 minutes
DEADLINE_MAX_EXPRESS = 280.0  # a run's deadline guard on Express: under the cap, with room for Finalize
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
    if last.get("next_state") == "Done" or held:
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
