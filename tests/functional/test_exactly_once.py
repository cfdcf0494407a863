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
