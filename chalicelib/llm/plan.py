"""The model as a source of ``Plan`` for the Plan state (LLM mode).

The plan returned here is only a candidate: the Plan state sends it through the same policy,
validator and critic as a rule-based plan, so the model never reaches a tool, a host or a path the
policy would refuse.
"""

from __future__ import annotations

from chalicelib.config import get_settings
from chalicelib.contracts import PerceivedState, Plan, RunState
from chalicelib.llm._consult import consult
from chalicelib.llm.errors import LLMUnusableError
from chalicelib.llm.prompts import plan_messages

_DEFAULT_OPS_API = "http://127.0.0.1:8765"  # what the rule-based planner assumes when none is configured


def plan_with_model(
    state: RunState, perception: PerceivedState, rules: Plan, avoid: set[str], revision: int
) -> tuple[Plan, RunState]:
    """The model's plan when it is usable, else ``rules``; and the state with the tokens counted."""

    def check(plan: Plan) -> None:
        if not plan.steps:
            raise LLMUnusableError("the plan has no steps")
        if repeated := sorted({s.id for s in plan.steps} & avoid):
            raise LLMUnusableError(
                f"the plan reuses {', '.join(repeated)}, which failed or memory advised against"
            )

    base_url = get_settings().mock_api_url or _DEFAULT_OPS_API
    result = consult(
        state, "Plan", "plan", Plan, lambda: plan_messages(perception, avoid, revision, base_url), check
    )
    plan = result.value.model_copy(update={"revision": revision}) if result.value else rules
    return plan, result.state
