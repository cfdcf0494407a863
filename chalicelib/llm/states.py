"""The Perceive and Plan states as the Lambdas run them: the layers' states with LLM mode wired in.

This is the composition root for LLM mode (``app.py`` points the perceive and plan functions here).
The layers take the model step as an argument instead of importing it, so ``chalicelib.llm`` depends
on perception and planning (it checks the model's answers against them) and never the other way.
With LLM mode off (``MAOO_NO_LLM_MODE=true``, the default) the layers run rules only and the model
modules are never imported, so the rule-based cold start does not pay for them.

``recalled`` (long-term memory's answer to the layer's ``memory_query``, read by the handler
adapter) is passed through as it is.
"""

from __future__ import annotations

from chalicelib.config import get_settings
from chalicelib.contracts import RunState
from chalicelib.memory.facts import Recollection
from chalicelib.perception import perceive_state as perception_layer
from chalicelib.planning import plan_state as planning_layer


def perceive_state(state: RunState, recalled: Recollection | None = None) -> RunState:
    """The Perceive state; in LLM mode a direct request is also put to the model."""
    if not get_settings().llm_requested:
        return perception_layer.perceive_state(state, recalled)
    from chalicelib.llm.perceive import perceive_with_model

    return perception_layer.perceive_state(state, recalled, model=perceive_with_model)


def plan_state(state: RunState, recalled: Recollection | None = None) -> RunState:
    """The Plan state; in LLM mode the model may replace the rule-based plan before the checks
    (never the plan of plan text: a person wrote exactly what to do)."""
    if not get_settings().llm_requested or state.plan_text:
        return planning_layer.plan_state(state, recalled)
    from chalicelib.llm.plan import plan_with_model

    return planning_layer.plan_state(state, recalled, model=plan_with_model)
