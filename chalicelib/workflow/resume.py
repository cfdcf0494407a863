"""Resume a run from its last checkpoint, and act on a person's approval decision.

Each is a new execution of the same state machine under the same run id, named ``RUN_ID-r1``,
``-r2``, ...; its input is the last checkpoint with ``resume_at`` set, and the definition's entry
Choice (``ResumeAt``) sends it to the state that checkpoint was saved before. So a resume shows in
the execution history, and works the same on every engine.

- A finished step is never run again: its result is in the checkpoint.
- A tool call in flight at the crash runs again with the same idempotency key (a
  ``write-idempotent`` call is applied once): the resume took the run over, so the call is a
  replay, and an idempotency record the gone owner left in progress does not block it; a tool that
  finished but whose result had not reached Observe is not called again (its result was
  checkpointed by the tool's handler). See docs/crash-recovery.md.
- A plain ``write`` in flight at the crash is never repeated blindly: the run stops with
  ``unsafe_retry``, naming the step.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.config import Settings, origin_of
from chalicelib.contracts import ApprovalRequest, RunState, ToolOutcome, ToolResult
from chalicelib.durable import checkpoints
from chalicelib.errors import BadRequestError, ConfigError, ResumeRefusedError
from chalicelib.execution.stops import stop
from chalicelib.memory.events import record_event, record_step
from chalicelib.memory.records import Checkpoint, record_of
from chalicelib.memory.store import get_run_store
from chalicelib.workflow.express import going_on
from chalicelib.workflow.runs import execute, let_go_on_store_failure, next_execution_name
from chalicelib.workflow.sfn_runner import WorkflowRunner

ENDED = ("succeeded", "failed", "stopped")


def _document(run_id: str) -> dict[str, Any]:
    document = get_run_store().get_run(run_id)
    if document is None:
        raise BadRequestError(f"no run {run_id!r}; list runs with `python -m cli runs`")
    return document


def _refuse_unless_interrupted(document: dict[str, Any]) -> None:
    record = record_of(document)
    run_id, status = record.run_id, record.status
    if status in ENDED:
        raise ResumeRefusedError(
            f"run {run_id} already ended {status}"
            f"{' (' + record.stop_reason + ')' if record.stop_reason else ''}; "
            "only an interrupted run can be resumed"
        )
    if status == "awaiting_approval":
        raise ResumeRefusedError(
            f"run {run_id} is waiting for an approval; decide with `python -m cli approve {run_id}` "
            f'or `python -m cli reject {run_id} --reason "..."`'
        )
    if status == "running":
        owner = get_run_store().get_owner(run_id)
        pid, host = (owner["pid"], owner["host"]) if owner else ("?", "?")
        raise ResumeRefusedError(
            f"run {run_id} is still running (process {pid} on {host}); only an interrupted run can be resumed"
        )


def _take(document: dict[str, Any], settings: Settings) -> None:
    """This process takes the run up before it records a decision or starts an execution: of two
    processes that approve, reject or resume the same run at once, one goes on and the other is
    refused, so a held or interrupted call is never sent twice by two deciders."""
    import os
    import socket

    from chalicelib.memory.owners import owner_alive

    run_id = document["run_id"]
    store = get_run_store()
    held = record_of(document).status == "awaiting_approval"
    owner = None if held else store.get_owner(run_id)
    taken = (held or not owner_alive(owner)) and store.take_over(
        run_id,
        "awaiting_approval" if held else "running",
        owner,
        os.getpid(),
        socket.gethostname(),
        time.time() + settings.lease_seconds,
    )
    if not taken:
        raise ResumeRefusedError(
            f"run {run_id} was taken up by another approval or resume just now; "
            f"see where it is with `python -m cli show {run_id}`"
        )


def _in_flight(state: RunState, after: list[Checkpoint]) -> tuple[RunState, str]:
    """The run stopped between NextStep and Observe: where its call got to decides where it resumes."""
    call = state.call
    assert call is not None
    mine = [
        r
        for r in after
        if r["document"]["call"]["step_id"] == call.step_id
        and r["document"]["call"]["attempt"] == call.attempt
    ]
    finished = [r for r in mine if r["kind"] == "tool"]
    if finished:
        result = ToolResult.model_validate(finished[-1]["document"]["result"])
        return state.model_copy(update={"outcome": ToolOutcome(result=result)}), "Observe"
    if any(r["kind"] == "tool_started" for r in mine):
        doubt = (
            f"step {call.step_id} ({call.tool}, a plain write) was in flight when the run was interrupted; "
            "it may or may not have been applied, and a plain write is never repeated blindly"
        )
        if state.approve == "writes":  # a person decides: approve sends it again, reject stops the run
            return _hold_in_doubt(state, doubt), "Route"
        detail = f"{doubt}. Check the target, then run the request again if it was not applied"
        return record_step(state.run_id, stop, state, "unsafe_retry", detail, "Resume"), "Finalize"
    # re-run with the same idempotency key; this run took the call over, so a record its gone owner
    # left in progress is replayed, not waited on
    return state.model_copy(update={"call": call.model_copy(update={"replay": True})}), "Route"


def _hold_in_doubt(state: RunState, doubt: str) -> RunState:
    """The in-flight plain write, held for a person: the resumed execution ends in AwaitingApproval."""
    call = state.call
    assert call is not None
    reason = f"{doubt}: approve to send it again, or reject to stop the run"
    record_event(
        state.run_id,
        "approval_requested",
        "Resume",
        step_id=call.step_id,
        tool=call.tool,
        args=call.args,
        side_effect="write",
        reason=reason,
    )
    held = ApprovalRequest(
        step_id=call.step_id,
        tool=call.tool,
        args=call.args,
        side_effect="write",
        idempotency_key=call.idempotency_key,
        reason=reason,
        requested_at=time.time(),
    )
    return state.model_copy(
        update={
            "route": "await_approval",
            "status": "awaiting_approval",
            "pending_approval": held,
            "final_output": f"Waiting for approval: {reason}.",
        }
    )


def resume_point(run_id: str, start_state: dict[str, Any] | None) -> tuple[RunState, str | None]:
    """The state to resume with, and the state it resumes at (None: from the start, Perceive)."""
    last, after = checkpoints.latest(run_id)
    if last is None:
        if not start_state:
            raise ResumeRefusedError(f"run {run_id} has no checkpoint and no start state to resume from")
        state = RunState.model_validate(start_state)  # a fork starts at its fork point, a new run at Perceive
        return state, state.resume_at
    state = RunState.model_validate(last["document"])
    target = last["next_state"]
    if target == "Route" and state.route == "continue":  # Express's slice ended there: no call was made
        return going_on(state), "NextStep"
    if target == "Route" and state.route == "call" and state.call is not None:
        state, target = _in_flight(state, after)
    return state, target


def _unreachable_steps(state: RunState, settings: Settings) -> list[tuple[str, str]]:
    """(step id, origin) of each step still to run whose URL points at an origin this process does
    not allow: planned against a mock API that is served elsewhere now, say."""
    allowed = set(settings.allowed_origins())
    finished = set(state.results)
    stranded = []
    for step in state.plan.steps if state.plan is not None else []:
        url = step.args.get("url")
        if step.id in finished or not isinstance(url, str) or "{{" in url:
            continue
        try:
            origin = origin_of(url)
        except ConfigError:
            continue  # the tool's own policy names what is wrong with it when the step runs
        if origin not in allowed:
            stranded.append((step.id, origin))
    return stranded


def _refuse_unreachable(state: RunState, settings: Settings) -> None:
    stranded = _unreachable_steps(state, settings)
    if stranded:
        steps = ", ".join(f"{step} ({origin})" for step, origin in stranded)
        allowed = ", ".join(settings.allowed_origins()) or "none"
        raise ResumeRefusedError(
            f"run {state.run_id} still has steps planned against origins this process does not allow: "
            f"{steps}; allowed here: {allowed}. Serve that API there again (MAOO_MOCK_API_URL, "
            f"MAOO_HTTP_ALLOWLIST), or continue the run with the CLI, which serves the in-process mock "
            f"API on the port the run started with; nothing was run"
        )


def _run_from(
    runner: WorkflowRunner,
    settings: Settings,
    state: RunState,
    target: str | None,
    engine: str,
    kind: str,
    **data: Any,
) -> dict[str, Any]:
    name = next_execution_name(state.run_id)
    record_event(
        state.run_id, "resume", "Runner", execution=name, resume_at=target or "Perceive", cause=kind, **data
    )
    return execute(
        runner, settings, state.model_copy(update={"resume_at": target}), engine, execution_name=name
    )


def resume(runner: WorkflowRunner, settings: Settings, run_id: str) -> dict[str, Any]:
    """Finish an interrupted run from its last checkpoint; refuses a run that ended or is still owned."""
    document = _document(run_id)
    _refuse_unless_interrupted(document)
    record = record_of(document)
    state, target = resume_point(run_id, record.start_state)
    _refuse_unreachable(state, settings)
    _take(document, settings)
    with let_go_on_store_failure(run_id):  # a resume the store cut short leaves the run interrupted again
        return _run_from(runner, settings, state, target, record.engine or settings.engine, "resume")


def _held(run_id: str) -> tuple[dict[str, Any], RunState]:
    document = _document(run_id)
    record = record_of(document)
    if record.status != "awaiting_approval":
        hint = f"; resume it with `python -m cli resume {run_id}`" if record.status == "interrupted" else ""
        raise ResumeRefusedError(f"run {run_id} is {record.status}, not waiting for an approval{hint}")
    state, target = resume_point(run_id, record.start_state)
    shown = record.pending_approval
    if (
        state.pending_approval is not None
        and shown is not None
        and shown.step_id == state.pending_approval.step_id
    ):
        # the hold began when the run said so, not now (a hold made at resume is rebuilt on each read)
        since = shown.requested_at
        state = state.model_copy(
            update={"pending_approval": state.pending_approval.model_copy(update={"requested_at": since})}
        )
    if state.pending_approval is None or target != "Route":
        raise ResumeRefusedError(f"run {run_id} holds no call for approval at its last checkpoint")
    return document, state


def expired(state: RunState, settings: Settings, now: float | None = None) -> bool:
    pending = state.pending_approval
    return pending is not None and (now or time.time()) - pending.requested_at > settings.approval_ttl_seconds


def decide(
    runner: WorkflowRunner, settings: Settings, run_id: str, decision: str, reason: str = ""
) -> dict[str, Any]:
    """Approve or reject the call a run holds, from any process; an approval past its TTL expires the run."""
    if decision not in ("approve", "reject"):
        raise BadRequestError(f"decision {decision!r} is not accepted; use approve or reject")
    document, state = _held(run_id)
    if decision == "approve" and not expired(state, settings):
        _refuse_unreachable(state, settings)  # before the run is taken: a refused approval changes nothing
    _take(document, settings)
    with let_go_on_store_failure(run_id):  # a decision the store cut short leaves the run interrupted
        return _carry_out(runner, settings, document, state, decision, reason)


def _carry_out(
    runner: WorkflowRunner,
    settings: Settings,
    document: dict[str, Any],
    state: RunState,
    decision: str,
    reason: str,
) -> dict[str, Any]:
    """A decision on a run this process has taken up: record it, and run the execution it starts."""
    run_id = state.run_id
    pending = state.pending_approval
    assert pending is not None
    engine = record_of(document).engine or settings.engine
    where = {"step_id": pending.step_id, "tool": pending.tool}
    if expired(state, settings):
        detail = (
            f"step {pending.step_id} ({pending.tool}) waited longer than MAOO_APPROVAL_TTL_SECONDS "
            f"({settings.approval_ttl_seconds:g} s) for an approval; nothing was written"
        )
        record_event(
            run_id, "approval_expired", "Approval", **where, ttl_seconds=settings.approval_ttl_seconds
        )
        return _run_from(
            runner,
            settings,
            record_step(state.run_id, stop, state, "approval_expired", detail, "Approval"),
            "Finalize",
            engine,
            "approval_expired",
        )
    if decision == "reject":
        why = reason or "no reason given"
        detail = f"step {pending.step_id} ({pending.tool}) was rejected: {why}; nothing was written"
        record_event(run_id, "rejection", "Approval", **where, reason=reason)
        return _run_from(
            runner,
            settings,
            record_step(state.run_id, stop, state, "rejected", detail, "Approval"),
            "Finalize",
            engine,
            "rejection",
        )
    record_event(run_id, "approval", "Approval", **where, idempotency_key=pending.idempotency_key)
    approved = state.model_copy(
        update={
            "status": "running",
            "route": None,
            "call": None,
            "pending_approval": None,
            "final_output": None,
            "approved": [
                *state.approved,
                f"{pending.step_id}:{pending.tool}",
            ],  # NextStep resolves its arguments again
        }
    )
    return _run_from(runner, settings, approved, "NextStep", engine, "approval")


def end_if_expired(runner: WorkflowRunner, settings: Settings, document: dict[str, Any]) -> dict[str, Any]:
    """A held run past ``MAOO_APPROVAL_TTL_SECONDS``, ended now by whoever looks at it first
    (``cli show``, ``GET /runs/{id}``): its Finalize runs and the expiry is written to its trace.
    Another process ending or deciding it at the same moment wins; this then returns what the store holds."""
    from chalicelib.durable.status import approval_expired

    if not approval_expired(document):
        return document
    try:
        # an expired hold ends approval_expired whatever the decision: "reject" never sends anything
        return decide(runner, settings, document["run_id"], "reject")
    except ResumeRefusedError:
        return get_run_store().get_run(document["run_id"]) or document
