"""Writes happen once: retried after an ambiguous failure, re-invoked by the platform, or neither."""

from __future__ import annotations

from tests.functional.conftest import lose_first_response

INCIDENT = "Open a sev2 incident for search"


def _posts(maoo) -> list[dict]:
    return [r for r in maoo.requests_seen() if r["method"] == "POST" and r["path"] == "/incidents"]


def test_write_applied_but_response_lost_is_retried_with_the_same_key_and_applied_once(maoo):
    doc = maoo.run(
        INCIDENT,
        faults=[{"path": "/incidents", "method": "POST", "fault": "applied_no_response", "count": 1}],
    )

    assert doc["status"] == "succeeded"
    assert [(s["signal"], s["decision"]) for s in doc["steps"]] == [
        ("unknown_outcome", "retry"),  # sent, no answer: not a failure of the API
        ("ok", "continue"),
    ]
    posts = _posts(maoo)
    assert (
        len(posts) == 2 and posts[0]["headers"]["idempotency-key"] == posts[1]["headers"]["idempotency-key"]
    )
    assert len(maoo.side_effects()) == 1


def test_lambda_service_fault_after_the_write_is_retried_by_the_platform_without_a_second_call(
    maoo, engine, monkeypatch
):
    calls = lose_first_response(engine, monkeypatch, "tool_http_post")
    doc = maoo.run(INCIDENT)

    assert doc["status"] == "succeeded" and calls["n"] == 2
    assert doc["states"].count("CallHttpPost") == 1  # one state, retried by its own ASL Retry
    assert len(_posts(maoo)) == 1  # the second invocation answered from the idempotency record
    assert len(maoo.side_effects()) == 1


def test_non_idempotent_write_is_never_retried_blindly_after_an_ambiguous_failure(maoo, monkeypatch):
    monkeypatch.setenv("MAOO_IDEMPOTENT_ORIGINS", "")
    from chalicelib.config import reload_settings

    reload_settings()
    doc = maoo.run(
        INCIDENT,
        faults=[{"path": "/incidents", "method": "POST", "fault": "applied_no_response", "count": 1}],
    )

    assert doc["status"] == "stopped" and doc["stop_reason"] == "unsafe_retry"
    assert "never retried blindly" in doc["stop_detail"]
    assert len(doc["steps"]) == 1 and len(_posts(maoo)) == 1
    assert len(maoo.side_effects()) == 1


def test_same_request_in_two_runs_uses_two_keys(maoo):
    maoo.run(INCIDENT)
    first = maoo.side_effects()
    maoo.run(INCIDENT)  # the harness resets the mock API between runs
    second = maoo.side_effects()

    assert len(first) == len(second) == 1
    assert first[0]["idempotency_key"] != second[0]["idempotency_key"]  # a new run is a new intent


def _held_by_another_invocation(monkeypatch, seconds_left: float) -> None:
    """Before the run's first write, another (live) invocation sends the same call and holds its
    idempotency record in progress, with ``seconds_left`` before its time runs out."""
    from chalicelib.memory.idempotency import get_persistence_layer

    layer = get_persistence_layer()
    save = layer.save_inprogress
    held: list[dict] = []

    def first_held(data, remaining_time_in_millis=None):
        if not held:
            held.append(data)
            save(data, remaining_time_in_millis=int(seconds_left * 1000))  # the other invocation
        return save(data, remaining_time_in_millis)

    monkeypatch.setattr(layer, "save_inprogress", first_held)


def test_a_write_another_live_invocation_holds_waits_out_the_hold_then_is_made_once(maoo, monkeypatch):
    # given the incident call is in another invocation's hands for 1.5 s more
    _held_by_another_invocation(monkeypatch, 1.5)
    # when the run makes it
    doc = maoo.run(INCIDENT)
    # then its outcome reads unknown (not a failure of the API), the run waits out the hold without
    # spending a retry, and the call made again with the same key applies it once
    assert doc["status"] == "succeeded", doc.get("stop_detail")
    held, made = doc["steps"]
    assert (held["signal"], held["decision"], made["signal"]) == ("unknown_outcome", "retry", "ok")
    assert held["error"]["kind"] == "unknown_outcome" and "same key resolves it" in held["error"]["message"]
    assert 0 < held["wait_seconds"] <= 2 and "when the hold on it expires" in held["reason"]
    assert "Backoff" in doc["states"]
    assert doc["counters"]["retries"] == 0
    assert len(_posts(maoo)) == 1 and len(maoo.side_effects()) == 1


def test_a_write_held_past_the_run_deadline_stops_the_run_with_the_reason_not_max_retries(maoo, monkeypatch):
    # given the incident call is in another invocation's hands for ten minutes
    _held_by_another_invocation(monkeypatch, 600)
    # when the run makes it
    doc = maoo.run(INCIDENT)
    # then the run stops at once on its deadline, saying why, and sends nothing
    assert (doc["status"], doc["stop_reason"]) == ("stopped", "deadline")
    assert "the retry would first wait" in doc["stop_detail"]
    assert [s["signal"] for s in doc["steps"]] == ["unknown_outcome"]
    assert _posts(maoo) == [] and maoo.side_effects() == []
