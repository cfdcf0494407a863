"""The Plan state: memory -> planner -> policy -> validator -> critic (one revision). Also the
target of every replan.

An unsupported or ambiguous request, a denied or invalid plan, a plan the critic rejects twice,
and a replan with no route left all end the run here with a reason; none of them reaches a tool.
The trace shows each decision: what memory retrieved and changed (``memory``), the critic's
verdict on the first plan and on its revision (``critic``), and the plan that runs (``plan``).

In LLM mode the model is one more source of the plan: the rule-based plan is made as always and
kept as the fallback, and a usable model plan takes its place before the policy, the validator and
the critic, which treat it exactly like a rule-based one. The model step is passed in (``model=``)
by ``chalicelib.llm.states``, the Lambda's entry point, so that planning never imports
``chalicelib.llm`` (which checks the model against this layer): without it, rules only.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib import catalogue
from chalicelib.contracts import Guards, PerceivedState, Plan, RunState
from chalicelib.errors import MaooError
from chalicelib.journal import journal_event
from chalicelib.memory.facts import RecallQuery, Recollection, RecollectionMissingError
from chalicelib.planning.critic import critique
from chalicelib.planning.planner import NoRouteError, make_plan, revise_plan
from chalicelib.planning.policy import check_plan
from chalicelib.planning.recall import advise
from chalicelib.planning.recall import memory_query as recall_query
from chalicelib.planning.validator import validate_plan

CAPABILITIES = catalogue.capabilities()

PlanModel = Callable[[RunState, PerceivedState, Plan, set[str], int], tuple[Plan, RunState]]
"""LLM mode's step: ``(state, perception, rule-based plan, avoid, revision) -> (plan, state)``; the
plan is a candidate for the same checks, and a state that is no longer running ends the run."""


class _Ended(MaooError):
    """A check refused the plan: the run stops with ``reason``."""

    def __init__(self, reason: str, detail: str, plan: Plan):
        super().__init__(detail)
        self.reason, self.detail, self.plan = reason, detail, plan


def _apply_constraints(guards: Guards, perception: PerceivedState) -> Guards:
    c = perception.constraints
    update: dict[str, float] = {}
    if c.max_steps is not None:
        update["max_steps"] = min(guards.max_steps, c.max_steps)
    if c.budget is not None:
        update["budget"] = min(guards.budget, c.budget)
    if c.deadline_seconds is not None:
        update["deadline_seconds"] = min(guards.deadline_seconds, c.deadline_seconds)
    return guards.model_copy(update=update)


def _ended(state: RunState, reason: str, detail: str, status: str = "stopped") -> RunState:
    journal_event("stop", "Plan", reason=reason, detail=detail)
    return state.model_copy(
        update={
            "plan_ok": False,
            "status": status,
            "stop_reason": reason,
            "stop_detail": detail,
            "replan": None,
            "plan_notes": [*state.plan_notes, detail],
        }
    )


def _steps(plan: Plan) -> list[dict]:
    return [s.model_dump(exclude_defaults=True) for s in plan.steps]


def _check(plan: Plan, perception: PerceivedState, guards: Guards, run_id: str) -> None:
    """Policy, then validator; raises ``_Ended`` with the first that refuses."""
    denials = check_plan(plan, perception)
    if denials:
        journal_event("policy", "Plan", denials=[d.__dict__ for d in denials])
        raise _Ended("policy_denied", "; ".join(str(d) for d in denials), plan)
    problems = validate_plan(plan, guards)
    if problems:
        raise _Ended("invalid_plan", "; ".join(problems), plan)


def _review(
    plan: Plan, perception: PerceivedState, guards: Guards, avoid: set[str], run_id: str
) -> tuple[Plan, str | None]:
    """The plan that may run, after the checks and at most one revision the critic asked for."""
    _check(plan, perception, guards, run_id)
    issues = critique(plan, perception)
    if not issues:
        return plan, None
    journal_event(
        "critic",
        "Plan",
        attempt=1,
        verdict="rejected",
        issues=[str(i) for i in issues],
        steps=_steps(plan),
    )
    flagged = {i.step_id: i.action for i in issues}
    try:
        revised = revise_plan(plan, perception, flagged, avoid)
    except NoRouteError as exc:
        raise _Ended(
            "critic_rejected",
            f"the critic rejected the plan ({'; '.join(map(str, issues))}) and no revision is possible: {exc}",
            plan,
        ) from None
    _check(revised, perception, guards, run_id)
    again = critique(revised, perception)
    journal_event(
        "critic",
        "Plan",
        attempt=2,
        verdict="rejected" if again else "accepted",
        issues=[str(i) for i in again],
        steps=_steps(revised),
    )
    if again:
        raise _Ended(
            "critic_rejected",
            f"the critic rejected the plan ({'; '.join(map(str, issues))}) and its revision "
            f"({'; '.join(map(str, again))})",
            revised,
        )
    return revised, "critic: revised the plan (" + "; ".join(map(str, issues)) + ")"


def _plan_with_memory(
    state: RunState, perception: PerceivedState, revision: int, recalled: Recollection | None
) -> tuple[Plan, set[str], list[str]]:
    """The planner's plan, with memory's advice when it leaves every sub-task a route."""
    first = state.plan is None and state.replan is None
    if not state.use_memory:
        if first:
            journal_event(
                "memory",
                "Plan",
                retrieved=[],
                changes=["memory not consulted: this run asked for none"],
            )
        return make_plan(perception, set(state.avoid), revision), set(state.avoid), []
    if recalled is None:
        raise RecollectionMissingError(
            "Plan: this run uses long-term memory, and no answer from it was passed: "
            "pass recalled=answer(memory_query(state))"
        )
    advice = advise(perception, recalled)
    notes: list[str] = []
    avoid = set(state.avoid)
    plan = None
    if advice.avoid:
        try:
            plan = make_plan(perception, avoid | advice.avoid, revision)
            avoid |= advice.avoid
            notes = [
                n for n in (f"memory: {change}" for change in advice.changes) if n not in state.plan_notes
            ]
        except NoRouteError:
            advice.changes = [
                f"advice not followed: every other route has failed ({', '.join(sorted(advice.avoid))})"
            ]
            advice.avoid = set()
    if first or advice.changes or advice.error:
        journal_event("memory", "Plan", **advice.event())
    if plan is None:
        plan = make_plan(perception, avoid, revision)
    return plan, avoid, notes


def _keep_done(plan: Plan, state: RunState) -> tuple[Plan, dict]:
    """The new plan with the steps that already ran kept as they ran, and their results.

    A step keeps its result when it is still in the plan under the same id and everything it
    depends on was kept too (its inputs are unchanged). It keeps the arguments it actually ran
    with, which may be a refinement's patch of what the planner first wrote.
    """
    old = {s.id: s for s in state.plan.steps} if state.plan else {}
    kept: dict = {}
    steps = []
    for step in plan.steps:
        before = old.get(step.id)
        if (
            before is not None
            and step.id in state.results
            and all(dep in kept for dep in before.depends_on)
            and before.tool == step.tool
        ):
            kept[step.id] = state.results[step.id]
            step = before
        steps.append(step)
    return plan.model_copy(update={"steps": steps}), kept


def memory_query(state: RunState) -> RecallQuery | None:
    """What this Plan state needs from long-term memory; ``None`` when it will not consult it."""
    perception = state.perception
    if (
        state.status != "running"
        or not state.use_memory
        or perception is None
        or perception.task_type in ("unsupported", "ambiguous")
    ):
        return None
    return recall_query(perception)


def plan_state(
    state: RunState, recalled: Recollection | None = None, *, model: PlanModel | None = None
) -> RunState:
    """The Plan state; ``model`` (LLM mode) may replace the rule-based plan before the checks.

    ``recalled`` is long-term memory's answer to ``memory_query(state)``, read by the caller; a run
    that uses memory cannot be planned without it.
    """
    if state.status != "running":  # stopped before planning (LLM mode: the token budget ran out in Perceive)
        return state.model_copy(update={"plan_ok": False, "replan": None})
    perception = state.perception
    if perception is None or perception.task_type == "unsupported":
        what = (
            f" MAOO cannot do: {'; '.join(repr(u) for u in perception.unsupported)}."
            if perception and perception.unsupported
            else ""
        )
        return _ended(
            state,
            "unsupported_request",
            f"MAOO did not recognise an operations task it can carry out in the request.{what} "
            f"It can: {CAPABILITIES}.",
        )
    if perception.task_type == "ambiguous":
        return _ended(
            state,
            "ambiguous_request",
            "The request needs more detail: " + "; ".join(perception.missing) + ".",
        )

    replanning = state.replan is not None
    guards = state.guards if replanning or state.plan else _apply_constraints(state.guards, perception)
    revision = state.plan.revision + 1 if state.plan else 0
    try:
        plan, avoid, notes = _plan_with_memory(state, perception, revision, recalled)
        if model is not None:
            plan, state = model(state, perception, plan, avoid, revision)
            if state.status != "running":
                return state
        plan, critic_note = _review(plan, perception, guards, avoid, state.run_id)
    except NoRouteError as exc:
        return _ended(state, "no_route", str(exc))
    except _Ended as ended:
        return _ended(state.model_copy(update={"plan": ended.plan}), ended.reason, ended.detail)

    kept: dict = {}
    if state.plan:
        plan, kept = _keep_done(plan, state)
    note = f"revision {revision}" + (
        f": replanned around {state.replan.step_id} ({state.replan.reason})" if state.replan else ""
    )
    dry_run = perception.constraints.dry_run
    if dry_run:
        note += ": a dry run, the plan is shown and no tool is called"
    journal_event(
        "plan",
        "Plan",
        dry_run=dry_run,
        revision=revision,
        steps=_steps(plan),
        replanned_around=state.replan.step_id if state.replan else None,
        kept_results=sorted(kept),
    )
    return state.model_copy(
        update={
            "plan": plan,
            "plan_ok": not dry_run,  # a dry run goes from its checked plan to Finalize
            "guards": guards,
            "results": kept if state.plan else state.results,
            "replan": None,
            "plan_notes": [*state.plan_notes, *notes, *([critic_note] if critic_note else []), note],
            "decision": None,
        }
    )
