"""The critic, its one revision, and the final check of a run's result against its clauses' postconditions."""

from __future__ import annotations

import time

import pytest

from chalicelib.config import reload_settings
from chalicelib.contracts import Plan, RunState, Step
from chalicelib.execution.postconditions import unmet as check_result
from chalicelib.journal import Transition, run_step
from chalicelib.memory.facts import Recollection
from chalicelib.perception.request_reader import perceive
from chalicelib.planning import plan_state as planning_layer
from chalicelib.planning.critic import critique
from chalicelib.planning.planner import make_plan

API = "http://127.0.0.1:8765"
CONDITIONAL = "If the error rate of search is above 5 %, open an incident"


@pytest.fixture(autouse=True)
def mock_api_url(monkeypatch):
    monkeypatch.setenv("MAOO_MOCK_API_URL", API)
    reload_settings()


def _notify_step(step_id: str = "s9") -> Step:
    return Step(
        id=step_id,
        tool="http_post",
        args={"url": f"{API}/notifications", "json_body": {"channel": "ops", "message": "hi"}},
    )


def _state(request: str) -> RunState:
    return RunState(
        run_id=f"run-{time.monotonic_ns()}",
        request=request,
        started_at=time.time(),
        perception=perceive(request),
    )


def _plan(state: RunState) -> Transition[RunState]:
    """The Plan state with nothing remembered (an answer from memory with no facts)."""
    return run_step(planning_layer.plan_state, state, Recollection(read_at=time.time()))


def _critic_events(transition: Transition[RunState]) -> list[dict]:
    return [data for kind, _, data in transition.events if kind == "critic"]


def test_the_planners_own_plan_passes_the_critic():
    perception = perceive("Fetch mock data, calculate 2 + 2, and save the result to result.txt")

    assert critique(make_plan(perception), perception) == []


def test_a_write_nobody_asked_for_is_rejected_by_name():
    perception = perceive("Get the status of payments")
    plan = make_plan(perception)
    plan = plan.model_copy(update={"steps": [*plan.steps, _notify_step()]})

    issues = critique(plan, perception)

    assert [(i.step_id, i.rule) for i in issues] == [("s9", "critic.unasked_write")]
    assert "did not ask for" in str(issues[0])


def test_a_conditional_write_planned_unconditionally_is_rejected():
    perception = perceive(CONDITIONAL)
    plan = make_plan(perception)
    steps = [s.model_copy(update={"when": None}) if s.id == "s3" else s for s in plan.steps]

    issues = critique(plan.model_copy(update={"steps": steps}), perception)

    assert [(i.step_id, i.rule) for i in issues] == [("s3", "critic.unconditional")]


def test_a_missing_step_and_a_wrong_target_are_each_named():
    perception = perceive("Calculate 2 + 2 and save the result to result.txt")
    plan = make_plan(perception)
    wrong = plan.steps[1].model_copy(update={"args": {**plan.steps[1].args, "path": "other.txt"}})

    assert [i.rule for i in critique(Plan(steps=[plan.steps[0]]), perception)] == ["critic.uncovered"]
    assert [i.rule for i in critique(Plan(steps=[plan.steps[0], wrong]), perception)] == [
        "critic.wrong_target"
    ]


def test_a_rejected_plan_gets_one_revision_that_drops_the_unasked_write(monkeypatch):
    real = planning_layer.make_plan

    def adds_a_notification(perception, avoid=None, revision=0):
        plan = real(perception, avoid, revision)
        return plan.model_copy(update={"steps": [*plan.steps, _notify_step()]})

    monkeypatch.setattr(planning_layer, "make_plan", adds_a_notification)
    state = _state("Get the status of payments")

    planned = _plan(state)
    after = planned.state

    assert after.plan_ok and after.status == "running"
    assert [s.tool for s in after.plan.steps] == ["http_get"]
    events = _critic_events(planned)
    assert [(e["attempt"], e["verdict"]) for e in events] == [(1, "rejected"), (2, "accepted")]
    assert "s9" in events[0]["issues"][0] and [s["id"] for s in events[0]["steps"]] == ["s1", "s9"]
    assert any(note.startswith("critic: revised the plan") for note in after.plan_notes)


def test_a_revision_restores_the_condition_the_request_set(monkeypatch):
    real = planning_layer.make_plan

    def forgets_the_condition(perception, avoid=None, revision=0):
        plan = real(perception, avoid, revision)
        return plan.model_copy(update={"steps": [s.model_copy(update={"when": None}) for s in plan.steps]})

    monkeypatch.setattr(planning_layer, "make_plan", forgets_the_condition)
    after = _plan(_state(CONDITIONAL)).state

    assert after.plan_ok
    assert after.plan.steps[2].when is not None and after.plan.steps[2].when.subject == "s2.value"


def test_a_plan_the_critic_rejects_twice_ends_the_run_with_both_reasons(monkeypatch):
    monkeypatch.setattr(planning_layer, "revise_plan", lambda plan, perception, flagged, avoid=None: plan)
    real = planning_layer.make_plan
    monkeypatch.setattr(
        planning_layer,
        "make_plan",
        lambda p, avoid=None, revision=0: real(p, avoid, revision).model_copy(
            update={"steps": [*real(p, avoid, revision).steps, _notify_step()]}
        ),
    )
    state = _state("Get the status of payments")

    planned = _plan(state)
    after = planned.state

    assert (after.status, after.stop_reason, after.plan_ok) == ("stopped", "critic_rejected", False)
    assert "and its revision" in after.stop_detail and after.stop_detail.count("critic.unasked_write") == 2
    assert [e["verdict"] for e in _critic_events(planned)] == ["rejected", "rejected"]


# ---------------------------------------------------------------- the final check


def _ran(request: str, results: dict, skipped: list[str] | None = None) -> RunState:
    state = _state(request)
    return state.model_copy(
        update={"plan": make_plan(state.perception), "results": results, "skipped": skipped or []}
    )


def test_every_criterion_met_leaves_nothing_unmet():
    state = _ran(
        "What is the error rate of payments?",
        {
            "s1": {"status": 200, "body": {"requests": 12000, "errors": 240}},
            "s2": {"expression": "round(240 / 12000 * 100, 4)", "value": 2},
        },
    )

    assert check_result(state) == []


def test_a_missing_or_empty_result_is_reported_with_its_criterion():
    state = _ran(
        "Fetch mock data, calculate 2 + 2, and summarize the result",
        {
            "s1": {"status": 200, "body": {"items": []}},
            "s3": {"summary": "   "},
        },
    )

    assert check_result(state) == [
        'clause 2 "calculate 2 + 2" (2 + 2 computed): s2 has no result',
        'clause 3 "summarize the result" (a summary of the results): s3 has an empty summary',
    ]


def test_a_conditional_step_skipped_because_its_condition_did_not_hold_is_met():
    state = _ran(
        "If the error rate of payments is above 5 %, open an incident",
        {
            "s1": {"status": 200, "body": {"requests": 12000, "errors": 240}},
            "s2": {"expression": "...", "value": 2},
        },
        skipped=["s3"],
    )

    assert check_result(state) == []


def test_a_write_that_returned_no_id_is_unmet():
    state = _ran("Open a sev2 incident for search", {"s1": {"status": 201, "body": {}}})

    assert check_result(state) == [
        'clause 1 "Open a sev2 incident for search" (sev2 incident opened for search): s1 returned no id'
    ]
