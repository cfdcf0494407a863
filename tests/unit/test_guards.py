"""Stop guards checked before every tool call, and the failure streaks behind non-progress."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.contracts import Counters, Guards, RunState
from chalicelib.execution.guards import check_guards, fingerprint, note_outcome

FP = fingerprint("http_get", {"url": "http://127.0.0.1:8000/metrics"})
OTHER_FP = fingerprint("http_get", {"url": "http://127.0.0.1:8000/incidents"})


def _state(started_at: float | None = None, failures: dict[str, int] | None = None, **kwargs) -> RunState:
    counters = Counters(**{k: kwargs.pop(k) for k in ("tool_calls", "cost") if k in kwargs})
    return RunState(
        run_id="run-1",
        request="r",
        started_at=time.time() if started_at is None else started_at,
        guards=Guards(**kwargs),
        counters=counters,
        failures=failures or {},
    )


def test_fresh_run_passes_every_guard():
    assert check_guards(_state(), "http_get", 1.0, FP) is None


def test_deadline_stops_a_run_past_its_deadline():
    # given a run that started 500 s ago with a 120 s deadline
    state = _state(started_at=time.time() - 500, deadline_seconds=120)
    # when the next call is checked
    stop = check_guards(state, "http_get", 1.0, FP)
    # then the run stops on the deadline, and the detail says which
    assert stop is not None
    assert stop[0] == "deadline"
    assert "the deadline is 120 s" in stop[1]


def test_max_steps_stops_when_tool_calls_reach_the_limit():
    stop = check_guards(_state(tool_calls=5, max_steps=5), "calc", 0.0, FP)
    assert stop is not None and stop[0] == "max_steps"
    assert "max_steps is 5" in stop[1]


def test_max_steps_allows_the_last_permitted_call():
    assert check_guards(_state(tool_calls=4, max_steps=5), "calc", 0.0, FP) is None


def test_budget_stops_a_call_that_would_overspend():
    stop = check_guards(_state(cost=9.5, budget=10), "http_get", 1.0, FP)
    assert stop is not None and stop[0] == "budget"
    assert "http_get costs 1" in stop[1] and "budget 10" in stop[1]


def test_budget_allows_a_call_that_uses_exactly_what_remains():
    assert check_guards(_state(cost=9.0, budget=10), "http_get", 1.0, FP) is None


def test_non_progress_stops_a_call_whose_streak_reached_the_limit():
    # given the same call failed 3 times in a row with the same signal, and the limit is 3
    state = _state(non_progress_limit=3, failures={f"{FP}|transient": 3})
    stop = check_guards(state, "http_get", 1.0, FP)
    assert stop is not None and stop[0] == "non_progress"
    assert "failed 3 times in a row with transient" in stop[1]


def test_non_progress_allows_a_streak_below_the_limit():
    state = _state(non_progress_limit=3, failures={f"{FP}|transient": 2})
    assert check_guards(state, "http_get", 1.0, FP) is None


def test_non_progress_ignores_another_calls_streak():
    state = _state(non_progress_limit=3, failures={f"{OTHER_FP}|transient": 9})
    assert check_guards(state, "http_get", 1.0, FP) is None


def test_repeated_identical_failures_trip_non_progress_at_the_limit():
    # given a call that keeps failing the same way
    state = _state(non_progress_limit=4)
    for expected_streak in range(1, 5):
        assert check_guards(state, "http_get", 1.0, FP) is None
        state = state.model_copy(update={"failures": note_outcome(state, FP, "timeout")})
        assert state.failures[f"{FP}|timeout"] == expected_streak
    # then the 5th attempt is refused
    assert check_guards(state, "http_get", 1.0, FP)[0] == "non_progress"


def test_success_clears_the_calls_streak_only():
    state = _state(failures={f"{FP}|transient": 3, f"{OTHER_FP}|auth": 1})
    assert note_outcome(state, FP, "ok") == {f"{OTHER_FP}|auth": 1}


def test_same_signal_extends_the_streak():
    state = _state(failures={f"{FP}|transient": 2})
    assert note_outcome(state, FP, "transient") == {f"{FP}|transient": 3}


def test_different_signal_restarts_the_streak_at_one():
    state = _state(failures={f"{FP}|transient": 3})
    assert note_outcome(state, FP, "timeout") == {f"{FP}|timeout": 1}


def test_failure_of_another_call_leaves_this_streak():
    state = _state(failures={f"{FP}|transient": 2})
    assert note_outcome(state, OTHER_FP, "auth") == {f"{FP}|transient": 2, f"{OTHER_FP}|auth": 1}


_args = st.dictionaries(st.text(min_size=1, max_size=8), st.integers() | st.text(max_size=8), max_size=6)


@given(_args)
def test_fingerprint_is_stable_under_key_order(args):
    reordered = dict(reversed(list(args.items())))
    assert fingerprint("http_get", reordered) == fingerprint("http_get", args)


def test_fingerprint_tells_calls_apart():
    assert fingerprint("http_get", {"url": "a"}) != fingerprint("http_get", {"url": "b"})
    assert fingerprint("http_get", {"url": "a"}) != fingerprint("http_post", {"url": "a"})
    assert fingerprint("calc", {"a": {"x": 1, "y": 2}}) == fingerprint("calc", {"a": {"y": 2, "x": 1}})
