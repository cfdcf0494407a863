"""The body of every tool Lambda: validate, run, time, and report failures as data."""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import ValidationError

from chalicelib.config import get_settings
from chalicelib.contracts import ToolCall, ToolError, ToolResult
from chalicelib.errors import UnknownToolError
from chalicelib.memory.store import get_run_store
from chalicelib.tools.base import ToolContext, ToolFailure
from chalicelib.tools.registry import get_tool


def _failure(tool: str, kind: str, message: str, started: float, **extra: Any) -> ToolResult:
    return ToolResult(ok=False, tool=tool, error=ToolError(kind=kind, message=message, **extra),
                      latency_ms=round((time.perf_counter() - started) * 1000, 3))


def run_tool(call: ToolCall) -> ToolResult:
    started = time.perf_counter()
    try:
        spec = get_tool(call.tool)
    except UnknownToolError as exc:
        return _failure(call.tool, "policy_denied", str(exc), started, details={"rule": "tool.allowlist"})
    try:
        args = spec.args_model.model_validate(call.args)
    except ValidationError as exc:
        fields = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        return _failure(call.tool, "bad_args", f"{call.tool} arguments do not match its schema", started, details={"fields": fields})
    ctx = ToolContext(run_id=call.run_id, step_id=call.step_id, attempt=call.attempt, idempotency_key=call.idempotency_key)
    try:
        output = spec.run(args, ctx)
    except ToolFailure as failure:
        return _failure(call.tool, failure.kind, failure.message, started, status_code=failure.status_code,
                        retry_after=failure.retry_after, details=failure.details)
    latency = round((time.perf_counter() - started) * 1000, 3)
    encoded = json.dumps(output, default=str)
    if len(encoded) > get_settings().large_output_bytes:
        ref = get_run_store().put_blob(call.run_id, output)
        return ToolResult(ok=True, tool=call.tool, output=encoded[:500], output_ref=ref, latency_ms=latency)
    return ToolResult(ok=True, tool=call.tool, output=output, latency_ms=latency)
