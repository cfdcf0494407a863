"""The monitor turns every tool outcome into one signal, with evidence for the trace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.contracts import ToolError, ToolResult
from chalicelib.execution.monitor import classify


def _http_failure(status: int, retry_after: float | None = None) -> ToolResult:
    return ToolResult(
        ok=False,
        tool="http_get",
        error=ToolError(
            kind="http_status",
            message=f"GET http://127.0.0.1:8000/items answered {status}",
            status_code=status,
            retry_after=retry_after,
        ),
    )


def _failure(kind: str, message: str = "something went wrong") -> ToolResult:
    return ToolResult(ok=False, tool="http_get", error=ToolError(kind=kind, message=message))


def test_successful_result_is_ok():
    # given a tool result that succeeded
    result = ToolResult(ok=True, tool="calc", output={"expression": "2 + 2", "value": 4})
    # when it is classified
    signal, evidence = classify(result)
    # then the run continues on an "ok" signal
    assert signal == "ok"
    assert evidence


@pytest.mark.parametrize(
    "status, expected",
    [
        (429, "rate_limited"),
        (401, "auth"),
        (403, "auth"),
        (404, "not_found"),
        (410, "not_found"),
        (400, "bad_args"),
        (422, "bad_args"),
        (408, "transient"),
        (500, "transient"),
        (502, "transient"),
        (503, "transient"),
        (504, "transient"),
    ],
)
def test_http_status_class_maps_to_signal(status, expected):
    # given an HTTP error answer; when classified; then the signal follows the status class
    signal, evidence = classify(_http_failure(status))
    assert signal == expected
    assert f"HTTP {status}" in evidence


@given(st.integers(min_value=500, max_value=599))
def test_every_5xx_status_is_transient(status):
    assert classify(_http_failure(status))[0] == "transient"


def test_unexpected_client_status_is_fatal():
    # a 418 is neither retryable nor repairable
    assert classify(_http_failure(418))[0] == "fatal"


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("timeout", "timeout"),
        ("connection", "transient"),
        ("malformed_response", "malformed_response"),
        ("schema_drift", "schema_drift"),
        ("bad_args", "bad_args"),
        ("policy_denied", "policy_denied"),
        ("not_found", "not_found"),
        ("crash", "fatal"),
        ("invalid_input", "fatal"),
    ],
)
def test_error_kind_maps_to_signal(kind, expected):
    assert classify(_failure(kind))[0] == expected


def test_unknown_error_kind_is_fatal():
    assert classify(_failure("cosmic_ray"))[0] == "fatal"


def test_failure_without_error_is_fatal():
    signal, evidence = classify(ToolResult(ok=False, tool="calc"))
    assert signal == "fatal"
    assert "without an error" in evidence


def test_retry_after_header_appears_in_evidence():
    # given a 429 that carried Retry-After: 3
    signal, evidence = classify(_http_failure(429, retry_after=3))
    # then the trace shows both the status and the server's requested wait
    assert signal == "rate_limited"
    assert evidence == "HTTP 429, Retry-After 3 s"


def test_evidence_omits_retry_after_when_server_sent_none():
    _, evidence = classify(_http_failure(503))
    assert evidence == "HTTP 503"
    assert "Retry-After" not in evidence


def test_error_kind_evidence_carries_the_tool_message():
    _, evidence = classify(_failure("timeout", "GET http://127.0.0.1:8000/slow did not answer within 2 s"))
    assert evidence == "timeout: GET http://127.0.0.1:8000/slow did not answer within 2 s"
