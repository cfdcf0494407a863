"""Drive a run from a request-language reading given by hand, and alter its plan: what the answer
and postcondition tests need, independent of how the reader phrases a request today."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.contracts import Condition, PerceivedState, Plan, RunState, Step, make_subtask


def task(kind: str, text: str, *, when: tuple[int, str, float] | None = None, **params: Any) -> Any:
    """One sub-task; ``when=(subject index, op, value)`` makes it conditional."""
    condition = Condition(subject=f"#{when[0]}", op=when[1], value=when[2]) if when else None  # type: ignore[arg-type]
    return make_subtask(kind=kind, text=text, condition=condition, params=params)


def error_rate(service: str) -> list[Any]:
    """Sub-tasks 0 and 1: the service's metrics over 1h, and its error rate from them."""
    return [
        task("fetch", f"{service} metrics", resource="metrics", service=service, window="1h"),
        task(
            "compute",
            f"the error rate of {service}",
            expression="round(@errors / @requests * 100, 4)",
            refs={"@errors": [0, "errors"], "@requests": [0, "requests"]},
            metric="error_rate",
            service=service,
            window="1h",
        ),
    ]


def understood(monkeypatch, *subtasks: Any) -> None:
    """Every run's Perceive state reads the request as ``subtasks``."""
    from chalicelib.perception import perceive_state as perception_layer

    conditional = any(t.condition is not None for t in subtasks)
    perception = PerceivedState(
        intent="as given by the test",
        task_type="conditional" if conditional else ("multi_step" if len(subtasks) > 1 else "single"),
        subtasks=list(subtasks),
    )

    def perceive_state(state: RunState, recalled: Any = None) -> RunState:
        return state.model_copy(update={"perception": perception})

    monkeypatch.setattr(perception_layer, "perceive_state", perceive_state)


def alter_plan(monkeypatch, change: Callable[[Step], Step | None]) -> None:
    """Every plan the Plan state makes goes through ``change`` step by step (None drops the step):
    a planner that gets a clause wrong, after its own checks."""
    from chalicelib.planning import plan_state as planning_layer

    real = planning_layer.plan_state

    def plan_state(state: RunState, recalled: Any = None) -> RunState:
        after = real(state, recalled)
        if after.plan is None:
            return after
        steps = [s for s in (change(step) for step in after.plan.steps) if s is not None]
        return after.model_copy(update={"plan": Plan(**{**after.plan.model_dump(), "steps": steps})})

    monkeypatch.setattr(planning_layer, "plan_state", plan_state)


def with_args(step: Step, **args: Any) -> Step:
    return step.model_copy(update={"args": {**step.args, **args}})
