"""What the run store holds, typed: the run document, trace events, checkpoints, owners, request keys.

The run document is a pydantic model (``RunRecord``): its fields are every key a run's document
has, in the order its JSON shows them; a key a stored document does not have is left unset and
is not written back (``as_json``), so the JSON of the HTTP API and of ``--json`` stays as it was.
Whether a run is still going is its status (``in_flight``), never a missing key.

The store's rows (events, checkpoints, owners, request keys) are ``TypedDict``s: plain dicts at
run time (what the store's backends read and write), checked by mypy where they are read.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypedDict

from chalicelib.contracts import ApprovalRequest, Counters, ForkOrigin

StoredStatus = Literal["running", "interrupted", "succeeded", "failed", "stopped", "awaiting_approval"]
IN_FLIGHT: frozenset[str] = frozenset({"running", "interrupted"})
"""A run in one of these has no end document yet: readers see it as its last checkpoint holds it."""
ENDED: frozenset[str] = frozenset({"succeeded", "failed", "stopped"})
"""A run in one of these is over: nothing resumes it (a fork starts a new run from it)."""


class ForkRef(TypedDict):
    run_id: str
    step_id: str


class TraceEvent(TypedDict):
    seq: int
    ts: float
    kind: str
    state: str
    data: dict[str, Any]


class Checkpoint(TypedDict):
    """One state's checkpoint: the run's whole state after it (or a delta), and where it goes next."""

    seq: int
    ts: float
    kind: str
    state: str
    next_state: str
    document: dict[str, Any]


class Owner(TypedDict):
    """Who drives a run: a process on a host, with a lease it renews while the run is in flight."""

    pid: int
    host: str
    lease_until: float


class RequestKeyBinding(TypedDict):
    """What an idempotency key was first bound to: the request's body hash and the run it started."""

    body_hash: str
    run_id: str


class RunRow(TypedDict):
    """One run as ``list_runs`` gives it (and GET /runs, ``cli runs --json``)."""

    run_id: str
    request: str
    status: str
    stop_reason: str | None
    created_at: float
    forked_from: NotRequired[dict[str, str]]
    updated_at: NotRequired[float | None]


class RunRecord(BaseModel):
    """A run document. A start record (status ``running``) has the first keys; the document written
    when an execution ends has them all. Unknown keys are kept as they are (``extra="allow"``)."""

    model_config = ConfigDict(extra="allow", validate_assignment=False)

    run_id: str
    engine: str | None = None
    request: str = ""
    status: StoredStatus = "running"
    stop_reason: str | None = None
    stop_detail: str | None = None
    perception: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    plan_notes: list[str] | None = None
    steps: list[dict[str, Any]] | None = None
    skipped: list[str] | None = None
    counters: Counters | None = None
    guards: dict[str, Any] | None = None
    final_output: str | None = None
    answer: Any = None
    states: list[str] | None = None
    execution_arn: str | None = None
    execution_status: str | None = None
    created_at: float | None = None
    duration_ms: float | None = None
    trace_file: str | None = None
    approve: str | None = None
    pending_approval: ApprovalRequest | None = None
    execution_name: str | None = None
    forked_from: ForkOrigin | None = None
    lifecycle: list[TraceEvent] | None = None
    """Pauses, approvals, rejections and resumes, in order (the end document's)."""
    start_state: dict[str, Any] | None = None
    """The run's first state (a start record's; readers never see it: ``Runs.get`` drops it)."""
    # added for readers: where an unfinished run got to, and the runs forked from this one
    last_checkpoint: str | None = None
    forks: list[ForkRef] | None = None

    @property
    def in_flight(self) -> bool:
        """Still going, or interrupted: no end document yet, whatever keys an earlier one left."""
        return self.status in IN_FLIGHT

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def as_json(self) -> dict[str, Any]:
        """The document as stored and shown: the keys it was given, in the fields' order, then the rest."""
        given = set(self.model_fields_set) | set(self.model_extra or {})
        return self.model_dump(mode="json", include=given)


def record_of(document: dict[str, Any]) -> RunRecord:
    """A stored or shown run document, typed for reading."""
    return RunRecord.model_validate(document)
