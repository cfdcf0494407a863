"""The Perceive state: request -> perceived intent and structured state.

A request that only points back ("do the same as last time", "again") is resolved from long-term
memory, which this layer never reads itself: ``memory_query`` says what it needs (the newest
remembered runs), the handler adapter reads it, and ``perceive_state`` takes the answer. The newest
remembered run that was not itself such a pointer is perceived instead, and the trace says which.
With nothing remembered the request is ambiguous, never guessed.

In LLM mode (``MAOO_NO_LLM_MODE=false``) a direct request is also put to the model; its answer
replaces the rule-based perception only when it validates and is usable. The model step is passed
in (``model=``) by ``chalicelib.llm.states``, the Lambda's entry point, so that perception never
imports ``chalicelib.llm`` (which checks the model against this layer): without it, rules only.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.contracts import PerceivedState, RunState
from chalicelib.journal import journal_event
from chalicelib.memory.facts import Fact, RecallQuery, Recollection, RecollectionMissingError
from chalicelib.perception.language import render
from chalicelib.perception.plan_text import perceive_plan_text
from chalicelib.perception.request_reader import perceive, refers_to_earlier_run


def memory_query(state: RunState) -> RecallQuery | None:
    """What Perceive needs from long-term memory: the newest remembered runs, for a pointer back."""
    pointer = not state.plan_text and refers_to_earlier_run(state.request)
    return RecallQuery(recent=("run", 20)) if pointer else None


def _earlier_request(run_id: str, recent: tuple[Fact, ...]) -> tuple[str, str, bool] | None:
    """``(request, run id, whether it was plan text)`` of the newest remembered run this one can repeat."""
    for fact in recent:
        request = fact.data.get("request")
        plan_text = fact.data.get("plan_text") is True
        if (
            fact.run_id != run_id
            and isinstance(request, str)
            and request.strip()
            and (plan_text or not refers_to_earlier_run(request))
        ):
            return request, fact.run_id, plan_text
    return None


def _resolve(state: RunState, recalled: Recollection) -> PerceivedState:
    # a memory that could not be read leaves the request unresolved (recalled.error), not the run crashed
    earlier = None if recalled.error else _earlier_request(state.run_id, recalled.recent)
    journal_event(
        "memory",
        "Perceive",
        refers_to_earlier_run=True,
        resolved_to=earlier[0] if earlier else None,
        from_run=earlier[1] if earlier else None,
        **({"error": recalled.error} if recalled.error else {}),
    )
    if earlier is None:
        return PerceivedState(
            intent="ambiguous",
            task_type="ambiguous",
            missing=[f"which earlier request {state.request!r} refers to: no earlier run is remembered"],
        )
    return perceive_plan_text(earlier[0]) if earlier[2] else perceive(earlier[0])


PerceptionModel = Callable[[RunState, PerceivedState], tuple[PerceivedState, RunState]]
"""LLM mode's step: ``(state, rule-based perception) -> (perception to use, state with tokens counted)``."""


def perceive_state(
    state: RunState, recalled: Recollection | None = None, *, model: PerceptionModel | None = None
) -> RunState:
    """The Perceive state; ``model`` (LLM mode) is asked about a direct request, never a pointer back.

    ``recalled`` is long-term memory's answer to ``memory_query(state)``, read by the caller; a
    request that points back cannot be perceived without it.
    """
    if (
        state.plan_text
    ):  # the request language's text, written by a person: parsed, never read or asked of a model
        return _perceived(state, perceive_plan_text(state.request))
    earlier = refers_to_earlier_run(state.request)
    if earlier and recalled is None:
        raise RecollectionMissingError(
            f"Perceive: the request {state.request!r} points back to an earlier run, and no answer from "
            "long-term memory was passed: pass recalled=answer(memory_query(state))"
        )
    perception = _resolve(state, recalled) if earlier and recalled is not None else perceive(state.request)
    if model is not None and not earlier:
        perception, state = model(state, perception)
    return _perceived(state, perception)


def _perceived(state: RunState, perception: PerceivedState) -> RunState:
    # both parsers (the offline reader, the model) end in one language, shown as one line
    perception = perception.model_copy(update={"understood": render(perception)})
    journal_event(
        "perception",
        "Perceive",
        intent=perception.intent,
        task_type=perception.task_type,
        subtasks=[t.kind for t in perception.subtasks],
        entities=perception.entities,
        constraints=perception.constraints.model_dump(exclude_defaults=True),
        missing=perception.missing,
        unsupported=perception.unsupported,
        understood=perception.understood,
    )
    return state.model_copy(update={"perception": perception})
