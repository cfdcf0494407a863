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
from chalicelib.errors import BadRequestError, MaooError, describe_validation_error
from chalicelib.memory.store import get_run_store

Response = tuple[int, dict[str, Any]]


class RunRequest(Model):
    request: str = Field(min_length=1, max_length=2000)
    guards: dict[str, float] = Field(default_factory=dict)
    wait: bool = Field(default=True, description="Wait for the run to end (embedded engine), else answer 202 at once")
    use_memory: bool = Field(default=True, description="Let long-term memory inform the plan")


def error(status: int, code: str, message: str, **extra: Any) -> Response:
    return status, {"error": code, "message": message, **extra}


def parse_run_request(raw_body: bytes | str | None) -> RunRequest:
    try:
        body = json.loads(raw_body or b"")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequestError("the body is not JSON; send {\"request\": \"...\"}") from None
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object like {\"request\": \"...\"}")
    try:
        return RunRequest.model_validate(body)
    except ValidationError as exc:
        fields = describe_validation_error(exc, root="body")
        raise BadRequestError(f"invalid run request: {fields} (accepted fields: request, guards, wait)") from None


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



