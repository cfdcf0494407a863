"""The Perceive state: request -> perceived intent and structured state."""

from __future__ import annotations

from chalicelib.contracts import RunState
from chalicelib.memory.events import record_event
from chalicelib.perception.agent import perceive


def perceive_state(state: RunState) -> RunState:
    perception = perceive(state.request)
    record_event(state.run_id, "perception", "Perceive", intent=perception.intent, task_type=perception.task_type,
                 subtasks=[t.kind for t in perception.subtasks], entities=perception.entities,
                 constraints=perception.constraints.model_dump(exclude_defaults=True), missing=perception.missing,
                 unsupported=perception.unsupported)
    return state.model_copy(update={"perception": perception})
