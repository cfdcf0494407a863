"""What every tool declares, and the failures a tool reports as data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.contracts import FailureKind, SideEffect
from chalicelib.errors import MaooError


class ToolArgs(BaseModel):
    """Base of every tool's argument model: unknown arguments are refused."""

    model_config = ConfigDict(
        extra="forbid", defer_build=True
    )  # schemas built on first use: cold starts stay short


class ToolFailure(MaooError):
    """A tool's expected failure, reported as ``ToolResult(ok=False)``, never raised out of a Lambda.

    ``kind`` is what the monitor classifies: ``http_status``, ``timeout``, ``connection``,
    ``malformed_response``, ``schema_drift``, ``bad_args``, ``policy_denied``, ``not_found``,
    ``invalid_input``.
    """

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        self.details = details or {}


@dataclass(frozen=True)
class LambdaSettings:
    """The tool's own Lambda function: ``.chalice/config.json`` gets these (``make generate``)."""

    timeout: int = 15
    """Seconds before Lambda stops the function (the state machine then records ``Sandbox.Timedout``)."""
    memory_mb: int = 256


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the registry knows it: its module's one declaration.

    Everything else about a tool is derived from this by ``python -m deploy.generate``: its
    Lambda function (``app.py`` declares one per registered name), its router branch and Task
    state in the state machine, its Chalice settings and its template role (``read`` tools get the
    read role; the others the write role, with the idempotency table). docs/guides/add-a-tool.md
    walks through adding one.
    """

    name: str
    description: str
    args_model: type[ToolArgs]
    side_effect: SideEffect
    cost: float
    run: Callable[[Any, ToolContext], Any]
    side_effect_for: Callable[[dict[str, Any]], SideEffect] | None = None
    """For tools whose class depends on the call (``http_post``: does the origin honour keys?)."""
    lambda_settings: LambdaSettings = LambdaSettings()
    max_calls_per_plan: int | None = None
    """Policy: a plan that calls the tool more often is refused (rule ``tool.limit``)."""
    check_args: Callable[[dict[str, Any]], None] | None = None
    """Policy: vets a planned call's raw arguments before anything runs; raises a ``policy_denied``
    ``ToolFailure`` whose ``details["rule"]`` names the rule (the URL policy, the file sandbox)."""


@dataclass(frozen=True)
class ToolContext:
    """What a tool may know about the call besides its arguments."""

    run_id: str
    step_id: str
    attempt: int
    idempotency_key: str | None
