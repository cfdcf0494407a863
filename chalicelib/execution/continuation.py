"""Express's 5-minute cap: a run ends its execution at a checkpoint and goes on in a new one.

On an Express workflow the runner gives each execution a slice of wall-clock time
(``RunState.express_slice``, ``MAOO_EXPRESS_SLICE_SECONDS``, under the 300 s cap with room for
one step and Finalize). NextStep checks it before it routes a call: past the slice's end, it routes
the run to the machine's ``ContinueAsNew`` end instead. Nothing is in flight there (the next call
has not been made, the state is checkpointed), so the runner starts a new execution of the same
run at NextStep (``RUN_ID-rN``, as a resume) and no call is made twice. A run that would need more
than ``MAOO_EXPRESS_MAX_CONTINUATIONS`` new executions stops ``failed`` (``continuation_limit``)
instead, so a chain never goes on without end.

``clock`` is the one clock both sides read (the runner for the slice's end, NextStep for now):
tests replace it to cross a slice without waiting for one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib.config import get_settings
from chalicelib.contracts import RunState
from chalicelib.execution.stops import stop
from chalicelib.journal import journal_event

clock: Callable[[], float] = time.time


def at_slice_end(state: RunState) -> RunState | None:
    """The state NextStep returns when this execution's slice is over (``None``: go on here)."""
    part = state.express_slice
    if part is None:
        return None
    now = clock()
    if now < part.ends_at:
        return None
    limit = get_settings().express_max_continuations
    if part.continuations >= limit:
        return stop(
            state,
            "continuation_limit",
            f"the run reached the end of its Express execution's time after {part.continuations} "
            f"new executions; MAOO_EXPRESS_MAX_CONTINUATIONS is {limit} (raise it, or deploy with "
            "WorkflowType=STANDARD)",
            "NextStep",
        )
    journal_event(
        "continue",
        "NextStep",
        continuation=part.continuations + 1,
        reason=f"this Express execution's slice ended {now - part.ends_at:.1f} s ago; "
        "the run goes on in a new execution",
    )
    return state.model_copy(update={"route": "continue", "call": None})
