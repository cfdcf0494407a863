"""The refinement engine: one decision per tool outcome, and the backoff the Wait state uses."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.config import reload_settings
from chalicelib.contracts import Counters, Guards, RunState, Step, ToolError, ToolResult
from chalicelib.execution.refinement import backoff_seconds, decide

STEP = Step(id="s1", tool="http_get", args={"url": "http://127.0.0.1:8000/metrics"})
POST = Step(
    id="s2", tool="http_post", args={"url": "http://127.0.0.1:8000/incidents", "json_body": {"title": "x"}}
)
RETRYABLE = ["transient", "rate_limited", "timeout", "malformed_response"]


def _state(retries: int = 0, **guards) -> RunState:
    return RunState(
        run_id="run-1",
        request="check payments",
        started_at=0.0,
        guards=Guards(**guards),
        counters=Counters(retries=retries),
    )


def _failed(message: str = "the tool failed", retry_after: float | None = None, **details) -> ToolResult:
    return ToolResult(
        ok=False,
        tool="http_get",
        error=ToolError(kind="http_status", message=message, retry_after=retry_after, details=details),
    )


@pytest.fixture
def backoff_1_to_8(monkeypatch):
    monkeypatch.setenv("MAOO_BACKOFF_BASE_SECONDS", "1")
    monkeypatch.setenv("MAOO_BACKOFF_MAX_SECONDS", "8")
    reload_settings()


# ---------------------------------------------------------------- decide


def test_ok_signal_continues():
    result = ToolResult(ok=True, tool="http_get", output={"status": 200})
    refinement = decide(_state(), STEP, "read", "ok", result, attempt=1, has_alternative=False)
    assert refinement.decision == "continue"
    assert refinement.stop_reason is None


def test_available_patch_patches_arguments_with_its_description_as_reason():
    # given a schema drift for which the patcher found a repair
    refinement = decide(
        _state(),
        STEP,
        "read",
        "schema_drift",
        _failed(),
        attempt=1,
        has_alternative=True,
        patch="the response renamed errors -> error_count",
    )
    # then the step is patched rather than replanned
    assert refinement.decision == "patch_args"
    assert refinement.reason == "the response renamed errors -> error_count"


@pytest.mark.parametrize("signal", ["transient", "timeout"])
def test_ambiguous_failure_of_non_idempotent_write_replans_when_alternative_exists(signal):
    refinement = decide(_state(), POST, "write", signal, _failed(), attempt=1, has_alternative=True)
    assert refinement.decision == "replan"
    assert "http_post" in refinement.reason


@pytest.mark.parametrize("signal", ["transient", "timeout"])
def test_ambiguous_failure_of_non_idempotent_write_aborts_as_unsafe_retry(signal):
    # given a write that may have been applied and nothing else to try
    refinement = decide(_state(), POST, "write", signal, _failed(), attempt=1, has_alternative=False)
    # then it is never retried blindly
    assert refinement.decision == "abort"
    assert refinement.stop_reason == "unsafe_retry"
    assert "http_post" in refinement.reason and "never retried blindly" in refinement.reason


def test_rate_limited_non_idempotent_write_is_retried():
    # a 429 means the server did not apply the write, so a retry is safe
    refinement = decide(
        _state(), POST, "write", "rate_limited", _failed(retry_after=2), attempt=1, has_alternative=False
    )
    assert refinement.decision == "retry"


def test_transient_failure_of_idempotent_write_is_retried():
    refinement = decide(
        _state(), POST, "write-idempotent", "transient", _failed(), attempt=1, has_alternative=False
    )
    assert refinement.decision == "retry"


@pytest.mark.parametrize("signal", RETRYABLE)
@pytest.mark.parametrize("attempt", [1, 2])
def test_retryable_signal_within_step_retries_is_retried(signal, attempt):
    refinement = decide(_state(), STEP, "read", signal, _failed(), attempt=attempt, has_alternative=True)
    assert refinement.decision == "retry"
    assert refinement.stop_reason is None
    assert f"retry {attempt} of 2" in refinement.reason


def test_retry_after_header_sets_backoff():
    # given a 429 asking for 3 s and no configured backoff (base 0)
    refinement = decide(
        _state(), STEP, "read", "rate_limited", _failed(retry_after=3), attempt=1, has_alternative=False
    )
    # then the wait honours the server's request
    assert refinement.decision == "retry"
    assert refinement.wait_seconds == 3
    assert "Retry-After 3 s honoured" in refinement.reason


def test_retry_waits_at_least_retry_after_with_backoff(backoff_1_to_8):
    refinement = decide(
        _state(), STEP, "read", "rate_limited", _failed(retry_after=5), attempt=1, has_alternative=False
    )
    assert refinement.wait_seconds >= 5


@pytest.mark.parametrize("has_alternative", [False, True])
def test_run_retries_exhausted_aborts_with_max_retries(has_alternative):
    # given a run that already used all 6 of its retries
    state = _state(retries=6, max_retries=6)
    refinement = decide(
        state, STEP, "read", "transient", _failed(), attempt=1, has_alternative=has_alternative
    )
    assert refinement.decision == "abort"
    assert refinement.stop_reason == "max_retries"
    assert "6 retries" in refinement.reason


def test_step_retries_exhausted_replans_when_alternative_exists():
    refinement = decide(_state(), STEP, "read", "timeout", _failed(), attempt=3, has_alternative=True)
    assert refinement.decision == "replan"
    assert "s1 failed 3 times (timeout)" in refinement.reason


def test_step_retries_exhausted_without_alternative_aborts_with_max_retries():
    refinement = decide(_state(), STEP, "read", "transient", _failed(), attempt=3, has_alternative=False)
    assert refinement.decision == "abort"
    assert refinement.stop_reason == "max_retries"
    assert "no alternative" in refinement.reason


def test_per_step_retry_limit_comes_from_the_run_guards():
    state = _state(max_retries_per_step=0)
    refinement = decide(state, STEP, "read", "transient", _failed(), attempt=1, has_alternative=False)
    assert refinement.decision == "abort"
    assert refinement.stop_reason == "max_retries"


@pytest.mark.parametrize("signal", ["schema_drift", "not_found", "auth"])
def test_replannable_signal_with_alternative_replans(signal):
    refinement = decide(_state(), STEP, "read", signal, _failed(), attempt=1, has_alternative=True)
    assert refinement.decision == "replan"
    assert signal in refinement.reason


@pytest.mark.parametrize(
    "signal, stop_reason",
    [
        ("policy_denied", "policy_denied"),
        ("bad_args", "bad_args"),
        ("auth", "auth"),
        ("not_found", "not_found"),
        ("schema_drift", "schema_drift"),
        ("fatal", "tool_failed"),
    ],
)
def test_unrecoverable_signal_aborts_with_its_stop_reason_and_message(signal, stop_reason):
    # given a failure nothing can repair and no alternative route
    result = _failed(message="GET /metrics answered 403")
    refinement = decide(_state(), STEP, "read", signal, result, attempt=1, has_alternative=False)
    # then the run stops with the signal's stop reason, and the reason quotes the tool's message
    assert refinement.decision == "abort"
    assert refinement.stop_reason == stop_reason
    assert "GET /metrics answered 403" in refinement.reason


@pytest.mark.parametrize("signal", ["policy_denied", "bad_args", "fatal"])
def test_non_replannable_signal_aborts_even_with_alternative(signal):
    refinement = decide(_state(), STEP, "read", signal, _failed(), attempt=1, has_alternative=True)
    assert refinement.decision == "abort"


def test_abort_reason_names_the_policy_rule():
    result = _failed(message="origin http://evil.example:80 is not allowlisted", rule="http.allowlist")
    refinement = decide(_state(), STEP, "read", "policy_denied", result, attempt=1, has_alternative=False)
    assert refinement.reason.endswith(
        "origin http://evil.example:80 is not allowlisted [rule http.allowlist]"
    )


# ---------------------------------------------------------------- backoff_seconds


def test_backoff_is_zero_when_base_is_zero_and_no_retry_after():
    assert backoff_seconds(_state(), "s1", 3, None) == 0


def test_backoff_rounds_retry_after_up_to_whole_seconds():
    wait = backoff_seconds(_state(), "s1", 1, 2.2)
    assert wait == 3
    assert isinstance(wait, int)


def test_retry_after_is_capped_at_backoff_max(monkeypatch):
    monkeypatch.setenv("MAOO_BACKOFF_MAX_SECONDS", "5")
    reload_settings()
    assert backoff_seconds(_state(), "s1", 1, 30) == 5


def test_backoff_grows_with_attempt_up_to_the_max(backoff_1_to_8):
    waits = [backoff_seconds(_state(), "s1", attempt, None) for attempt in range(1, 9)]
    assert waits[0] == 1
    assert waits[:4] == sorted(waits[:4])
    assert waits[3] >= 4
    assert all(4 <= w <= 8 for w in waits[3:])


_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    run_id=_ids,
    step_id=_ids,
    attempt=st.integers(min_value=1, max_value=30),
    retry_after=st.none() | st.floats(min_value=0, max_value=120, allow_nan=False),
)
def test_backoff_is_deterministic_bounded_and_honours_retry_after(
    backoff_1_to_8, run_id, step_id, attempt, retry_after
):
    state = RunState(run_id=run_id, request="r", started_at=0.0)
    # when the same run, step and attempt are asked twice
    first = backoff_seconds(state, step_id, attempt, retry_after)
    second = backoff_seconds(state, step_id, attempt, retry_after)
    # then the wait replays identically, in whole seconds, within the configured max
    assert first == second
    assert isinstance(first, int)
    assert 1 <= first <= 8
    # and never below Retry-After (capped at the max)
    if retry_after is not None:
        assert first >= min(retry_after, 8)


# ---------------------------------------------------------------- unknown outcomes


def _unknown(retry_after: float | None = None, held: bool = False) -> ToolResult:
    details = {"rule": "idempotency.in_progress"} if held else {}
    return ToolResult(
        ok=False,
        tool="http_post",
        error=ToolError(
            kind="unknown_outcome", message="sent, no answer", retry_after=retry_after, details=details
        ),
    )


def test_an_unknown_outcome_of_a_plain_write_is_never_retried_blindly():
    refinement = decide(
        _state(), POST, "write", "unknown_outcome", _unknown(), attempt=1, has_alternative=False
    )
    assert (refinement.decision, refinement.stop_reason) == ("abort", "unsafe_retry")


def test_an_unknown_outcome_of_an_idempotent_write_is_retried_with_the_same_key_within_the_retries():
    refinement = decide(
        _state(), POST, "write-idempotent", "unknown_outcome", _unknown(), attempt=1, has_alternative=False
    )
    assert refinement.decision == "retry"
    spent = decide(
        _state(retries=3, max_retries=3),
        POST,
        "write-idempotent",
        "unknown_outcome",
        _unknown(),
        attempt=2,
        has_alternative=False,
    )
    assert (spent.decision, spent.stop_reason) == ("abort", "max_retries")


def test_a_call_another_invocation_holds_waits_for_the_hold_whatever_the_retries_spent():
    # given every retry of the run is spent, and another live invocation holds the call for 7.2 s more
    refinement = decide(
        _state(retries=3, max_retries=3),
        POST,
        "write-idempotent",
        "unknown_outcome",
        _unknown(retry_after=7.2, held=True),
        attempt=5,
        has_alternative=False,
    )
    # then the run waits until the hold ends and calls again with the same key
    assert (refinement.decision, refinement.wait_seconds) == ("retry", 8)
    assert "same idempotency key" in refinement.reason
