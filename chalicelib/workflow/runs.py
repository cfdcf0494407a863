"""One run, end to end: start the execution, wait, read the history, keep the document and trace.

The run document is what the CLI's ``--json`` prints and ``GET /runs/{id}`` returns. Whatever way
the execution ends (succeeded, failed in a state, timed out), the document and the trace file are
written: a run is never lost.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chalicelib import trace_history
from chalicelib.bounds import guard_problem
from chalicelib.config import APPROVALS, Settings
from chalicelib.contracts import Guards, RunState
from chalicelib.errors import BadRequestError, StoreError, validation_problems
from chalicelib.memory.events import record_event
from chalicelib.memory.records import RunRecord, record_of
from chalicelib.memory.store import get_run_store
from chalicelib.redaction import is_secret_key, redact, redact_under
from chalicelib.workflow import express
from chalicelib.workflow.sfn_runner import TERMINAL, Execution, WorkflowRunner, state_outputs, states_entered

MAX_REQUEST_CHARS = 2000
# the trace events the views list apart: what happened to the run itself, not to one of its steps
LIFECYCLE_EVENTS = ("approval_requested", "paused", "approval", "rejection", "approval_expired", "resume")


def new_run_id() -> str:
    return time.strftime("run-%Y%m%d-%H%M%S-", time.gmtime()) + uuid.uuid4().hex[:6]


def initial_state(
    request: str,
    settings: Settings,
    guards: dict[str, Any] | None = None,
    run_id: str | None = None,
    use_memory: bool = True,
    approve: str | None = None,
    plan_text: bool = False,
) -> RunState:
    text = (request or "").strip()
    if not text:
        raise BadRequestError(
            "the request is empty; describe an operations task, e.g. 'Fetch mock data, calculate 2 + 2, and summarize the result'"
        )
    if len(text) > MAX_REQUEST_CHARS:
        raise BadRequestError(
            f"the request is {len(text)} characters; at most {MAX_REQUEST_CHARS} are accepted"
        )
    settings.check_runtime_dir()
    values = {**settings.guards_overrides, **(guards or {})}
    problems = [p for name, value in (guards or {}).items() if (p := guard_problem(name, value))]
    if problems:
        raise BadRequestError("guard values not accepted: " + "; ".join(problems))
    try:
        run_guards = Guards(**values)
    except ValidationError as exc:
        fields = ", ".join(f"{field} ({message})" for field, message in validation_problems(exc))
        raise BadRequestError(
            f"guard values not accepted: {fields}; accepted: {', '.join(Guards.model_fields)}"
        ) from None
    policy = (approve if approve is not None else settings.approval).strip().lower()
    if policy not in APPROVALS:
        raise BadRequestError(f"approve={approve!r} is not accepted; use one of: {', '.join(APPROVALS)}")
    return RunState(
        run_id=run_id or new_run_id(),
        request=text,
        plan_text=plan_text,
        started_at=time.time(),
        guards=run_guards,
        use_memory=use_memory,
        approve=policy,  # type: ignore[arg-type]
    )


def _write_json_atomic(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(value, separators=(",", ":"), default=str))  # C speed; no indent
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _salvage(document: Any) -> RunState | None:
    """A state document as a ``RunState``, dropping the top-level fields that no longer validate
    (a failed execution may end on a document a handler corrupted); ``None`` if that is not enough."""
    if not isinstance(document, dict):
        return None
    try:
        return RunState.model_validate(document)
    except ValidationError as exc:
        bad = {e["loc"][0] for e in exc.errors() if e["loc"]}
        if bad & {"run_id", "request", "started_at"}:
            return None
        try:
            return RunState.model_validate({k: v for k, v in document.items() if k not in bad})
        except ValidationError:
            return None


def _final_state(start: RunState, execution: Execution) -> RunState:
    if execution.status == "SUCCEEDED" and execution.output:
        try:
            return RunState.model_validate(execution.output)
        except ValidationError:
            pass
    state = start
    for reached in state_outputs(execution.history):  # the newest state document that can still be read
        if (salvaged := _salvage(reached)) is not None:
            state = salvaged
            break
    detail = f"{execution.error or execution.status}: {execution.cause or 'no cause given'}"
    first = next(
        (
            e
            for e in execution.history
            if e.get("taskFailedEventDetails") or e.get("lambdaFunctionFailedEventDetails")
        ),
        None,
    )
    if first:
        failed = first.get("taskFailedEventDetails") or first.get("lambdaFunctionFailedEventDetails") or {}
        detail += f" (first task failure: {failed.get('error', '?')}: {str(failed.get('cause', ''))[:300]})"
    return state.model_copy(
        update={
            "status": "failed",
            "stop_reason": f"execution_{execution.status.lower()}",
            "stop_detail": detail[:1000],
        }
    )


def run_document(
    state: RunState, engine: str, execution: Execution | None, trace_file: Path | None
) -> dict[str, Any]:
    record = RunRecord(
        run_id=state.run_id,
        engine=engine,
        request=state.request,
        status=state.status,
        stop_reason=state.stop_reason if state.status != "succeeded" else None,
        stop_detail=state.stop_detail or None,
        perception=state.perception.model_dump(mode="json") if state.perception else None,
        plan=state.plan.model_dump(mode="json") if state.plan else None,
        plan_notes=state.plan_notes,
        steps=[s.model_dump(mode="json") for s in state.steps],
        skipped=state.skipped,
        counters=state.counters,
        guards=state.guards.model_dump(),
        final_output=state.final_output,
        answer=state.answer,
        states=states_entered(execution.history) if execution else [],
        execution_arn=execution.arn if execution else None,
        execution_status=execution.status if execution else None,
        created_at=state.started_at,
        duration_ms=round((time.time() - state.started_at) * 1000, 1),
        trace_file=str(trace_file) if trace_file else None,
        approve=state.approve,
        pending_approval=state.pending_approval,
        execution_name=execution.arn.rsplit(":", 1)[-1] if execution else None,
        forked_from=state.forked_from,
    )
    return record.as_json()


def claim(run_id: str, settings: Settings) -> None:
    """This process owns the run now: its process id and host, with a lease it renews while it waits."""
    get_run_store().claim_owner(
        run_id, os.getpid(), socket.gethostname(), time.time() + settings.lease_seconds
    )


@contextmanager
def let_go_on_store_failure(run_id: str) -> Iterator[None]:
    """A run this process stops driving because the store failed reads ``interrupted`` at once,
    even while the process lives on (``chalice local``): its owner becomes nobody (no host, a
    lease long past), so ``resume`` can finish it once the store works. Best effort: a store
    that still fails keeps the process as the owner until the process ends."""
    try:
        yield
    except StoreError:
        try:
            get_run_store().claim_owner(run_id, 0, "", 0.0)
        except StoreError:
            pass
        raise


def checkpointed_document(stored: dict[str, Any]) -> dict[str, Any]:
    """A run that has not finished, as far as its last checkpoint got: the views of a finished run."""
    from chalicelib.durable import checkpoints

    record = record_of(stored)
    last, _ = checkpoints.latest(record.run_id)
    state = RunState.model_validate(last["document"]) if last else None
    if state is None and record.start_state:
        state = RunState.model_validate(record.start_state)
    if state is None:
        return {k: v for k, v in stored.items() if k != "start_state"}
    document = run_document(state, record.engine or "embedded", None, None)
    document.update(
        status=record.status,
        created_at=state.started_at if record.created_at is None else record.created_at,
        execution_arn=record.execution_arn,
        last_checkpoint=last["state"] if last else None,
    )
    if record.status == "interrupted":
        document["final_output"] = (
            f"Interrupted after {last['state'] if last else 'its start'}: the process running it "
            f"is gone. Finish it with `python -m cli resume {state.run_id}`."
        )
    return redact(document)


def start_run(runner: WorkflowRunner, start: RunState, engine: str, execution_name: str | None = None) -> str:
    """Start the execution and record the run as running; returns the execution ARN.

    A resumed run keeps its document (and ``created_at``); only its status goes back to running."""
    from chalicelib.config import get_settings

    store = get_run_store()
    before = store.get_run(start.run_id) if execution_name else None
    claim(start.run_id, get_settings())
    start_state = (before and record_of(before).start_state) or start.model_dump(mode="json")
    store.put_run(
        redact(
            {
                **(before or {}),
                "run_id": start.run_id,
                "request": start.request,
                "status": "running",
                "engine": engine,
                "created_at": start.started_at,
                "start_state": start_state,
                "forked_from": start.forked_from.model_dump(mode="json") if start.forked_from else None,
            }
        )
    )
    if execution_name is None:
        record_event(
            start.run_id,
            "start",
            "Runner",
            engine=engine,
            guards=start.guards.model_dump(),
            approve=start.approve,
            # the origin the plan's URLs and the allowlist point at: a resume or an approval in a
            # new process serves the in-process mock API there again (localrun.mock_origin)
            mock_api_url=get_settings().mock_api_url,
        )
    started = time.time()  # an Express execution's end is read from checkpoints written since
    try:
        payload = express.sliced(start, get_settings()).model_dump(mode="json")
        arn = runner.start(execution_name or start.run_id, payload)
    except Exception as exc:  # the engine refused: the run ends here, not "running" forever
        record_event(
            start.run_id,
            "execution_failed",
            "Runner",
            status="NOT_STARTED",
            error=type(exc).__name__,
            cause=str(exc),
        )
        store.put_run(
            redact(
                {
                    **run_document(
                        start.model_copy(
                            update={
                                "status": "failed",
                                "stop_reason": "execution_not_started",
                                "stop_detail": str(exc)[:1000],
                            }
                        ),
                        engine,
                        None,
                        None,
                    )
                }
            )
        )
        raise
    try:
        store.put_run(
            {**(store.get_run(start.run_id) or {}), "execution_arn": arn, "execution_started_at": started}
        )
    except StoreError:
        pass  # the execution goes on: its next checkpoint meets the same store, and ends it interrupted
    return arn


def finish_run(
    runner: WorkflowRunner, settings: Settings, start: RunState, execution: Execution, engine: str
) -> dict[str, Any]:
    """Turn a finished execution into the run document; store it and export the trace."""
    store = get_run_store()
    failure = _store_failure(execution)
    if failure is not None:  # the run stays interrupted; its execution's history is kept in the trace file
        _keep_interrupted_trace(settings, start, execution)
        runner.release(execution.arn)
        raise StoreError(failure)
    if runner.express is not None and not execution.history:
        execution = _recorded(execution, start)
    state = _final_state(start, execution)
    if state.status == "awaiting_approval" and state.pending_approval is not None:
        pending = state.pending_approval
        record_event(
            state.run_id,
            "paused",
            "AwaitingApproval",
            step_id=pending.step_id,
            tool=pending.tool,
            args=pending.args,
            reason=pending.reason,
        )
    if execution.status != "SUCCEEDED":
        record_event(
            state.run_id,
            "execution_failed",
            "Runner",
            status=execution.status,
            error=execution.error,
            cause=execution.cause,
        )
    trace_file = settings.traces_dir / f"{state.run_id}.trace.json"
    document = run_document(state, engine, execution, trace_file)
    document["lifecycle"] = [e for e in store.events(state.run_id) if e["kind"] in LIFECYCLE_EVENTS]
    document = redact(document)  # secrets never leave in a document or trace
    trace = {
        "run_id": state.run_id,
        "run": document,
        "events": redact(store.events(state.run_id)),
        "execution": execution_part(execution),
    }
    _write_json_atomic(trace_file, trace)
    store.put_run(document)
    runner.release(execution.arn)  # document and trace are stored: the engine need not keep the execution
    return document


def _recorded(execution: Execution, start: RunState) -> Execution:
    """An Express execution with the history MAOO's checkpoints give for the whole run (every
    execution it went on in), since the engine keeps none (``chalicelib.workflow.recorded``)."""
    from dataclasses import replace

    from chalicelib.durable import checkpoints
    from chalicelib.workflow.recorded import SOURCE, recorded_history

    stored = get_run_store().get_run(start.run_id) or {}
    first = stored.get("start_state") or start.model_dump(mode="json")
    values: dict[str, Any] = {}
    history = recorded_history(
        first,
        float(stored.get("created_at") or start.started_at),
        [dict(r) for r in checkpoints.rows(start.run_id)],
        values,
    )
    return replace(execution, history=history, source=SOURCE, documents=values.get)


def execution_part(execution: Execution) -> dict[str, Any]:
    """A trace's ``execution``: the engine's history in linear space (``chalicelib.trace_history``),
    each new part redacted once as it is stored."""
    return {
        **redact(
            {
                "arn": execution.arn,
                "status": execution.status,
                "error": execution.error,
                "cause": execution.cause,
            }
        ),
        **trace_history.encode(execution.history, redact_under, is_secret_key, execution.documents),
        **({"source": execution.source} if execution.source != "engine" else {}),
    }


def _store_failure(execution: Execution) -> str | None:
    """The store's error, if a state could not write its checkpoint (the run stays interrupted at its last one)."""
    for event in execution.history:
        failed = event.get("taskFailedEventDetails") or event.get("lambdaFunctionFailedEventDetails") or {}
        if failed.get("error") == "StoreError":
            cause = str(failed.get("cause", ""))
            try:
                cause = json.loads(cause).get("errorMessage", cause)
            except (ValueError, AttributeError):
                pass
            return cause
    return None


def _keep_interrupted_trace(settings: Settings, start: RunState, execution: Execution) -> None:
    """The trace file of a run the store interrupted: its execution's history, and the events the
    store can still give (none if it cannot be read). A resume that finishes the run replaces it."""
    try:
        events = get_run_store().events(start.run_id)
    except StoreError:
        events = []
    run = {"run_id": start.run_id, "request": start.request, "status": "interrupted"}
    trace = {
        "run_id": start.run_id,
        "run": redact(run),
        "events": redact(events),
        "execution": execution_part(execution),
    }
    try:
        _write_json_atomic(settings.traces_dir / f"{start.run_id}.trace.json", trace)
    except OSError:
        pass  # the disk that failed the store may fail this too: the run is still interrupted, not lost


def _renewer(run_id: str, settings: Settings) -> Any:
    """A callback for the runner's wait loop: renew the lease at most every few seconds."""
    last = [0.0]

    def renew() -> None:
        now = time.time()
        if now - last[0] >= min(5.0, settings.lease_seconds / 3):
            last[0] = now
            try:
                get_run_store().renew_lease(run_id, now + settings.lease_seconds)
            except StoreError:
                pass  # the execution goes on; on this host the owner's process id keeps it alive

    return renew


def execute(
    runner: WorkflowRunner,
    settings: Settings,
    start: RunState,
    engine: str,
    execution_name: str | None = None,
) -> dict[str, Any]:
    """Run ``start`` through the state machine and wait; return the run document (also stored and exported)."""
    with let_go_on_store_failure(start.run_id):
        arn = start_run(runner, start, engine, execution_name)
        return follow(runner, settings, start, arn, engine)


def follow(
    runner: WorkflowRunner, settings: Settings, start: RunState, arn: str, engine: str
) -> dict[str, Any]:
    """Wait for the run's execution ``arn``, and for each new one it goes on in (Express: one that
    ended at the end of its slice of time); then finish the run and return its document."""
    execution = runner.collect(arn, runner.wait(arn, on_tick=_renewer(start.run_id, settings)))
    while (following := express.continued(execution.output)) is not None:
        start = following
        arn = _go_on(runner, start, engine, execution)
        execution = runner.collect(arn, runner.wait(arn, on_tick=_renewer(start.run_id, settings)))
    return finish_run(runner, settings, start, execution, engine)


def _go_on(runner: WorkflowRunner, start: RunState, engine: str, ended: Execution) -> str:
    """Start the execution a run goes on in after ``ended`` reached the end of its slice."""
    runner.release(ended.arn)  # its checkpoint holds all it did
    name = next_execution_name(start.run_id)
    record_event(
        start.run_id,
        "resume",
        "Runner",
        execution=name,
        resume_at="NextStep",
        cause="continuation",
        after=ended.arn.rsplit(":", 1)[-1],
    )
    return start_run(runner, start, engine, name)


def next_execution_name(run_id: str) -> str:
    """The name of a run's next execution after its first: ``RUN_ID-r<n>``, one more than the
    resumes, decisions and continuations recorded so far."""
    resumes = sum(1 for e in get_run_store().events(run_id) if e["kind"] == "resume")
    return f"{run_id}-r{resumes + 1}"


def refresh_run(runner: WorkflowRunner, settings: Settings, document: dict[str, Any]) -> dict[str, Any]:
    """A stored run that is still ``running``: finish it if its execution has ended since."""
    record = record_of(document)
    if record.status != "running" or not record.execution_arn or not record.start_state:
        return document
    described = runner.describe(record.execution_arn)
    if described["status"] not in TERMINAL:
        return document
    start = RunState.model_validate(record.start_state)
    engine = record.engine or settings.engine
    with let_go_on_store_failure(start.run_id):
        execution = runner.collect(record.execution_arn, described)
        following = express.continued(execution.output)
        if following is None:
            return finish_run(runner, settings, start, execution, engine)
        # Express, nobody waiting (AWS): the first reader to see the slice's end starts the next
        # execution; the store binds the ended execution to one claimant, so no other reader does
        store = get_run_store()
        if store.claim_request_key(f"maoo-continuation:{execution.arn}", "", start.run_id) is None:
            _go_on(runner, following, engine, execution)
        return store.get_run(start.run_id) or document
