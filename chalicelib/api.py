"""The HTTP API behind ``app.py``'s routes: start a run, read it, read its trace, list runs and tools.

Framework-free on purpose: routes pass the raw body in and get ``(status, JSON body)`` back, so
the same functions serve ``chalice local``, API Gateway and tests. Every error body is JSON.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable

from pydantic import Field, ValidationError

from chalicelib.config import get_settings
from chalicelib.contracts import Model
from chalicelib.errors import BadRequestError, MaooError, PayloadTooLargeError
from chalicelib.memory.store import get_run_store

Response = tuple[int, dict[str, Any]]


MAX_BODY_BYTES = 64 * 1024
"""A run request is at most 2,000 characters of text and a few guards: 64 KB is generous."""
MAX_LIST_LIMIT = 500


class RunRequest(Model):
    request: str = Field(min_length=1, max_length=2000)
    guards: dict[str, Any] = Field(default_factory=dict, description="Guard overrides, each within its range (see README)")
    wait: bool = Field(default=True, description="Wait for the run to end (embedded engine), else answer 202 at once")
    use_memory: bool = Field(default=True, description="Let long-term memory inform the plan")


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
        raise BadRequestError("the body is nested too deeply; send {\"request\": \"...\"}") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise BadRequestError(f"the body is not JSON ({exc}); send {{\"request\": \"...\"}}") from None


def parse_limit(raw: str | None) -> int:
    """``?limit=`` as a whole number from 1 to ``MAX_LIST_LIMIT`` (ASCII digits only: ``'²'.isdigit()``)."""
    text = "20" if raw is None else raw
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIST_LIMIT:
        raise BadRequestError(f"limit={text!r} is not accepted; use a whole number from 1 to {MAX_LIST_LIMIT}")
    return int(text)


def parse_run_request(raw_body: bytes | str | None) -> RunRequest:
    body = parse_json_body(raw_body)
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object like {\"request\": \"...\"}")
    try:
        return RunRequest.model_validate(body)
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise BadRequestError(f"invalid run request: {fields} (accepted fields: {', '.join(RunRequest.model_fields)})") from None


class RunService:
    """Runs requests on the configured engine. ``handlers`` supplies the Lambda handlers (embedded engine)."""

    def __init__(self, handlers: Callable[[], dict[str, Any]]):
        self._handlers = handlers
        self._runner = None
        self._lock = threading.Lock()

    def _get_runner(self):
        from chalicelib.workflow.engines import open_runner

        with self._lock:
            if self._runner is None:
                self._runner = open_runner(get_settings(), self._handlers)
            return self._runner

    def start(self, raw_body: bytes | str | None) -> Response:
        from chalicelib.workflow.runs import execute, finish_run, initial_state, start_run

        try:
            body = parse_run_request(raw_body)
            settings = get_settings()
            state = initial_state(body.request, settings, body.guards, use_memory=body.use_memory)
        except PayloadTooLargeError as exc:
            return error(413, "payload_too_large", str(exc))
        except MaooError as exc:
            return error(400, "bad_request", str(exc))
        runner = self._get_runner()
        if body.wait:
            return 200, execute(runner, settings, state, settings.engine)
        arn = start_run(runner, state, settings.engine)
        if settings.engine == "embedded":  # nobody else will collect it: finish it in the background
            threading.Thread(target=lambda: finish_run(runner, settings, state, runner.collect(arn, runner.wait(arn)),
                                                       settings.engine), daemon=True).start()
        return 202, {"run_id": state.run_id, "status": "running", "links": {"run": f"/runs/{state.run_id}"}}

    def get(self, run_id: str) -> Response:
        from chalicelib.workflow.runs import refresh_run

        document = get_run_store().get_run(run_id)
        if document is None:
            return error(404, "not_found", f"no run {run_id!r}; GET /runs lists recent runs")
        if document.get("status") == "running" and get_settings().engine != "embedded":
            document = refresh_run(self._get_runner(), get_settings(), document)
        document.pop("start_state", None)
        return 200, document

    def trace(self, run_id: str) -> Response:
        store = get_run_store()
        document = store.get_run(run_id)
        if document is None:
            return error(404, "not_found", f"no run {run_id!r}; GET /runs lists recent runs")
        trace_file = document.get("trace_file")
        if trace_file:
            try:
                with open(trace_file, encoding="utf-8") as handle:
                    return 200, json.load(handle)
            except FileNotFoundError:
                pass
        return 200, {"run_id": run_id, "run": {k: v for k, v in document.items() if k != "start_state"},
                     "events": store.events(run_id), "execution": None}

    def list(self, limit: int = 20) -> Response:
        return 200, {"runs": get_run_store().list_runs(limit)}


def tools() -> Response:
    from chalicelib.tools.registry import describe_tools

    return 200, {"tools": describe_tools()}


def health() -> Response:
    settings = get_settings()
    return 200, {"status": "ok", "engine": settings.engine, "store": settings.store, "no_llm_mode": settings.no_llm_mode}



