"""Fork a run from a step: redo the part that failed, keep what already happened.

A fork is a new run (its own run id, document and trace) that records ``forked_from``. Its first
execution enters the state machine through the entry Choice (``ResumeAt``) at ``NextStep``, with
the original's state as it was just before the chosen step was first routed: every result before
the step is in that state, so no step before the fork point runs again, and a write before it is
never repeated. The step and every later one run anew, on today's code and settings.

- Writes at or after the fork point run under the fork's run id, so they carry the fork's own
  idempotency keys: a new run is a new intent, and its incident is a new incident. When such a
  write already succeeded in the original, the fork is refused unless the caller confirms it
  (``--yes``, ``{"yes": true}``).
- Approvals never carry over: the fork's list of approved calls starts empty, so a write under an
  approval policy waits for a person again. The policy is the original's unless one is given.
- Guards are the original's, with the given ones replacing them; counters start at zero (a reused
  result cost nothing this time).

The run service (``chalicelib.workflow.service.Runs.fork``) forks a run for every front end (``python
-m cli fork``, ``POST /runs/{id}/fork``): ``prepare`` checks and builds the fork's first state, ``begin``
records it on both runs' traces.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from chalicelib.config import Settings
from chalicelib.contracts import Counters, ForkOrigin, Plan, RunState
from chalicelib.durable import checkpoints
from chalicelib.durable.status import as_seen
from chalicelib.errors import (
    BadRequestError,
    ConfirmationRequiredError,
    ForkNotFoundError,
    ForkRefusedError,
    describe_validation_error,
)
from chalicelib.memory.events import record_event
from chalicelib.memory.records import Checkpoint, record_of
from chalicelib.memory.store import get_run_store
from chalicelib.workflow.runs import initial_state

FORK_AT = "NextStep"  # the state a fork's first execution enters at (the entry Choice routes it there)
_ENDED = ("succeeded", "failed", "stopped")
# what the original had in flight or decided at the fork point: a fork starts without any of it
_CLEARED: dict[str, Any] = {
    "call": None,
    "outcome": None,
    "tool_crash": None,
    "route": None,
    "decision": None,
    "wait_seconds": 0,
    "status": "running",
    "stop_reason": None,
    "stop_detail": "",
    "final_output": None,
    "crash": None,
    "replan": None,
    "pending_approval": None,
    "approved": [],
    "steps": [],
    "attempts": {},
    "failures": {},
}


def parse_sets(pairs: Iterable[str]) -> dict[str, Any]:
    """``STEP_ID.ARG=VALUE`` pairs (the CLI's ``--set``) as ``{"STEP_ID.ARG": value}``.

    VALUE is read as JSON when it is JSON (a number, true, false, null, an object, a list or a
    quoted string), else as plain text: ``--set s3.json_body.severity=sev1`` sets a string."""
    sets: dict[str, Any] = {}
    for pair in pairs:
        target, sep, raw = pair.partition("=")
        step, dot, arg = target.strip().partition(".")
        if not sep or not dot or not step or not arg:
            raise BadRequestError(
                f"--set {pair!r} is not accepted; write STEP_ID.ARG=VALUE, e.g. --set s1.url=http://host/path"
            )
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        sets[f"{step}.{arg.strip()}"] = value
    return sets


def _original(run_id: str) -> dict[str, Any]:
    document = get_run_store().get_run(run_id)
    if document is None:
        raise ForkNotFoundError(f"no run {run_id!r}; list runs with `python -m cli runs`")
    return as_seen(document)


def _refuse_unless_ended(document: dict[str, Any]) -> None:
    record = record_of(document)
    run_id, status = record.run_id, record.status
    if status in _ENDED:
        return
    if status == "awaiting_approval":
        pending = record.pending_approval
        step, tool = (pending.step_id, pending.tool) if pending else ("?", "?")
        raise ForkRefusedError(
            f"run {run_id} is still in progress: it waits for an approval of step "
            f"{step} ({tool}); decide it first with "
            f"`python -m cli approve {run_id}` or `python -m cli reject {run_id} --reason ...`, then fork it"
        )
    if status == "interrupted":
        raise ForkRefusedError(
            f"run {run_id} is still in progress: it was interrupted; finish it with "
            f"`python -m cli resume {run_id}` first, then fork it if a step needs doing again"
        )
    raise ForkRefusedError(f"run {run_id} is still in progress ({status}); fork it once it has ended")


def _plan_steps(document: dict[str, Any], rows: list[Checkpoint]) -> dict[str, str]:
    """Every step id the run ever planned (any plan revision), in order, with its tool."""
    steps: dict[str, str] = {}
    plans = [r["document"].get("plan") for r in rows if r["kind"] == "state"] + [record_of(document).plan]
    for plan in plans:
        for step in (plan or {}).get("steps") or []:
            steps.setdefault(step["id"], step["tool"])
    return steps


def _listed(steps: Mapping[str, str]) -> str:
    return ", ".join(f"{sid} ({tool})" for sid, tool in steps.items()) or "none"


def _routed(row: Checkpoint) -> str | None:
    """The step a ``NextStep`` checkpoint routed to its tool (or held for approval), if any."""
    document = row["document"]
    if (
        row["kind"] != "state"
        or row["state"] != "NextStep"
        or document.get("route") not in ("call", "await_approval")
    ):
        return None
    return (document.get("call") or {}).get("step_id")


def _state_at(run_id: str, step_id: str, document: dict[str, Any]) -> RunState:
    """The original's state when ``step_id`` was first routed (by ``NextStep``): every result before
    the step is in it; what the step's call and its routing added is cleared by ``prepare``."""
    rows = checkpoints.rows(run_id)
    if not rows:
        raise ForkNotFoundError(
            f"the trace of run {run_id} is gone (its checkpoints expired or were deleted), so the results "
            "before the fork point cannot be reused; run the request again instead"
        )
    planned = _plan_steps(document, rows)
    if step_id not in planned:
        raise ForkNotFoundError(f"run {run_id} has no step {step_id!r}; its steps: {_listed(planned)}")
    record = record_of(document)
    parent = record.forked_from
    if (
        parent is not None and step_id in parent.reused
    ):  # a fork did not run this step: the run it came from did
        ancestor = get_run_store().get_run(parent.run_id)
        if ancestor is None:
            raise ForkNotFoundError(
                f"step {step_id} of run {run_id} is a result reused from run {parent.run_id}, "
                "which is gone; fork from a step the fork ran itself"
            )
        return _state_at(parent.run_id, step_id, ancestor)
    reached = {sid: planned.get(sid, "?") for sid in (parent.reused if parent else [])}
    for row in rows:
        routed = _routed(row)
        if routed == step_id:
            return RunState.model_validate(row["document"])
        if routed is not None:
            reached.setdefault(routed, planned.get(routed, "?"))
    stop = record.stop_reason
    ended = f"{record.status}{' (' + stop + ')' if stop else ''}"
    raise ForkRefusedError(
        f"step {step_id} of run {run_id} was never reached (the run ended {ended} before it); "
        f"fork from a step it reached: {_listed(reached)}"
    )


def _apply_sets(state: RunState, sets: Mapping[str, Any], reused: set[str]) -> Plan:
    """The fork's plan with ``sets`` applied; each set step must run in the fork."""
    assert state.plan is not None
    plan = state.plan.model_copy(deep=True)
    by_id = {step.id: step for step in plan.steps}
    for target, value in sets.items():
        step_id, _, path = target.partition(".")
        step = by_id.get(step_id)
        if step is None or not path:
            raise BadRequestError(
                f"set {target!r}: the plan has no step {step_id!r}; its steps: "
                f"{_listed({s.id: s.tool for s in plan.steps})}"
            )
        if step_id in reused:
            raise BadRequestError(
                f"set {target!r}: {step_id} comes before the fork point, so its recorded result is reused "
                f"and it does not run again; fork from {step_id} to change its arguments"
            )
        *parents, leaf = path.split(".")
        holder: Any = step.args
        for part in parents:
            holder = holder.get(part) if isinstance(holder, dict) else None
            if not isinstance(holder, dict):
                raise BadRequestError(
                    f"set {target!r}: {step_id} ({step.tool}) has no object argument {part!r} to set a field of"
                )
        holder[leaf] = value
    return plan


def _check_plan(state: RunState, plan: Plan) -> None:
    """The corrected plan goes through the tool schemas and the policy, like any planned argument."""
    from chalicelib.planning.policy import check_plan
    from chalicelib.planning.validator import validate_plan

    problems = validate_plan(plan, state.guards)
    if state.perception is not None:
        problems += [str(denial) for denial in check_plan(plan, state.perception)]
    if problems:
        raise BadRequestError(
            "the corrected arguments are not accepted: " + "; ".join(problems) + "; nothing was run"
        )


MAX_FAMILY = 200  # runs of one lineage read to find the writes already made


def _family(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The run, the runs it was forked from up to the first, and every run forked from those: the
    runs that share its steps' intents (a write one of them made is made for all)."""
    store = get_run_store()
    root = document
    seen = {document["run_id"]}
    while (origin := record_of(root).forked_from) and (parent := origin.run_id) not in seen:
        seen.add(parent)
        found = store.get_run(parent)
        if found is None:
            break
        root = found
    family: list[dict[str, Any]] = []
    queue, seen = [root], {root["run_id"]}
    while queue and len(family) < MAX_FAMILY:
        run = queue.pop(0)
        family.append(run)
        for child in forks_of(run["run_id"]):
            if child["run_id"] not in seen and (found := store.get_run(child["run_id"])) is not None:
                seen.add(child["run_id"])
                queue.append(found)
    return family


def _repeated_writes(document: dict[str, Any], reused: set[str]) -> list[dict[str, Any]]:
    """The writes at or after the fork point that already succeeded, in the original run or in
    another run of its lineage (the run it was forked from, a sibling fork), and the plain writes
    that may have been applied there (a failure that leaves it in doubt: the run never repeated it)."""
    from chalicelib.execution.refinement import AMBIGUOUS
    from chalicelib.tools.registry import side_effect_of

    repeats: dict[str, dict[str, Any]] = {}
    for run in _family(document):
        for record in record_of(run).steps or []:
            step_id = record["step_id"]
            if step_id in reused or repeats.get(step_id, {}).get("how") == "succeeded":
                continue
            try:
                side_effect = side_effect_of(record["tool"], record.get("args") or {})
            except Exception:  # noqa: BLE001 - a tool no longer registered is treated as a write
                side_effect = "write"
            if record.get("ok") and side_effect != "read":
                how = "succeeded"
            elif (
                side_effect == "write" and record.get("signal") in AMBIGUOUS
            ):  # may or may not have been applied
                how = "may have been applied"
            else:
                continue
            repeats[step_id] = {
                "step_id": step_id,
                "tool": record["tool"],
                "side_effect": side_effect,
                "how": how,
                "run_id": run["run_id"],
            }
    return list(repeats.values())


def prepare(
    settings: Settings,
    run_id: str,
    from_step: str,
    sets: Mapping[str, Any] | None = None,
    guards: Mapping[str, Any] | None = None,
    approve: str | None = None,
    yes: bool = False,
) -> RunState:
    """The fork's first state, after every check; nothing is written or run.

    Raises ``ForkNotFoundError`` (no such run or step, or its trace is gone), ``ForkRefusedError``
    (still in progress, a step never reached), ``ConfirmationRequiredError`` (a write that already
    succeeded would be sent again, and ``yes`` is not given) or ``BadRequestError`` (a bad option)."""
    from chalicelib.workflow.resume import _refuse_unreachable

    document = _original(run_id)
    _refuse_unless_ended(document)
    original = record_of(document)
    before = _state_at(run_id, from_step, document)
    reused = set(before.results) | set(before.skipped)
    fresh = initial_state(  # the guards and the approval policy of the run forked, unless given
        before.request,
        settings,
        {**(original.guards or before.guards.model_dump()), **(guards or {})},
        use_memory=before.use_memory,
        approve=approve if approve is not None else original.approve or before.approve,
    )
    plan = _apply_sets(before, sets, reused) if sets else before.plan
    ordered = [s.id for s in (plan.steps if plan else []) if s.id in before.results]
    try:
        state = before.model_copy(
            update={
                **_CLEARED,
                "run_id": fresh.run_id,
                "started_at": fresh.started_at,
                "guards": fresh.guards,
                "approve": fresh.approve,
                "counters": Counters(),
                "plan": plan,
                "resume_at": FORK_AT,
                "forked_from": ForkOrigin(
                    run_id=run_id, step_id=from_step, reused=ordered, set=dict(sets or {})
                ),
            }
        )
        state = RunState.model_validate(state.model_dump(mode="json"))
    except ValidationError as exc:
        raise BadRequestError(f"the fork's state is not valid: {describe_validation_error(exc)}") from None
    if sets:
        _check_plan(state, state.plan)  # type: ignore[arg-type]
    repeats = _repeated_writes(document, reused)
    if repeats and not yes:
        writes = ", ".join(
            f"{w['step_id']} ({w['tool']}, {w['side_effect']}, {w['how']} in run {w['run_id']})"
            for w in repeats
        )
        raise ConfirmationRequiredError(
            f"forking run {run_id} from {from_step} runs again a write that already succeeded or may have "
            f"been applied: {writes}. "
            "The fork is a new run and sends it under its own idempotency key, so it is applied "
            f"a second time (a second incident, a file written again). Confirm with --yes "
            f'(HTTP: "yes": true), or fork from a later step; nothing was run'
        )
    _refuse_unreachable(state, settings)
    return state


def begin(state: RunState, sets: Mapping[str, Any] | None = None) -> None:
    """Record the fork on both runs' traces: the original lists its forks, the fork where it came from."""
    origin = state.forked_from
    assert origin is not None
    record_event(origin.run_id, "fork", "Fork", fork_run_id=state.run_id, step_id=origin.step_id)
    record_event(
        state.run_id,
        "forked_from",
        "Fork",
        from_run_id=origin.run_id,
        step_id=origin.step_id,
        reused=origin.reused,
        set=dict(sets or {}),
        approve=state.approve,
    )


def forks_of(run_id: str) -> list[dict[str, Any]]:
    """The forks started from ``run_id``, oldest first: ``{"run_id", "step_id"}`` each."""
    return [
        {"run_id": e["data"]["fork_run_id"], "step_id": e["data"]["step_id"]}
        for e in get_run_store().events(run_id)
        if e["kind"] == "fork"
    ]


def with_lineage(document: dict[str, Any]) -> dict[str, Any]:
    """The run document with ``forks`` (the runs forked from it), when there are any."""
    forks = forks_of(document["run_id"])
    return {**document, "forks": forks} if forks else document
