"""What the MCP tools answer: a run document, a run listing and the tool catalogue as typed models.

Pure functions of what ``chalicelib.api.RunService`` returns, so the answers read the same over
stdio and HTTP, and a test can check them without a client. Every answer says what the model
should do next (``next``), because a model reads the answer, not this module's documentation.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from chalicelib.bounds import GUARD_BOUNDS
from chalicelib.contracts import Guards, ShownRunStatus

ENDED_BADLY = ("failed", "stopped", "interrupted")
"""A run in one of these did not do everything it was asked: ``run_request`` answers it as a tool error."""


@dataclass(frozen=True)
class McpOptions:
    """How the operator started the server; a client can change none of it."""

    allow_writes: bool = False
    """False (the default): every write step of a run started over MCP waits for a person's approval."""
    wait_seconds: float = 20.0
    """How long ``run_request`` holds the call before it answers ``running`` with the run id."""
    api_url: str | None = None
    """The HTTP API (``chalice local``) where a person can open a run's page and approve it there."""
    mock_api_url: str | None = None
    """The in-process mock API this server serves: a run planned against it is approved against it."""
    poll_seconds: float = 0.2
    """How often a waiting ``run_request`` looks at the run (progress notifications, status)."""

    @property
    def approve(self) -> str | None:
        """The approval policy of every run started here: ``writes`` unless the operator allowed
        writes, and then ``MAOO_APPROVAL``'s (``None``: the server's setting, ``none`` by default)."""
        return None if self.allow_writes else "writes"

    def writes_held(self) -> bool:
        from chalicelib.config import get_settings

        return (self.approve or get_settings().approval) == "writes"


class _Answer(BaseModel):
    """Output models: what the server writes, so extra fields would be its own bug (forbid)."""

    model_config = {"extra": "forbid"}


def _guard_overrides() -> type[BaseModel]:
    """Each guard of ``Guards``, optional, described with its accepted range (``chalicelib.bounds``)."""
    fields: dict[str, Any] = {}
    for name in Guards.model_fields:
        kind = int if GUARD_BOUNDS[name].whole else float
        text = f"{name.replace('_', ' ')}: {GUARD_BOUNDS[name].describe()}"
        fields[name] = (kind | None, Field(default=None, description=text))
    return create_model(
        "GuardOverrides",
        __config__={"extra": "forbid"},
        __doc__="Stop guards for this run; each left out keeps the server's default.",
        **fields,
    )


GuardOverrides = _guard_overrides()


class StepSummary(_Answer):
    step_id: str
    tool: str
    attempt: int
    ok: bool
    signal: str
    decision: str
    reason: str = ""
    error: str | None = Field(default=None, description="kind: message, when the call failed")
    output_preview: Any = None


class WaitingFor(_Answer):
    """The write a run holds until a person decides; no MCP tool can decide it."""

    step_id: str
    tool: str
    side_effect: str
    writes: dict[str, Any] = Field(
        description="The arguments of the held call: what it will write, and where"
    )
    reason: str
    approve_command: str = Field(description="What a person runs to approve the write (a shell command)")
    reject_command: str
    run_page: str | None = Field(
        default=None, description="The run's page on the HTTP API, with Approve and Reject buttons"
    )


class RunAnswer(_Answer):
    run_id: str
    status: ShownRunStatus
    request: str
    answer: str | None = Field(default=None, description="The run's answer sentence (its final output)")
    stop_reason: str | None = None
    stop_detail: str | None = None
    steps: list[StepSummary] = Field(default_factory=list)
    waiting_for: WaitingFor | None = None
    next: str = Field(description="What to do next with this run")
    resources: list[str] = Field(description="MCP resources with the whole run document and its trace")


class RunRow(_Answer):
    run_id: str
    status: ShownRunStatus
    stop_reason: str | None = None
    request: str
    created_at: float | None = None


class RunList(_Answer):
    runs: list[RunRow]


class ToolInfo(_Answer):
    name: str
    description: str
    side_effect: Literal["read", "write-idempotent", "write"]
    held_for_approval: bool = Field(
        description="Whether a run started here waits for a person before this tool runs"
    )
    cost: float
    args_schema: dict[str, Any]


class ToolList(_Answer):
    tools: list[ToolInfo]


def _command(verb: str, run_id: str, mock_api_url: str | None, *extra: str) -> str:
    """``python -m cli approve RUN`` with the settings a shell needs to reach this server's run store, and
    the mock API the run was planned against when this server serves it (the CLI cannot bind its port then)."""
    env = []
    if os.environ.get("MAOO_RUNTIME_DIR"):
        env.append(f"MAOO_RUNTIME_DIR={shlex.quote(os.environ['MAOO_RUNTIME_DIR'])}")
    if mock_api_url:
        env.append(f"MAOO_MOCK_API_URL={shlex.quote(mock_api_url)}")
    return " ".join([*env, "python -m cli", verb, shlex.quote(run_id), *extra])


def _waiting_for(
    document: dict[str, Any], options: McpOptions, mock_api_url: str | None
) -> WaitingFor | None:
    pending = document.get("pending_approval")
    if document.get("status") != "awaiting_approval" or not pending:
        return None
    run_id = document["run_id"]
    return WaitingFor(
        step_id=pending["step_id"],
        tool=pending["tool"],
        side_effect=pending["side_effect"],
        writes=pending.get("args") or {},
        reason=pending.get("reason", ""),
        approve_command=_command("approve", run_id, mock_api_url),
        reject_command=_command("reject", run_id, mock_api_url, "--reason", "'...'"),
        run_page=f"{options.api_url.rstrip('/')}/runs/{run_id}/view" if options.api_url else None,
    )


def _step(record: dict[str, Any]) -> StepSummary:
    error = record.get("error")
    return StepSummary(
        step_id=record["step_id"],
        tool=record["tool"],
        attempt=record["attempt"],
        ok=record["ok"],
        signal=record["signal"],
        decision=record["decision"],
        reason=record.get("reason") or "",
        error=f"{error['kind']}: {error['message']}" if isinstance(error, dict) else None,
        output_preview=record.get("output_preview"),
    )


def _next(document: dict[str, Any], waiting: WaitingFor | None) -> str:
    run_id, status = document["run_id"], document["status"]
    if status == "running":
        return f"The run is still going: call get_run with run_id {run_id!r} in a few seconds."
    if waiting is not None:
        where = f" or open {waiting.run_page}" if waiting.run_page else ""
        return (
            f"Nothing is written yet: step {waiting.step_id} ({waiting.tool}) waits for a person's approval. "
            f"You cannot approve it; ask a person to run `{waiting.approve_command}`{where}, "
            f"then call get_run with run_id {run_id!r}."
        )
    if status == "succeeded":
        return "Done: the run's answer is in `answer`."
    if status == "interrupted":
        return (
            f"The run was interrupted ({document.get('final_output') or 'its process is gone'}); "
            f"a person can finish it with `python -m cli resume {run_id}`."
        )
    detail = document.get("stop_detail") or "no detail given"
    return f"The run ended {status} ({document.get('stop_reason')}): {detail}"


def run_answer(
    document: dict[str, Any], options: McpOptions, served_mock_api: str | None = None
) -> RunAnswer:
    """A run document (``RunService.get``) as the tools answer it. ``served_mock_api``: this server's mock
    API, when the run was planned against it (see ``_command``)."""
    run_id = document["run_id"]
    waiting = _waiting_for(document, options, served_mock_api)
    return RunAnswer(
        run_id=run_id,
        status=document["status"],
        request=document.get("request", ""),
        answer=document.get("final_output"),
        stop_reason=document.get("stop_reason"),
        stop_detail=document.get("stop_detail"),
        steps=[_step(s) for s in document.get("steps") or []],
        waiting_for=waiting,
        next=_next(document, waiting),
        resources=[f"maoo://runs/{run_id}", f"maoo://runs/{run_id}/trace"],
    )


def tool_list(described: list[dict[str, Any]], options: McpOptions) -> ToolList:
    """``chalicelib.tools.registry.describe_tools()``, with whether each tool's calls wait for a person here."""
    held = options.writes_held()
    return ToolList(
        tools=[
            ToolInfo(**tool, held_for_approval=tool["side_effect"] != "read" and held) for tool in described
        ]
    )
