"""The body of every tool Lambda: validate, run, time, and report failures as data."""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import ValidationError

from chalicelib.config import get_settings
from chalicelib.contracts import FailureKind, ToolCall, ToolError, ToolResult
from chalicelib.errors import UnknownToolError, validation_problems
from chalicelib.largevalues import BlobReferenceError
from chalicelib.memory.store import get_run_store
from chalicelib.tools.base import ToolContext, ToolFailure, ToolSpec
from chalicelib.tools.blob_args import load
from chalicelib.tools.registry import get_tool


def _failure(tool: str, kind: FailureKind, message: str, started: float, **extra: Any) -> ToolResult:
    return ToolResult(
        ok=False,
        tool=tool,
        error=ToolError(kind=kind, message=message, **extra),
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
    )


def _small_details(details: dict[str, Any]) -> dict[str, Any]:
    """A failure's details as the state may carry them: a large error body is cut to a preview.

    Only successful outputs go to the run store; an error page of a megabyte is not worth keeping.
    """
    encoded = json.dumps(details, default=str)
    if len(encoded) <= get_settings().large_output_bytes:
        return details
    kept = {
        k: v
        for k, v in details.items()
        if k in ("rule", "location", "field", "origin") and len(json.dumps(v, default=str)) < 1000
    }
    return {**kept, "preview": encoded[:500], "truncated_bytes": len(encoded)}


def _run_once(spec: ToolSpec, args: Any, ctx: ToolContext, call: ToolCall, lambda_context: Any) -> Any:
    """Run a write at most once per idempotency key (Powertools Idempotency).

    A repeated call with the same key gets the saved result without running again; a failed run
    saves nothing, so a retry runs again (and ``http_post`` resends the same ``Idempotency-Key``).
    The same key with other arguments is refused.

    The in-progress record a call leaves while it runs expires with the invocation: Powertools reads
    its end from the Lambda context (in Lambda, the function's timeout; locally, the run's deadline).
    A record left in progress by an owner that is gone never blocks the run that took it over
    (``call.replay``: a resume, a person's approval): Powertools replays the call, which is sent again
    with the same key, so an API that honours the key answers with what it made the first time.
    A record still in a live invocation's hands is ``unknown_outcome``, with the time its hold ends.
    """
    # imported here: Powertools' idempotency package imports boto3 (~150 ms), which reads never need
    from aws_lambda_powertools.utilities.idempotency.base import IdempotencyHandler
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    from chalicelib.durable.drills import tool_applied
    from chalicelib.memory.idempotency import get_persistence_layer, idempotency_config, in_progress_until

    def once() -> Any:
        output = spec.run(args, ctx)
        tool_applied(spec.name)  # a drill's kill point: applied, not yet recorded
        return output

    config = idempotency_config(lambda_context)
    payload = {"idempotency_key": call.idempotency_key, "args": call.args}
    store = get_persistence_layer()
    handler = IdempotencyHandler(
        function=once,
        function_payload=payload,
        config=config,
        persistence_store=store,
        key_prefix=f"maoo.{spec.name}",
        function_args=(),
        function_kwargs={},
    )
    try:
        return handler.handle(is_replay=call.replay)
    except IdempotencyValidationError:
        raise ToolFailure(
            "policy_denied",
            f"idempotency key {call.idempotency_key} was already used with other arguments",
            details={"rule": "idempotency.key_reuse"},
        ) from None
    except IdempotencyAlreadyInProgressError:
        until = in_progress_until(store, payload)
        wait = max(0.0, until - time.time()) if until is not None else None
        raise ToolFailure(
            "unknown_outcome",
            f"a call with idempotency key {call.idempotency_key} was sent by another invocation that has "
            "not answered yet"
            + (f" (its hold ends in {wait:.0f} s)" if wait is not None else "")
            + "; its outcome is unknown, and the same key resolves it",
            retry_after=wait,
            details={"rule": "idempotency.in_progress", "idempotency_key": call.idempotency_key},
        ) from None


def run_tool(call: ToolCall, lambda_context: Any = None) -> ToolResult:
    started = time.perf_counter()
    try:
        spec = get_tool(call.tool)
    except UnknownToolError as exc:
        return _failure(call.tool, "policy_denied", str(exc), started, details={"rule": "tool.allowlist"})
    try:
        call = call.model_copy(
            update={"args": load(call.args, call.run_id)}
        )  # large values come by reference
    except BlobReferenceError as exc:
        return _failure(call.tool, "policy_denied", str(exc), started, details={"rule": "blob.reference"})
    try:
        args = spec.args_model.model_validate(call.args)
    except ValidationError as exc:
        fields = [
            {"field": field, "message": message} for field, message in validation_problems(exc, root="")
        ]
        return _failure(
            call.tool,
            "bad_args",
            f"{call.tool} arguments do not match its schema",
            started,
            details={"fields": fields},
        )
    ctx = ToolContext(
        run_id=call.run_id, step_id=call.step_id, attempt=call.attempt, idempotency_key=call.idempotency_key
    )
    try:
        if call.idempotency_key:  # set by NextStep for every write
            output = _run_once(spec, args, ctx, call, lambda_context)
        else:
            output = spec.run(args, ctx)
    except ToolFailure as failure:
        return _failure(
            call.tool,
            failure.kind,
            failure.message[:2000],
            started,
            status_code=failure.status_code,
            retry_after=failure.retry_after,
            details=_small_details(failure.details),
        )
    latency = round((time.perf_counter() - started) * 1000, 3)
    encoded = json.dumps(output, default=str)
    if len(encoded) > get_settings().large_output_bytes:
        ref = get_run_store().put_blob(call.run_id, output)
        return ToolResult(ok=True, tool=call.tool, output=encoded[:500], output_ref=ref, latency_ms=latency)
    return ToolResult(ok=True, tool=call.tool, output=output, latency_ms=latency)
