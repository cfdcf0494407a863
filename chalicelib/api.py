"""The HTTP API behind ``app.py``'s routes: start a run, read it, read its trace, list runs and tools.

Framework-free on purpose: routes pass the raw body in and get ``(status, JSON body)`` back, so
the same functions serve ``chalice local``, API Gateway and tests. Every error body is JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from chalicelib.config import get_settings
from chalicelib.contracts import Model
from chalicelib.errors import (
    BadRequestError,
    ConfigError,
    MaooError,
    PayloadTooLargeError,
    describe_validation_error,
)
from chalicelib.memory.records import record_of
from chalicelib.workflow.service import Runs, Started

Response = tuple[int, dict[str, Any]]


MAX_BODY_BYTES = 64 * 1024
"""A run request is at most 2,000 characters of text and a few guards: 64 KB is generous."""
MAX_LIST_LIMIT = 500


class RunRequest(Model):
    request: str | None = Field(default=None, min_length=1, max_length=2000)
    plan_text: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="Instead of request: the request language's text (what a run shows as understood)",
    )
    guards: dict[str, Any] = Field(
        default_factory=dict, description="Guard overrides, each within its range (see README)"
    )
    wait: bool = Field(
        default=True,
        description=(
            "Wait for the run to end (local engines); else, and always on "
            "the aws engine, answer 202 with the run URL"
        ),
    )
    use_memory: bool = Field(default=True, description="Let long-term memory inform the plan")
    approve: Literal["none", "writes"] | None = Field(
        default=None,
        description="Hold every write for a person's approval (writes), or none; default MAOO_APPROVAL",
    )

    @model_validator(mode="after")
    def _one_request(self) -> RunRequest:
        if (self.request is None) == (self.plan_text is None):
            raise ValueError(
                "give exactly one of request (plain language) and plan_text (the request language)"
            )
        return self

    @property
    def text(self) -> str:
        return self.plan_text if self.plan_text is not None else str(self.request)


class ForkRequest(Model):
    from_step: str = Field(min_length=1, max_length=100, description="The step the fork starts at")
    set: dict[str, Any] = Field(
        default_factory=dict,
        description='Corrected arguments of steps at or after the fork point: {"STEP_ID.ARG": value}',
    )
    guards: dict[str, Any] = Field(
        default_factory=dict, description="Guard overrides (default: the original run's guards)"
    )
    approve: Literal["none", "writes"] | None = Field(
        default=None,
        description="The approval policy (default: the original run's); approvals never carry over",
    )
    yes: bool = Field(
        default=False,
        description="Confirm a fork that sends again a write which already succeeded (or may have been applied)",
    )
    wait: bool = Field(
        default=True, description="Wait for the fork to end (local engines); else answer 202 with its URL"
    )


class ApprovalDecision(Model):
    decision: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=2000)


def error(status: int, code: str, message: str, **extra: Any) -> Response:
    return status, {"error": code, "message": message, **extra}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json_body(raw_body: bytes | str | None) -> Any:
    """The body as JSON, refusing what ``json.loads`` would otherwise let through or crash on.

    Over ``MAX_BODY_BYTES`` is a ``PayloadTooLargeError`` (413); ``NaN``/``Infinity`` (not JSON),
    bad UTF-8 and nesting deeper than the interpreter can parse are a ``BadRequestError`` (400).
    """
    size = len(raw_body or b"")
    if size > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"the body is {size} bytes; at most {MAX_BODY_BYTES} are accepted")
    try:
        return json.loads(raw_body or b"", parse_constant=_no_constant)
    except RecursionError:
        raise BadRequestError('the body is nested too deeply; send {"request": "..."}') from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise BadRequestError(f'the body is not JSON ({exc}); send {{"request": "..."}}') from None


def parse_limit(raw: str | None) -> int:
    """``?limit=`` as a whole number from 1 to ``MAX_LIST_LIMIT`` (ASCII digits only: ``'²'.isdigit()``)."""
    text = "20" if raw is None else raw
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIST_LIMIT:
        raise BadRequestError(
            f"limit={text!r} is not accepted; use a whole number from 1 to {MAX_LIST_LIMIT}"
        )
    return int(text)


def parse_run_request(raw_body: bytes | str | None) -> RunRequest:
    body = parse_json_body(raw_body)
    if not isinstance(body, dict):
        raise BadRequestError('the body must be a JSON object like {"request": "..."}')
    try:
        return RunRequest.model_validate(body)
    except ValidationError as exc:
        fields = describe_validation_error(exc, root="body")
        accepted = ", ".join(RunRequest.model_fields)
        raise BadRequestError(f"invalid run request: {fields} (accepted fields: {accepted})") from None


def _refused(exc: MaooError) -> Response:
    """What a refused start, read, resume, decision or fork answers: 404 for what does not exist, 409 for
    what may not happen now, 503 for a store that failed or a server set up wrong, 400 for anything
    else the request got wrong."""
    from chalicelib.errors import (
        ConfirmationRequiredError,
        ForkNotFoundError,
        IdempotencyConflictError,
        MockApiNotConfiguredError,
        ResumeRefusedError,
        RunNotFoundError,
        StoreError,
    )

    if isinstance(exc, RunNotFoundError):
        return error(404, "not_found", f"{exc}; GET /runs lists recent runs")
    if isinstance(exc, ForkNotFoundError):
        return error(404, "not_found", str(exc))
    if isinstance(exc, ConfirmationRequiredError):
        return error(409, "confirmation_required", str(exc))
    if isinstance(exc, ResumeRefusedError):
        return error(409, "conflict", str(exc))
    if isinstance(exc, IdempotencyConflictError):
        return error(409, "idempotency_key_reused", str(exc))
    if isinstance(exc, PayloadTooLargeError):
        return error(413, "payload_too_large", str(exc))
    if isinstance(exc, StoreError):
        return error(503, "store_unavailable", str(exc))
    if isinstance(exc, MockApiNotConfiguredError):
        return error(503, "mock_api_not_configured", str(exc))
    if isinstance(exc, ConfigError):  # the server's settings, not the caller's input
        return error(503, "server_misconfigured", str(exc))
    return error(400, "bad_request", str(exc))


def _waits(asked: bool) -> bool:
    """Whether a POST waits for its run: as asked, but never on the aws engine (API Gateway cuts a
    request at 29 s)."""
    return asked and get_settings().engine != "aws"


def _started(started: Started) -> Response:
    """200 with the run document, or 202 with its URL for a run that goes on without the caller."""
    if started.waiting:
        run_id = started.document["run_id"]
        return 202, {**started.document, "links": {"run": f"/runs/{run_id}"}}
    return 200, started.document


class RunService:
    """The HTTP API's face of the run service (``chalicelib.workflow.service.Runs``): it parses request
    bodies and maps the service's answers and errors to ``(status, JSON body)``; a run's life is not
    implemented here. ``handlers`` and ``embedded`` are passed to ``Runs``."""

    def __init__(self, handlers: Callable[[], dict[str, Any]], embedded: Callable[..., Any] | None = None):
        self.runs = Runs(handlers, embedded)

    def start(self, raw_body: bytes | str | None, idempotency_key: str | None = None) -> Response:
        try:
            body = parse_run_request(raw_body)
            return _started(
                self.runs.start(
                    body.text,
                    body.guards,
                    use_memory=body.use_memory,
                    approve=body.approve,
                    key=idempotency_key,
                    wait=_waits(body.wait),
                    plan_text=body.plan_text is not None,
                )
            )
        except MaooError as exc:
            return _refused(exc)

    def get(self, run_id: str) -> Response:
        try:
            return 200, self.runs.get(run_id)
        except MaooError as exc:
            return _refused(exc)

    def resume(self, run_id: str) -> Response:
        """``POST /runs/{id}/resume``: finish an interrupted run from its last checkpoint."""
        try:
            return 200, self.runs.resume(run_id)
        except MaooError as exc:
            return _refused(exc)

    def approval(self, run_id: str, raw_body: bytes | str | None) -> Response:
        """``POST /runs/{id}/approval`` with ``{"decision": "approve"|"reject", "reason": "..."}``."""
        try:
            decision = ApprovalDecision.model_validate(parse_json_body(raw_body))
        except PayloadTooLargeError as exc:
            return error(413, "payload_too_large", str(exc))
        except BadRequestError as exc:
            return error(
                400,
                "bad_request",
                f'{exc}; send {{"decision": "approve"}} or {{"decision": "reject", "reason": "..."}}',
            )
        except ValidationError as exc:
            fields = describe_validation_error(exc, root="body")
            return error(
                400, "bad_request", f"invalid approval: {fields} (accepted: decision approve|reject, reason)"
            )
        try:
            return 200, self.runs.decide(run_id, decision.decision, decision.reason)
        except MaooError as exc:
            return _refused(exc)

    def fork(self, run_id: str, raw_body: bytes | str | None) -> Response:
        """``POST /runs/{id}/fork`` with ``{"from_step": "s3", ...}``: a new run from that step
        (``chalicelib.workflow.fork``). 404: no such run, step or trace; 409: the run is in progress,
        the step was never reached, or a write that succeeded would be sent again without ``yes``."""
        try:
            body = ForkRequest.model_validate(parse_json_body(raw_body))
        except PayloadTooLargeError as exc:
            return error(413, "payload_too_large", str(exc))
        except BadRequestError as exc:
            return error(400, "bad_request", f'{exc}; send {{"from_step": "s1"}}')
        except ValidationError as exc:
            fields = describe_validation_error(exc, root="body")
            accepted = ", ".join(ForkRequest.model_fields)
            return error(400, "bad_request", f"invalid fork: {fields} (accepted fields: {accepted})")
        try:
            return _started(
                self.runs.fork(
                    run_id,
                    body.from_step,
                    body.set,
                    body.guards,
                    body.approve,
                    body.yes,
                    wait=_waits(body.wait),
                )
            )
        except MaooError as exc:
            return _refused(exc)

    def trace(self, run_id: str) -> Response:
        try:
            return 200, self.runs.trace(run_id)
        except MaooError as exc:
            return _refused(exc)

    def view(self, run_id: str, fmt: str = "html") -> tuple[int, Any, str]:
        """The run page (``fmt`` html) or its facts (json): ``(status, body, content type)``.

        When the trace holds no execution history (a run still in flight, or one whose trace file
        is on another machine, as on AWS), the engine is asked for it."""
        from chalicelib.viewer import facts_json, render_trace

        if fmt not in ("html", "json"):
            status, body = error(400, "bad_request", f"format={fmt!r} is not accepted; use html or json")
            return status, body, "application/json"
        status, found = self.get(run_id)  # a remote engine's finished run is recorded first
        if status != 200:
            return status, found, "application/json"
        trace = self.trace(run_id)[1]
        execution_arn = record_of(found).execution_arn
        if execution_arn and not trace.get("execution"):
            trace = {**trace, "execution": self.runs.history(execution_arn)}
        if fmt == "json":
            return 200, facts_json(trace), "application/json"
        return 200, render_trace(trace), "text/html; charset=utf-8"

    def list(self, limit: int = 20) -> Response:
        """``GET /runs``: a hold past its TTL is ended by this listing too (``workflow.listing``)."""
        try:
            return 200, {"runs": self.runs.list(limit)}
        except MaooError as exc:
            return _refused(exc)


def list_runs(service: RunService, query: dict[str, str] | None) -> Response:
    """``GET /runs?limit=``: a bad limit is a 400 naming what is accepted."""
    try:
        limit = parse_limit((query or {}).get("limit"))
    except BadRequestError as exc:
        return error(400, "bad_request", str(exc))
    return service.list(limit)


_CHALICE_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}


def reshape_error(get_response: Callable[[Any], Any], event: Any) -> Any:
    """Chalice middleware body: the response, with an error Chalice wrote itself in our shape.

    Chalice answers some requests before our routes run (a 415 for a content type the route does
    not accept, a 405, a 500 from an exception, which Chalice logs) with ``{"Code", "Message"}``.
    Clients of this API read one shape, so such a body becomes ``{"error", "message"}``.
    """
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        message = str(body["Message"])
        if response.status_code == 415:
            message += "; send the body as JSON with Content-Type: application/json"
        response.body = {"error": _CHALICE_CODES.get(response.status_code, "error"), "message": message}
        response.headers = {**response.headers, "Content-Type": "application/json"}
    return response


def tools() -> Response:
    from chalicelib.tools.registry import describe_tools

    return 200, {"tools": describe_tools()}


def health() -> Response:
    settings = get_settings()
    return 200, {
        "status": "ok",
        "engine": settings.engine,
        "store": settings.store,
        "no_llm_mode": settings.no_llm_mode,
    }
