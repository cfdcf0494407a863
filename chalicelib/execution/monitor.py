"""The monitor: every tool outcome becomes one normalised signal, with its evidence."""

from __future__ import annotations

from chalicelib.contracts import Signal, ToolResult

_BY_KIND: dict[str, Signal] = {
    "timeout": "timeout",
    "connection": "transient",
    "malformed_response": "malformed_response",
    "schema_drift": "schema_drift",
    "bad_args": "bad_args",
    "policy_denied": "policy_denied",
    "not_found": "not_found",
    "invalid_input": "fatal",
    "crash": "fatal",
    "unknown_outcome": "unknown_outcome",  # not a failure of the API: the call's answer never came back
}


def _from_status(status: int) -> Signal:
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "auth"
    if status in (404, 410):
        return "not_found"
    if status in (400, 422):
        return "bad_args"
    if status >= 500 or status == 408:
        return "transient"
    return "fatal"


def classify(result: ToolResult) -> tuple[Signal, str]:
    """The signal for a tool result, and a one-line piece of evidence for the trace."""
    if result.ok:
        return "ok", "the tool returned a result"
    error = result.error
    if error is None:
        return "fatal", "the tool reported failure without an error"
    if error.kind == "http_status" and error.status_code is not None:
        evidence = f"HTTP {error.status_code}" + (
            f", Retry-After {error.retry_after:g} s" if error.retry_after is not None else ""
        )
        return _from_status(error.status_code), evidence
    return _BY_KIND.get(error.kind, "fatal"), f"{error.kind}: {error.message}"
