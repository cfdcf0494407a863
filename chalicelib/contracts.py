"""Models that cross a state boundary.

Everything the state machine carries from one state to the next is a `RunState`, serialised as
JSON. Each Lambda parses its input with these models (``extra="forbid"``), so a malformed payload
fails loudly at the boundary instead of deep inside a layer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from chalicelib.bounds import GUARD_BOUNDS

SideEffect = Literal["read", "write-idempotent", "write"]
# "awaiting_approval": the execution ended in AwaitingApproval; "interrupted" is never in a RunState, only in
# what the run store shows for a "running" run whose owner is gone (see chalicelib.durable)
RunStatus = Literal["running", "succeeded", "failed", "stopped", "awaiting_approval"]
# what a reader sees: a "running" run whose owner is gone reads "interrupted"
ShownRunStatus = Literal["running", "succeeded", "failed", "stopped", "awaiting_approval", "interrupted"]
Approval = Literal["none", "writes"]
# Why a run ended other than ``succeeded``: one name per cause, so a user, a test and a metric can tell them apart.
StopReason = Literal[
    # perception and planning: nothing ran
    "unsupported_request",
    "ambiguous_request",
    "policy_denied",
    "invalid_plan",
    "critic_rejected",
    "no_route",
    # stop guards
    "max_steps",
    "max_retries",
    "budget",
    "deadline",
    "non_progress",
    "llm_token_budget",
    # a tool failed for good
    "unsafe_retry",
    "tool_failed",
    "bad_args",
    "auth",
    "not_found",
    "schema_drift",
    "malformed_response",
    # the run did not do what was asked
    "criteria_unmet",
    # execution
    "unresolved_reference",
    "invalid_state",
    "crash",
    "execution_not_started",
    "execution_failed",
    "execution_timed_out",
    "execution_aborted",
    # approvals (durable runs)
    "rejected",
    "approval_expired",
    # Express: the run needed more executions than MAOO_EXPRESS_MAX_CONTINUATIONS allows
    "continuation_limit",
]
# What a tool's failure was (``ToolError.kind``), before the monitor turns it into a signal.
FailureKind = Literal[
    "http_status",
    "timeout",
    "connection",
    "malformed_response",
    "schema_drift",
    "bad_args",
    "policy_denied",
    "not_found",
    "invalid_input",
    "crash",
    "unknown",
    # sent, but no answer recorded (the caller died, or another live invocation still holds the call):
    # the same idempotency key resolves it
    "unknown_outcome",
]
FAILURE_KINDS: frozenset[str] = frozenset(FailureKind.__args__)  # type: ignore[attr-defined]
Signal = Literal[
    "ok",
    "transient",
    "rate_limited",
    "timeout",
    "bad_args",
    "auth",
    "not_found",
    "malformed_response",
    "schema_drift",
    "policy_denied",
    "unknown_outcome",
    "fatal",
]
Decision = Literal["continue", "retry", "patch_args", "replan", "abort"]
Route = Literal["call", "finish", "await_approval", "continue"]
Comparator = Literal[">", ">=", "<", "<=", "==", "!="]
SubTaskKind = Literal["fetch", "compute", "summarize", "query", "save", "create", "notify"]
TaskType = Literal["single", "multi_step", "conditional", "unsupported", "ambiguous"]


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", defer_build=True
    )  # schemas built on first use: cold starts stay short


# ---------------------------------------------------------------- perception


class Condition(Model):
    """A comparison on an earlier result: ``<subject> <op> <value>``."""

    subject: str
    op: Comparator
    value: float


class _Params(Model):
    """A sub-task's typed parameters: each kind has its own model, read by attribute (``task.params.service``)
    after narrowing the sub-task by ``kind`` or ``isinstance``; a field that is ``None`` was not said."""


Resource = Literal["mock_data", "metrics", "service", "services", "incidents", "deployments", "url", "sql"]
FilterOp = Literal["=", "!=", "in", "not in", ">", ">=", "<", "<="]
# what a question over an estate table computes over the rows its filters select ("list": the rows
# themselves; "argmax"/"argmin": the row with the highest/lowest ``field``; "latest"/"earliest": by time)
# "one": the rows of a question about one object named in the singular ("the checkout incident"): exactly
# one row must match, else the question was ambiguous
Aggregate = Literal[
    "count", "sum", "avg", "min", "max", "argmax", "argmin", "latest", "earliest", "list", "one"
]


class Filter(Model):
    """One condition a row must meet: ``field op value`` (``value`` is a list for ``in`` / ``not in``)."""

    field: str
    op: FilterOp = "="
    value: Any


class Content(Model):
    """What an action writes: the user's own words (``literal``), a value computed by an earlier sub-task
    (``value``: sub-task ``task``, its ``field``), or the answer so far in sentences (``answer``)."""

    kind: Literal["literal", "value", "answer"]
    text: str | None = None
    task: int | None = None
    field: str | None = None


class ReadParams(_Params):
    """What a read names: the resource and the filters the catalogue allows on it.

    The flat fields (``service``, ``status``, ...) are equality filters; ``filters`` holds every other
    kind (negation, membership, comparison). ``field`` is the column asked for (or aggregated),
    ``aggregate`` what is computed over the selected rows, ``group_by`` one result per value of a column.
    """

    resource: Resource | None = None
    service: str | None = None
    window: str | None = None
    status: str | None = None
    severity: str | None = None
    tier: int | None = None
    region: str | None = None
    owner: str | None = None
    url: str | None = None
    sql: str | None = None
    aggregate: Aggregate | None = None
    field: str | None = None
    filters: list[Filter] = Field(default_factory=list)
    group_by: str | None = None
    unit: str | None = None  # the unit the answer is given in ("s" for a latency held in ms, "millions")
    round_to: int | None = None  # decimal places


class ComputeParams(_Params):
    """An expression for calc; ``refs`` maps each ``@ref`` in it to ``[sub-task index, field]``."""

    expression: str | None = None
    refs: dict[str, list[Any]] = Field(default_factory=dict)
    metric: Literal["error_rate"] | None = None
    service: str | None = None
    window: str | None = None
    unit: str | None = (
        None  # the unit the value is in, for the answer: "%", "ms", "s", "min", "millions", ...
    )


class SummarizeParams(_Params):
    pass


class SaveParams(_Params):
    path: str
    format: str
    content: Content | None = None  # None: what the last step produced


class CreateParams(_Params):
    resource: Literal["incident"] = "incident"
    service: str | None = None
    severity: str | None = None
    title: Content | None = None


class NotifyParams(_Params):
    channel: str
    service: str | None = None
    content: Content | None = None  # None: the task's own words, with the last value computed


class _Task(Model):
    """One unit of what the user asked for, in the order they asked."""

    text: str
    condition: Condition | None = None
    success_criteria: list[str] = Field(default_factory=list)


class FetchTask(_Task):
    kind: Literal["fetch"] = "fetch"
    params: ReadParams = Field(default_factory=ReadParams)


class QueryTask(_Task):
    """A read the user asked of the ops database (or that only the database answers)."""

    kind: Literal["query"] = "query"
    params: ReadParams = Field(default_factory=ReadParams)


class ComputeTask(_Task):
    kind: Literal["compute"] = "compute"
    params: ComputeParams = Field(default_factory=ComputeParams)


class SummarizeTask(_Task):
    kind: Literal["summarize"] = "summarize"
    params: SummarizeParams = Field(default_factory=SummarizeParams)


class SaveTask(_Task):
    kind: Literal["save"] = "save"
    params: SaveParams


class CreateTask(_Task):
    kind: Literal["create"] = "create"
    params: CreateParams = Field(default_factory=CreateParams)


class NotifyTask(_Task):
    kind: Literal["notify"] = "notify"
    params: NotifyParams


SubTask = Annotated[
    FetchTask | QueryTask | ComputeTask | SummarizeTask | SaveTask | CreateTask | NotifyTask,
    Field(discriminator="kind"),
]
_SUBTASK = TypeAdapter(SubTask)


def make_subtask(
    **fields: Any,
) -> FetchTask | QueryTask | ComputeTask | SummarizeTask | SaveTask | CreateTask | NotifyTask:
    """The typed sub-task ``fields`` describe (chosen by ``kind``), validated."""
    return _SUBTASK.validate_python(fields)


class Constraints(Model):
    max_steps: int | None = None
    deadline_seconds: float | None = None
    budget: float | None = None
    read_only: bool = False
    no_files: bool = False
    denied_tools: list[str] = Field(default_factory=list)
    # plan and check, run no tool: the answer is the plan ("just show me the plan", "don't actually do it")
    dry_run: bool = False


ReadingKind = Literal["subtask", "condition", "constraint", "not_understood", "unsupported", "missing"]


class ClauseReading(Model):
    """How one clause of the request was read: by which named rule, into what.

    Every clause is accounted for: a sub-task (``reading="subtask"``), a condition, a constraint, or
    not understood / not doable / missing something, which stops the run before any tool runs.
    """

    text: str
    rule: str
    reading: ReadingKind


class PerceivedState(Model):
    intent: str
    task_type: TaskType
    entities: dict[str, Any] = Field(default_factory=dict)
    constraints: Constraints = Field(default_factory=Constraints)
    success_criteria: list[str] = Field(default_factory=list)
    subtasks: list[SubTask] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    unsupported: list[str] = Field(default_factory=list)
    corrections: list[str] = Field(
        default_factory=list
    )  # typos corrected towards the catalogue: '"chekout" -> "checkout"'
    readings: list[ClauseReading] = Field(default_factory=list)
    # the request language's canonical one-line text of ``subtasks`` (chalicelib.perception.language):
    # what MAOO understood, shown before anything runs
    understood: str = ""


# ---------------------------------------------------------------- planning


class Step(Model):
    """A tool call in the plan.

    Argument values may contain references to earlier results, written ``{{s1.field}}``; they
    are resolved by the execution layer just before the call and validated again then.
    """

    id: str
    tool: str
    args: dict[str, Any]
    depends_on: list[str] = Field(default_factory=list)
    when: Condition | None = None
    purpose: str = ""
    alternative_of: str | None = None


class Plan(Model):
    steps: list[Step]
    revision: int = 0
    rationale: str = ""


# ---------------------------------------------------------------- tools


class ToolCall(Model):
    """The event a tool Lambda receives."""

    run_id: str
    step_id: str
    tool: str
    args: dict[str, Any]
    attempt: int = 1
    idempotency_key: str | None = None
    # set on the call of a run that was taken over (resume, a person's approval): an idempotency record
    # its gone owner left in progress is replayed with the same key, not waited on
    replay: bool = False
    # when the run's deadline passes (epoch seconds): the local Lambda context's remaining time
    deadline_at: float | None = None


class ToolError(Model):
    kind: FailureKind
    message: str
    status_code: int | None = None
    retry_after: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kind", mode="before")
    @classmethod
    def _known_kind(cls, kind: Any) -> Any:
        """A kind no tool of ours reports (a foreign or newer tool) is ``unknown``, which the monitor treats as fatal."""
        return kind if kind in FAILURE_KINDS or not isinstance(kind, str) else "unknown"


class ToolResult(Model):
    """What a tool Lambda returns. Failures are data: only platform faults raise."""

    ok: bool
    tool: str
    output: Any = None
    output_ref: str | None = None
    error: ToolError | None = None
    latency_ms: float = 0.0


# ---------------------------------------------------------------- execution


class ToolOutcome(Model):
    """Where the CallX states put the tool Lambda's answer (``ResultSelector`` -> ``$.outcome``)."""

    result: ToolResult


class StepRecord(Model):
    """One tool call as it happened: the execution log's line."""

    step_id: str
    tool: str
    args: dict[str, Any]
    attempt: int
    ok: bool
    signal: Signal
    decision: Decision
    reason: str = ""
    latency_ms: float = 0.0
    output_preview: Any = None
    output_ref: str | None = None
    error: ToolError | None = None
    wait_seconds: float = 0.0


def _bounded(name: str, default: float) -> Any:
    """A guard field limited to its range in ``bounds.GUARD_BOUNDS`` (finite, never inf or nan)."""
    bound = GUARD_BOUNDS[name]
    if bound.above:
        return Field(default=default, gt=bound.minimum, le=bound.maximum, allow_inf_nan=False)
    return Field(default=default, ge=bound.minimum, le=bound.maximum, allow_inf_nan=False)


class Guards(Model):
    """The stop guards of one run; each within its documented range (``chalicelib/bounds.py``)."""

    max_steps: int = _bounded("max_steps", 12)
    max_retries_per_step: int = _bounded("max_retries_per_step", 2)
    max_retries: int = _bounded("max_retries", 6)
    budget: float = _bounded("budget", 20.0)
    deadline_seconds: float = _bounded("deadline_seconds", 120.0)
    non_progress_limit: int = _bounded("non_progress_limit", 4)
    llm_token_budget: int = _bounded(
        "llm_token_budget", 50_000
    )  # model tokens per run (LLM mode); past it the run stops


class Counters(Model):
    tool_calls: int = 0
    retries: int = 0
    replans: int = 0
    patches: int = 0
    cost: float = 0.0
    llm_tokens: int = 0


class Replan(Model):
    step_id: str
    tool: str
    signal: Signal
    reason: str
    avoid: list[str] = Field(default_factory=list)
    patched: list[str] = Field(default_factory=list)


class ApprovalRequest(Model):
    """A call held for a person's decision: the run ended in ``AwaitingApproval`` until then."""

    step_id: str
    tool: str
    args: dict[str, Any]
    side_effect: SideEffect
    idempotency_key: str | None = None
    reason: str
    requested_at: float


class ForkOrigin(Model):
    """Where a fork came from (``python -m cli fork``): the run and the step it was started at,
    and the steps before that step whose recorded results it reuses instead of running them."""

    run_id: str
    step_id: str
    reused: list[str] = Field(default_factory=list)
    # the arguments a person set on the fork ("s3.json_body.severity" -> "sev1"): what the run is now asked
    set: dict[str, Any] = Field(default_factory=dict)


class ExpressSlice(Model):
    """An Express execution's share of a run: at NextStep past ``ends_at`` (wall clock) the execution
    ends at its checkpoint and the run goes on as a new one; ``continuations`` counts those so far."""

    ends_at: float
    continuations: int = 0


class RunState(Model):
    """The document that flows through the state machine."""

    run_id: str
    request: str
    # the request is the request language's text (``--plan-text``): Perception parses it, never reads it
    plan_text: bool = False
    started_at: float
    guards: Guards = Field(default_factory=Guards)
    use_memory: bool = True
    perception: PerceivedState | None = None
    plan: Plan | None = None
    plan_ok: bool = False
    plan_notes: list[str] = Field(default_factory=list)
    results: dict[str, Any] = Field(default_factory=dict)
    skipped: list[str] = Field(default_factory=list)
    attempts: dict[str, int] = Field(default_factory=dict)
    failures: dict[str, int] = Field(default_factory=dict)
    call: ToolCall | None = None
    outcome: ToolOutcome | None = None
    tool_crash: dict[str, Any] | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    counters: Counters = Field(default_factory=Counters)
    replan: Replan | None = None
    avoid: list[str] = Field(default_factory=list)
    patched: list[str] = Field(default_factory=list)
    route: Route | None = None
    decision: Decision | None = None
    wait_seconds: int = 0
    status: RunStatus = "running"
    stop_reason: StopReason | None = None
    stop_detail: str = ""
    final_output: str | None = None
    answer: dict[str, Any] | None = None  # the final output's structured parts (chalicelib.execution.answer)
    crash: dict[str, Any] | None = None
    # durable runs: which calls wait for approval, the keys approved so far, the call held now, and
    # (on a resumed execution only) the state the entry Choice sends the run to
    approve: Approval = "none"
    approved: list[str] = Field(default_factory=list)
    pending_approval: ApprovalRequest | None = None
    resume_at: str | None = None
    forked_from: ForkOrigin | None = None
    express_slice: ExpressSlice | None = None  # set by the runner on an Express workflow only
