"""Memory-informed planning: what long-term memory makes the planner do, and when it does not."""

from __future__ import annotations

import time

import pytest

from chalicelib.config import reload_settings
from chalicelib.contracts import RunState
from chalicelib.memory.longterm import Fact, get_long_term_memory
from chalicelib.memory.store import get_run_store
from chalicelib.perception.request_reader import perceive
from chalicelib.planning.plan_state import plan_state
from chalicelib.planning.recall import FAILURE_MEMORY_SECONDS, advise

METRICS = "GET /services/payments/metrics"
REQUEST = "What is the error rate of payments over the last hour?"


@pytest.fixture(autouse=True)
def mock_api_url(monkeypatch):
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:8765")
    reload_settings()


def _endpoint(ok: bool, signal: str, age: float, run_id: str = "run-earlier") -> Fact:
    return Fact(
        kind="endpoint",
        key=METRICS,
        text=f"endpoint {METRICS} was {signal}",
        data={"ok": ok, "signal": signal},
        run_id=run_id,
        created_at=time.time() - age,
    )


def _plan(request: str = REQUEST, avoid: list[str] | None = None) -> RunState:
    state = RunState(
        run_id=f"run-{time.monotonic_ns()}",
        request=request,
        started_at=time.time(),
        perception=perceive(request),
        avoid=avoid or [],
    )
    return plan_state(state)


def _memory_events(run_id: str) -> list[dict]:
    return [e["data"] for e in get_run_store().events(run_id) if e["kind"] == "memory"]


def test_an_endpoint_that_recently_failed_is_planned_around():
    get_long_term_memory().remember([_endpoint(False, "rate_limited", age=60)])

    advice = advise(perceive(REQUEST))

    assert advice.avoid == {"s1"}
    assert advice.changes == [
        f"s1: planned s1b (db_query) first: {METRICS} was rate-limited 60 s ago (run run-earlier)"
    ]
    assert advice.retrieved[0]["key"] == METRICS


def test_an_old_failure_or_a_later_success_gives_no_advice():
    memory = get_long_term_memory()
    memory.remember([_endpoint(False, "transient", age=FAILURE_MEMORY_SECONDS + 60)])
    assert advise(perceive(REQUEST)).avoid == set()

    memory.remember([_endpoint(False, "transient", age=120), _endpoint(True, "ok", age=30)])
    assert advise(perceive(REQUEST)).avoid == set()


def test_the_plan_state_follows_the_advice_and_the_trace_says_why():
    get_long_term_memory().remember([_endpoint(False, "rate_limited", age=5)])

    after = _plan()

    assert [(s.id, s.tool) for s in after.plan.steps] == [("s1b", "db_query"), ("s2", "calc")]
    assert (
        after.plan.steps[1].args["expression"]
        == "round({{s1b.rows.0.errors}} / {{s1b.rows.0.requests}} * 100, 4)"
    )
    (event,) = _memory_events(after.run_id)
    assert event["avoid"] == ["s1"] and "rate-limited" in event["changes"][0]
    assert any(note.startswith("memory: s1: planned s1b") for note in after.plan_notes)


def test_advice_is_dropped_when_the_alternative_has_failed_in_this_run():
    get_long_term_memory().remember([_endpoint(False, "rate_limited", age=5)])

    after = _plan(avoid=["s1b"])

    assert [s.id for s in after.plan.steps] == ["s1", "s2"]
    assert _memory_events(after.run_id)[0]["changes"] == [
        "advice not followed: every other route has failed (s1)"
    ]


def test_with_nothing_remembered_the_plan_is_the_usual_one_and_memory_is_still_consulted():
    after = _plan()

    assert [s.id for s in after.plan.steps] == ["s1", "s2"]
    (event,) = _memory_events(after.run_id)
    assert (event["retrieved"], event["avoid"], event["changes"]) == ([], [], [])
    assert METRICS in event["query"]


def test_a_memory_that_cannot_be_read_does_not_stop_planning(monkeypatch):
    from chalicelib.planning import recall

    class Broken:
        def search(self, *args, **kwargs):
            raise OSError("disk gone")

    monkeypatch.setattr(recall, "get_long_term_memory", lambda: Broken())
    after = _plan()

    assert after.plan_ok and [s.id for s in after.plan.steps] == ["s1", "s2"]
    assert _memory_events(after.run_id)[0]["error"] == "OSError: disk gone"
