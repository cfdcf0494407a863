"""Memory-informed planning: what long-term memory makes the planner do, and when it does not.

Planning never reads memory itself: ``memory_query`` says what it needs, the handler adapter reads
it (``chalicelib.memory.longterm.answer``), and the Plan state takes the answer. So most of these
tests hand the layer an answer built by hand, with no memory at all.
"""

from __future__ import annotations

import time

import pytest

from chalicelib.config import reload_settings
from chalicelib.contracts import RunState
from chalicelib.journal import Transition, run_step
from chalicelib.memory.facts import Fact, Recalled, Recollection, RecollectionMissingError
from chalicelib.memory.longterm import answer, get_long_term_memory
from chalicelib.perception.request_reader import perceive
from chalicelib.planning.plan_state import memory_query, plan_state
from chalicelib.planning.recall import FAILURE_MEMORY_SECONDS, advise
from chalicelib.planning.recall import memory_query as recall_query

METRICS = "GET /services/payments/metrics"
REQUEST = "What is the error rate of payments over the last hour?"
NOW = 1_800_000_000.0


@pytest.fixture(autouse=True)
def mock_api_url(monkeypatch):
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:8765")
    reload_settings()


def _endpoint(ok: bool, signal: str, age: float, run_id: str = "run-earlier", now: float = NOW) -> Fact:
    return Fact(
        kind="endpoint",
        key=METRICS,
        text=f"endpoint {METRICS} was {signal}",
        data={"ok": ok, "signal": signal},
        run_id=run_id,
        created_at=now - age,
    )


def _recalled(latest: Fact | None = None, error: str | None = None) -> Recollection:
    """An answer as the adapter would give it, built by hand: no memory is involved."""
    found = (Recalled(latest, 1.0),) if latest else ()
    return Recollection(NOW, found=found, latest={("endpoint", METRICS): latest}, error=error)


def _state(request: str = REQUEST, avoid: list[str] | None = None, **update: object) -> RunState:
    return RunState(
        run_id=f"run-{time.monotonic_ns()}",
        request=request,
        started_at=time.time(),
        perception=perceive(request),
        avoid=avoid or [],
        **update,
    )


def _plan(recalled: Recollection | None, avoid: list[str] | None = None) -> Transition[RunState]:
    return run_step(plan_state, _state(avoid=avoid), recalled)


def _memory_events(transition: Transition[RunState]) -> list[dict]:
    return [data for kind, _, data in transition.events if kind == "memory"]


def test_the_plan_state_asks_for_the_endpoints_it_could_plan_around():
    query = memory_query(_state())

    assert query is not None and query.latest == (("endpoint", METRICS),)
    assert METRICS in (query.search or "") and query.recent is None


def test_a_run_without_memory_or_with_nothing_to_plan_asks_memory_nothing():
    assert memory_query(_state(use_memory=False)) is None
    assert memory_query(_state("Do the same as last time")) is None  # ambiguous: it stops, unplanned
    assert memory_query(_state(status="stopped")) is None


def test_an_endpoint_that_recently_failed_is_planned_around():
    advice = advise(perceive(REQUEST), _recalled(_endpoint(False, "rate_limited", age=60)))

    assert advice.avoid == {"s1"}
    assert advice.changes == [
        f"s1: planned s1b (db_query) first: {METRICS} was rate-limited 60 s ago (run run-earlier)"
    ]
    assert advice.retrieved[0]["key"] == METRICS


def test_an_old_failure_or_a_later_success_gives_no_advice():
    old = _endpoint(False, "transient", age=FAILURE_MEMORY_SECONDS + 60)
    assert advise(perceive(REQUEST), _recalled(old)).avoid == set()
    assert advise(perceive(REQUEST), _recalled(_endpoint(True, "ok", age=30))).avoid == set()


def test_the_plan_state_given_a_recent_failure_plans_around_it_with_no_memory_at_all():
    after = _plan(_recalled(_endpoint(False, "rate_limited", age=5)))

    assert [(s.id, s.tool) for s in after.state.plan.steps] == [("s1b", "db_query"), ("s2", "calc")]
    assert (
        after.state.plan.steps[1].args["expression"]
        == "round({{s1b.rows.0.errors}} / {{s1b.rows.0.requests}} * 100, 4)"
    )
    (event,) = _memory_events(after)
    assert event["avoid"] == ["s1"] and "rate-limited" in event["changes"][0]
    assert any(note.startswith("memory: s1: planned s1b") for note in after.state.plan_notes)


def test_advice_is_dropped_when_the_alternative_has_failed_in_this_run():
    after = _plan(_recalled(_endpoint(False, "rate_limited", age=5)), avoid=["s1b"])

    assert [s.id for s in after.state.plan.steps] == ["s1", "s2"]
    assert _memory_events(after)[0]["changes"] == ["advice not followed: every other route has failed (s1)"]


def test_with_nothing_remembered_the_plan_is_the_usual_one_and_memory_is_still_consulted():
    after = _plan(_recalled())

    assert [s.id for s in after.state.plan.steps] == ["s1", "s2"]
    (event,) = _memory_events(after)
    assert (event["retrieved"], event["avoid"], event["changes"]) == ([], [], [])
    assert METRICS in event["query"]


def test_a_memory_that_could_not_be_read_does_not_stop_planning():
    after = _plan(_recalled(_endpoint(False, "rate_limited", age=5), error="OSError: disk gone"))

    assert after.state.plan_ok and [s.id for s in after.state.plan.steps] == ["s1", "s2"]
    (event,) = _memory_events(after)
    assert event["error"] == "OSError: disk gone" and event["avoid"] == [] and event["changes"] == []


def test_planning_a_run_that_uses_memory_without_its_answer_is_a_clear_error():
    with pytest.raises(RecollectionMissingError, match="recalled=answer"):
        _plan(None)


# ---------------------------------------------------------------- the adapter's side: answer()


def test_the_answer_reads_what_the_query_asks_from_long_term_memory():
    now = time.time()
    get_long_term_memory().remember([_endpoint(False, "rate_limited", age=60, now=now)])

    recalled = answer(recall_query(perceive(REQUEST)))

    assert recalled.error is None and recalled.read_at >= now
    assert recalled.latest[("endpoint", METRICS)].data["signal"] == "rate_limited"  # type: ignore[union-attr]
    assert [r.fact.key for r in recalled.found] == [METRICS]
    assert advise(perceive(REQUEST), recalled).avoid == {"s1"}


def test_a_memory_that_cannot_be_read_is_an_answer_with_its_error_never_an_exception():
    class Unreadable:
        def search(self, *args, **kwargs):
            raise OSError("disk gone")

    recalled = answer(recall_query(perceive(REQUEST)), memory=Unreadable())  # type: ignore[arg-type]

    assert recalled.error == "OSError: disk gone" and recalled.found == () and recalled.latest == {}
