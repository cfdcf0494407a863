"""Where a step's result lives: in the state, or in the run store when it was too large.

Its own module so that the critic and the execution states read results the same way without
importing each other.
"""

from __future__ import annotations

from typing import Any

from chalicelib.contracts import RunState
from chalicelib.journal import read_blob
from chalicelib.largevalues import BLOB_KEY


def result_value(state: RunState, step_id: str) -> Any:
    """A step's result, read through the journal's reader (the run store) when it was too large for the state."""
    value = state.results[step_id]
    if isinstance(value, dict) and BLOB_KEY in value:
        return read_blob(value[BLOB_KEY])
    return value
