"""The HTTP API behind ``app.py``'s routes: start a run, read it, read its trace, list runs and tools.

Framework-free on purpose: routes pass the raw body in and get ``(status, JSON body)`` back, so
the same functions serve ``chalice local``, API Gateway and tests. Every error body is JSON.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, ValidationError

from chalicelib.config import get_settings
from chalicelib.contracts import Model
from chalicelib.errors import (
    BadRequestError,
    ConfigError,
    MaooError,
    PayloadTooLargeError,
    describe_validation_error,
)
from chalicelib.memory.store import get_run_store

Response = tuple[int, dict[str, Any]]


MAX_BODY_BYTES = 64 * 1024
"""A run request is at most 2,000 characters of text and a few guards: 64 KB is generous."""
MAX_LIST_LIMIT = 500


class RunRequest(Model):
    request: str = Field(min_length=1, max_length=2000)
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


DEFAULT_OPS_API = "http://127.0.0.1:8765"
"""Where the rule-based planner sends ops-API calls when ``MAOO_MOCK_API_URL`` is not set."""
MOCK_API_HINT = (
    "this request calls the ops API, and MAOO_MOCK_API_URL is not set, so nothing would answer it. "
    "Start the mock API (python -m mock_api.server --port 8765) and start the server again with "
    "MAOO_MOCK_API_URL=http://127.0.0.1:8765 (chalice local --stage local); the CLI starts one for you"
)


def needs_default_ops_api(request: str) -> bool:
    """Would the rule-based plan of ``request`` call the ops API at its unconfigured default URL?

    ``chalice local`` does not start the mock API the way the CLI does; such a run would only stop
    with a ``policy_denied`` on an address nobody allowlisted, which reads as a security denial for
    what is a set-up step. A request that cannot be planned here is left to the run to explain.
    """
    from chalicelib.workflow.forecast import calls_origin

    return calls_origin(request, DEFAULT_OPS_API)


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
    """What a refused resume, decision or fork answers: 404 for what does not exist, 409 for what may not
    happen now, 503 for a store that failed, 400 for anything else the request got wrong."""
    from chalicelib.errors import ConfirmationRequiredError, ForkNotFoundError, ResumeRefusedError, StoreError

    if isinstance(exc, ForkNotFoundError):
        return error(404, "not_found", str(exc))
    if isinstance(exc, ConfirmationRequiredError):
        return error(409, "confirmation_required", str(exc))
    if isinstance(exc, ResumeRefusedError):
        return error(409, "conflict", str(exc))
    if isinstance(exc, StoreError):
        return error(503, "store_unavailable", str(exc))
    return error(400, "bad_request", str(exc))


def _finish_in_background(runner: Any, settings: Any, state: Any, arn: str, failures: dict[str, str]) -> None:
    """Collect a run nobody waits for. A store that fails leaves it ``interrupted`` (logged, and kept in
    ``failures`` for readers of the run), not a thread's traceback."""
    from chalicelib.errors import StoreError
    from chalicelib.observability import get_logger
    from chalicelib.workflow.runs import follow, let_go_on_store_failure

    try:
        with let_go_on_store_failure(state.run_id):
            follow(runner, settings, state, arn, settings.engine)  # Express: and the executions it goes on in
    except StoreError as exc:
        failures[state.run_id] = str(exc)
        get_logger().error(
            "run left interrupted: the run store failed", extra={"run_id": state.run_id, "error": str(exc)}
        )


class RunService:
    """Runs requests on the configured engine. ``handlers`` supplies the Lambda handlers and
    ``embedded`` the embedded engine's runner factory (see ``workflow.engines.open_runner``)."""

    def __init__(self, handlers: Callable[[], dict[str, Any]], embedded: Callable[..., Any] | None = None):
        self._handlers = handlers
        self._embedded = embedded
        self._runner = None
        self._lock = threading.Lock()
        # runs this process let go because the store failed while it finished them in the background:
        # they read interrupted, with the store's error, even when the store could not record that
        self._store_failures: dict[str, str] = {}

    def _get_runner(self):
        from chalicelib.workflow.engines import open_runner

        with self._lock:
            if self._runner is None:
                self._runner = open_runner(get_settings(), self._handlers, embedded=self._embedded)
            return self._runner

    def start(self, raw_body: bytes | str | None, idempotency_key: str | None = None) -> Response:
        from chalicelib.workflow.runs import execute, initial_state, let_go_on_store_failure, start_run

        try:
            body = parse_run_request(raw_body)
            settings = get_settings()
            state = initial_state(
                body.request, settings, body.guards, use_memory=body.use_memory, approve=body.approve
            )
        except PayloadTooLargeError as exc:
            return error(413, "payload_too_large", str(exc))
        except ConfigError as exc:  # the server's settings, not the caller's input
            return error(503, "server_misconfigured", str(exc))
        except MaooError as exc:
            return error(400, "bad_request", str(exc))
        if (
            settings.engine == "embedded"
            and not settings.mock_api_url
            and needs_default_ops_api(body.request)
        ):
            return error(503, "mock_api_not_configured", MOCK_API_HINT)
        if idempotency_key is not None:  # bound only once the run can start: a retry then finds it
            from chalicelib.errors import IdempotencyConflictError
            from chalicelib.workflow.request_keys import claim

            try:
                earlier = claim(idempotency_key, body.model_dump(mode="json"), state.run_id)
            except IdempotencyConflictError as exc:
                return error(409, "idempotency_key_reused", str(exc))
            except MaooError as exc:
                return error(400, "bad_request", str(exc))
            if earlier is not None:  # a retried POST: the run it started, not a second run
                return self.get(earlier)
        from chalicelib.errors import StoreError

        runner = self._get_runner()
        try:
            if body.wait and settings.engine != "aws":  # API Gateway cuts a request at 29 s: no wait there
                return 200, execute(runner, settings, state, settings.engine)
            with let_go_on_store_failure(state.run_id):
                arn = start_run(runner, state, settings.engine)
        except StoreError as exc:  # the run reads interrupted: POST /runs/{id}/resume finishes it later
            return error(503, "store_unavailable", f"{exc} (run {state.run_id})")
        return self._running(runner, settings, state, arn)

    def get(self, run_id: str) -> Response:
        from chalicelib.workflow.runs import refresh_run

        document = get_run_store().get_run(run_id)
        if document is None:
            return error(404, "not_found", f"no run {run_id!r}; GET /runs lists recent runs")
        failure = self._let_go(run_id, document)
        if failure is not None:
            document = {**document, "status": "interrupted"}
        if document.get("status") == "running" and get_settings().engine != "embedded":
            document = refresh_run(self._get_runner(), get_settings(), document)
        from chalicelib.durable.status import as_seen

        if as_seen(document) is not document:  # a hold past its TTL: the first to look at it ends it
            from chalicelib.errors import StoreError
            from chalicelib.workflow.resume import end_if_expired

            try:
                document = end_if_expired(self._get_runner(), get_settings(), document)
            except StoreError as exc:
                return error(503, "store_unavailable", str(exc))
        from chalicelib.workflow.runs import checkpointed_document

        if "steps" not in document:  # not finished: what its last checkpoint holds
            document = checkpointed_document(document)
        if failure is not None:  # not "its process is gone": this process let it go
            after = document.get("last_checkpoint") or "its start"
            document["final_output"] = (
                f"Interrupted after {after}: the run store failed. Finish it with "
                f"`python -m cli resume {run_id}` once the store works again."
            )
            document["stop_detail"] = failure
        document.pop("start_state", None)
        from chalicelib.workflow.fork import with_lineage

        return 200, with_lineage(as_seen(document))

    def _let_go(self, run_id: str, document: dict[str, Any]) -> str | None:
        """The store's error, for a run this process let go when the store failed and nobody took up since."""
        failure = self._store_failures.get(run_id)
        if failure is None or document.get("status") not in ("running", "interrupted"):
            return None
        if document["status"] == "running":  # the store could not record the let-go: is it still ours?
            import os

            try:
                owner = get_run_store().get_owner(run_id) or {}
            except MaooError:
                return failure
            if owner.get("pid") != os.getpid():
                return None
        return failure

    def resume(self, run_id: str) -> Response:
        """``POST /runs/{id}/resume``: finish an interrupted run from its last checkpoint."""
        from chalicelib.workflow.resume import resume

        return self._continue(run_id, lambda runner, settings: resume(runner, settings, run_id))

    def approval(self, run_id: str, raw_body: bytes | str | None) -> Response:
        """``POST /runs/{id}/approval`` with ``{"decision": "approve"|"reject", "reason": "..."}``."""
        from chalicelib.workflow.resume import decide

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
        return self._continue(
            run_id,
            lambda runner, settings: decide(runner, settings, run_id, decision.decision, decision.reason),
        )

    def _running(self, runner: Any, settings: Any, state: Any, arn: str) -> Response:
        """202 for a run started and not waited for; on the embedded engine nobody else will collect it,
        so it is finished in the background (a store failure there is remembered for ``get``)."""
        if settings.engine == "embedded":
            threading.Thread(
                target=_finish_in_background,
                args=(runner, settings, state, arn, self._store_failures),
                daemon=True,
            ).start()
        return 202, {"run_id": state.run_id, "status": "running", "links": {"run": f"/runs/{state.run_id}"}}

    def fork(self, run_id: str, raw_body: bytes | str | None) -> Response:
        """``POST /runs/{id}/fork`` with ``{"from_step": "s3", ...}``: a new run from that step
        (``chalicelib.workflow.fork``). 404: no such run, step or trace; 409: the run is in progress,
        the step was never reached, or a write that succeeded would be sent again without ``yes``."""
        from chalicelib.workflow import fork as forks
        from chalicelib.workflow.runs import execute, let_go_on_store_failure, start_run

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
        settings = get_settings()
        try:
            state = forks.prepare(
                settings, run_id, body.from_step, body.set, body.guards, body.approve, body.yes
            )
            runner = self._get_runner()
            forks.begin(state, body.set)
            if body.wait and settings.engine != "aws":
                return 200, execute(runner, settings, state, settings.engine)
            with let_go_on_store_failure(state.run_id):
                arn = start_run(runner, state, settings.engine)
        except MaooError as exc:
            return _refused(exc)
        return self._running(runner, settings, state, arn)

    def _continue(self, run_id: str, action: Callable[[Any, Any], dict[str, Any]]) -> Response:

        if get_run_store().get_run(run_id) is None:
            return error(404, "not_found", f"no run {run_id!r}; GET /runs lists recent runs")
        try:
            return 200, action(self._get_runner(), get_settings())
        except MaooError as exc:
            return _refused(exc)

    def trace(self, run_id: str) -> Response:
        store = get_run_store()
        document = store.get_run(run_id)
        if document is None:
            return error(404, "not_found", f"no run {run_id!r}; GET /runs lists recent runs")
        from chalicelib.workflow.fork import with_lineage

        trace_file = document.get("trace_file")
        if trace_file:
            try:
                with open(trace_file, encoding="utf-8") as handle:
                    trace = json.load(handle)
                return 200, {**trace, "run": with_lineage(trace.get("run") or {"run_id": run_id})}
            except FileNotFoundError:
                pass
        return 200, {
            "run_id": run_id,
            "run": with_lineage({k: v for k, v in document.items() if k != "start_state"}),
            "events": store.events(run_id),
            "execution": None,
        }

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
        if found.get("execution_arn") and not trace.get("execution"):
            trace = {**trace, "execution": self._engine_history(found["execution_arn"])}
        if fmt == "json":
            return 200, facts_json(trace), "application/json"
        return 200, render_trace(trace), "text/html; charset=utf-8"

    def _engine_history(self, execution_arn: str) -> dict[str, Any] | None:
        """The execution's history as the engine gives it now; ``None`` if it cannot (the page then
        shows MAOO's own events, and a live page's next refresh tries again)."""
        try:
            return {"arn": execution_arn, "history": self._get_runner().history(execution_arn)}
        except Exception:  # noqa: BLE001 - any engine fault only makes the page show less
            return None

    def list(self, limit: int = 20) -> Response:
        """``GET /runs``: a hold past its TTL is ended by this listing too (``workflow.listing``)."""
        from chalicelib.errors import StoreError
        from chalicelib.workflow.listing import list_runs

        try:
            return 200, {"runs": list_runs(limit, lambda: (self._get_runner(), get_settings()))}
        except StoreError as exc:
            return error(503, "store_unavailable", str(exc))


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
