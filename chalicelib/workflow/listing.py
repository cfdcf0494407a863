"""Recent runs as every reader sees them, ending any approval that waited past its TTL.

Whoever opens a run (``cli show``, ``GET /runs/{id}``) ends a hold past ``MAOO_APPROVAL_TTL_SECONDS``
(``resume.end_if_expired``); whoever lists runs (``cli runs``, ``GET /runs``) does the same, so no run
reads ``awaiting_approval`` in one view and expired in another, and the expiry is in its trace
whichever view came first.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.config import Settings
from chalicelib.durable.status import approval_expired, as_seen
from chalicelib.memory.records import RunRow, record_of
from chalicelib.memory.store import get_run_store
from chalicelib.workflow.resume import end_if_expired
from chalicelib.workflow.sfn_runner import WorkflowRunner

Engine = Callable[[], tuple[WorkflowRunner, Settings]]


def list_runs(limit: int, engine: Engine) -> list[RunRow]:
    """The ``limit`` newest runs (``RunStore.list_runs`` rows). ``engine`` opens the runner that ends
    an expired hold (its Finalize runs as a new execution); it is called only if one has expired."""
    store = get_run_store()
    opened: list[tuple[WorkflowRunner, Settings]] = []
    listed: list[RunRow] = []
    for row in store.list_runs(limit):
        if row["status"] == "awaiting_approval":
            document = store.get_run(row["run_id"]) or dict(row)
            if approval_expired(document):
                if not opened:
                    opened.append(engine())
                runner, settings = opened[0]
                document = end_if_expired(runner, settings, document)
            seen = record_of(as_seen(document))
            row = {**row, "status": seen.status, "stop_reason": seen.stop_reason}
        listed.append(row)
    return listed
