"""Where a step's result lives: in the state, or in the run store when it was too large.

Its own module so that the critic and the execution states read results the same way without
importing each other.
"""

from __future__ import annotations

from typing import Any

from chalicelib.contracts import RunState, Step
from chalicelib.journal import read_blob
from chalicelib.largevalues import BLOB_KEY


def result_value(state: RunState, step_id: str) -> Any:
    """A step's result, read through the journal's reader (the run store) when it was too large for the state."""
    value = state.results[step_id]
    if isinstance(value, dict) and BLOB_KEY in value:
        return read_blob(value[BLOB_KEY])
    return value


def task_index(step: Step) -> int | None:
    """The sub-task a step carries out (``s3`` and ``s3b`` -> 2), or None for a step of no sub-task."""
    base = step.alternative_of or step.id
    return int(base[1:]) - 1 if base[:1] == "s" and base[1:].isdigit() else None


def task_step(state: RunState, index: int) -> Step | None:
    """The step that carried out sub-task ``index``: ``s<n>`` or one of its alternatives (``s<n>b``),
    the one with a result first, then one that was skipped, else the one planned."""
    base = f"s{index + 1}"
    steps = [s for s in (state.plan.steps if state.plan else []) if s.id == base or s.alternative_of == base]
    for chosen in (
        next((s for s in steps if s.id in state.results), None),
        next((s for s in steps if s.id in state.skipped), None),
    ):
        if chosen is not None:
            return chosen
    return steps[0] if steps else None
