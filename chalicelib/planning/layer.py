"""The Plan state: planner -> policy -> validator -> critic. Also the target of every replan.

An unsupported or ambiguous request, a denied or invalid plan, and a replan with no route left
all end the run here with a reason; none of them reaches a tool.
"""

from __future__ import annotations

from chalicelib.contracts import Guards, PerceivedState, RunState
from chalicelib.memory.events import record_event
from chalicelib.planning.critic import critique
from chalicelib.planning.planner import NoRouteError, make_plan
from chalicelib.planning.policy import check_plan
from chalicelib.planning.validator import validate_plan
from chalicelib.perception.lexicon import KNOWN_SERVICES

CAPABILITIES = (
    "fetch mock data, service status, metrics or incidents; compute arithmetic or a service's error rate; "
    "list services or deployments; summarize results; save them to a file; open an incident; notify a channel "
    f"(services: {', '.join(KNOWN_SERVICES)})"
)


def _apply_constraints(guards: Guards, perception: PerceivedState) -> Guards:
    c = perception.constraints
    update = {}
    if c.max_steps is not None:
        update["max_steps"] = min(guards.max_steps, c.max_steps)
    if c.budget is not None:
        update["budget"] = min(guards.budget, c.budget)
    if c.deadline_seconds is not None:
        update["deadline_seconds"] = min(guards.deadline_seconds, c.deadline_seconds)
    return guards.model_copy(update=update)


def _ended(state: RunState, reason: str, detail: str, status: str = "stopped") -> RunState:
    record_event(state.run_id, "stop", "Plan", reason=reason, detail=detail)
    return state.model_copy(update={"plan_ok": False, "status": status, "stop_reason": reason, "stop_detail": detail,
                                    "replan": None, "plan_notes": [*state.plan_notes, detail]})


def plan_state(state: RunState) -> RunState:
    perception = state.perception
    if perception is None or perception.task_type == "unsupported":
        return _ended(state, "unsupported_request", f"MAOO did not recognise an operations task in the request. It can: {CAPABILITIES}.")
    if perception.task_type == "ambiguous":
        return _ended(state, "ambiguous_request", "The request needs more detail: " + "; ".join(perception.missing) + ".")

    replanning = state.replan is not None
    guards = state.guards if replanning or state.plan else _apply_constraints(state.guards, perception)
    revision = state.plan.revision + 1 if state.plan else 0
    try:
        plan = make_plan(perception, set(state.avoid), revision)
    except NoRouteError as exc:
        return _ended(state, "no_route", str(exc))

    denials = check_plan(plan, perception)
    if denials:
        detail = "; ".join(str(d) for d in denials)
        record_event(state.run_id, "policy", "Plan", denials=[d.__dict__ for d in denials])
        return _ended(state.model_copy(update={"plan": plan}), "policy_denied", detail)
    problems = validate_plan(plan, guards)
    if problems:
        return _ended(state.model_copy(update={"plan": plan}), "invalid_plan", "; ".join(problems))
    issues = critique(plan, perception)
    if issues:
        return _ended(state.model_copy(update={"plan": plan}), "critic_rejected", "; ".join(issues))

    kept = {}
    if state.plan:
        old_args = {s.id: s.args for s in state.plan.steps}
        kept = {s.id: state.results[s.id] for s in plan.steps if s.id in state.results and old_args.get(s.id) == s.args}
    note = f"revision {revision}" + (f": replanned around {state.replan.step_id} ({state.replan.reason})" if replanning else "")
    record_event(state.run_id, "plan", "Plan", revision=revision, steps=[s.model_dump(exclude_defaults=True) for s in plan.steps],
                 replanned_around=state.replan.step_id if replanning else None, kept_results=sorted(kept))
    return state.model_copy(update={
        "plan": plan, "plan_ok": True, "guards": guards, "results": kept if state.plan else state.results,
        "replan": None, "plan_notes": [*state.plan_notes, note], "decision": None,
    })
