"""The model as a source of ``PerceivedState`` for the Perceive state (LLM mode)."""

from __future__ import annotations

from chalicelib.contracts import PerceivedState, RunState
from chalicelib.llm._consult import consult
from chalicelib.llm.errors import LLMUnusableError
from chalicelib.llm.prompts import perception_messages

_ACTIONABLE = ("single", "multi_step", "conditional")


def _check(perception: PerceivedState) -> None:
    """A perception is usable when the rule-based planner (the fallback for the plan) can plan it."""
    from chalicelib.planning.planner import NoRouteError, make_plan

    if perception.task_type in _ACTIONABLE and not perception.subtasks:
        raise LLMUnusableError(f"task_type {perception.task_type!r} with no sub-tasks")
    try:
        make_plan(perception)
    except NoRouteError:
        pass  # a real answer: the Plan state reports it as no_route
    except Exception as exc:
        raise LLMUnusableError(
            f"the planner cannot use this perception ({type(exc).__name__}: {exc})"
        ) from None


def perceive_with_model(state: RunState, rules: PerceivedState) -> tuple[PerceivedState, RunState]:
    """The model's perception when it is usable, else ``rules``; and the state with the tokens counted.

    The returned state is stopped (``llm_token_budget``) when the model's tokens exceed the budget.
    """
    result = consult(
        state, "Perceive", "perception", PerceivedState, lambda: perception_messages(state.request), _check
    )
    return result.value or rules, result.state
