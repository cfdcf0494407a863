"""The HTTP API behind ``app.py``'s routes: start a run, read it, read its trace, list runs and tools.

Framework-free on purpose: routes pass the raw body in and get ``(status, JSON body)`` back, so
the same functions serve ``chalice local``, API Gateway and tests. Every error body is JSON.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Literal

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
    approve: Literal["none", "writes"] | None = Field(
        default=None, description="Hold every write for a person's approval (writes), or none; default MAOO_APPROVAL")


class ApprovalDecision(Model):
    decision: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=2000)


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
        raise BadRequestError(f"invalid run request: {fields} "
                              "(accepted fields: request, guards, wait, use_memory, approve)") from None


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

    def start(self, raw_body: bytes | str | None, idempotency_key: str | None = None) -> Response:
        from chalicelib.errors import IdempotencyConflictError
        from chalicelib.workflow.runs import execute, finish_run, initial_state, start_run

        try:
            body = parse_run_request(raw_body)
            settings = get_settings()
            state = initial_state(body.request, settings, body.guards, use_memory=body.use_memory, approve=body.approve)
            if idempotency_key is not None:
                from chalicelib.workflow.request_keys import claim

                earlier = claim(idempotency_key, body.model_dump(mode="json"), state.run_id)
                if earlier is not None:  # a retried POST: the run it started, not a second run
                    return self.get(earlier)
        except IdempotencyConflictError as exc:
            return error(409, "idempotency_key_reused", str(exc))
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
        from chalicelib.durable.status import as_seen
        from chalicelib.workflow.runs import checkpointed_document

        if "steps" not in document:  # not finished: what its last checkpoint holds
            document = checkpointed_document(document)
        document.pop("start_state", None)
        return 200, as_seen(document)

    def resume(self, run_id: str) -> Response:
        """``POST /runs/{id}/resume``: finish an interrupted run from its last checkpoint."""
        from chalicelib.workflow.resume import resume

        return self._continue(run_id, lambda runner, settings: resume(runner, settings, run_id))

    def approval(self, run_id: str, raw_body: bytes | str | None) -> Response:
        """``POST /runs/{id}/approval`` with ``{"decision": "approve"|"reject", "reason": "..."}``."""
        from chalicelib.workflow.resume import decide

        try:
            body = json.loads(raw_body or b"")
            decision = ApprovalDecision.model_validate(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return error(400, "bad_request",
                         'the body is not JSON; send {"decision": "approve"} or {"decision": "reject", "reason": "..."}')
        except ValidationError as exc:
            fields = describe_validation_error(exc, root="body")
            return error(400, "bad_request", f"invalid approval: {fields} (accepted: decision approve|reject, reason)")
        return self._continue(run_id, lambda runner, settings: decide(runner, settings, run_id, decision.decision,
                                                                      decision.reason))

    def _continue(self, run_id: str, action: Callable[[Any, Any], dict[str, Any]]) -> Response:
        from chalicelib.errors import ResumeRefusedError, StoreError

        if get_run_store().get_run(run_id) is None:
            return error(404, "not_found", f"no run {run_id!r}; GET /runs lists recent runs")
        try:
            return 200, action(self._get_runner(), get_settings())
        except ResumeRefusedError as exc:
            return error(409, "conflict", str(exc))
        except StoreError as exc:
            return error(503, "store_unavailable", str(exc))
        except MaooError as exc:
            return error(400, "bad_request", str(exc))

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
        from chalicelib.durable.status import listed_as_seen

        return 200, {"runs": listed_as_seen(get_run_store().list_runs(limit), get_run_store())}


def tools() -> Response:
    from chalicelib.tools.registry import describe_tools

    return 200, {"tools": describe_tools()}


def health() -> Response:
    settings = get_settings()
    return 200, {"status": "ok", "engine": settings.engine, "store": settings.store, "no_llm_mode": settings.no_llm_mode}



