"""Long-term memory informs the next plan: a route that just failed is not tried first again."""

from __future__ import annotations

import json
from pathlib import Path

RATE_LIMITED = [
    {
        "path": "/services/payments/metrics",
        "method": "GET",
        "fault": "http_429",
        "count": None,
        "params": {"retry_after": 0},
    }
]


def _events(doc: dict, kind: str) -> list[dict]:
    return [e["data"] for e in json.loads(Path(doc["trace_file"]).read_text())["events"] if e["kind"] == kind]


def test_a_rate_limited_endpoint_is_planned_around_in_the_next_similar_run(maoo):
    first = maoo.run("What is the error rate of payments over the last hour?", faults=RATE_LIMITED)
    second = maoo.run("Compute the payments error rate for the last hour")

    assert first["status"] == "succeeded"
    assert [(s["step_id"], s["signal"], s["decision"]) for s in first["steps"]] == [
        ("s1", "rate_limited", "retry"),
        ("s1", "rate_limited", "retry"),
        ("s1", "rate_limited", "replan"),
        ("s1b", "ok", "continue"),
        ("s2", "ok", "continue"),
    ]
    assert second["status"] == "succeeded" and "is 2.0 %" in second["final_output"]
    assert [(s["step_id"], s["tool"]) for s in second["steps"]] == [("s1b", "db_query"), ("s2", "calc")]
    assert second["counters"]["replans"] == 0 and second["states"].count("Plan") == 1
    assert maoo.requests_seen() == []  # not one call to the API that was rate-limited
    (memory,) = _events(second, "memory")
    assert memory["avoid"] == ["s1"]
    assert "GET /services/payments/metrics was rate-limited" in memory["changes"][0]
    assert first["run_id"] in memory["changes"][0]
    assert any("rate-limited" in fact["text"] for fact in memory["retrieved"])
    assert any(note.startswith("memory: s1: planned s1b (db_query) first") for note in second["plan_notes"])


def test_memory_of_one_endpoint_leaves_other_requests_alone(maoo):
    maoo.run("What is the error rate of payments over the last hour?", faults=RATE_LIMITED)

    other = maoo.run("Get the status of payments")

    assert [s["tool"] for s in other["steps"]] == ["http_get"]
    assert _events(other, "memory")[0]["changes"] == []


def test_the_first_run_with_an_empty_memory_plans_the_usual_route_and_says_so(maoo):
    doc = maoo.run("What is the error rate of payments over the last hour?")

    assert [s["tool"] for s in doc["steps"]] == ["http_get", "calc"]
    (memory,) = _events(doc, "memory")
    assert memory["retrieved"] == [] and memory["avoid"] == []


def test_do_the_same_as_last_time_repeats_the_remembered_request(maoo):
    first = maoo.run("What is the error rate of the search service over the last hour?")

    again = maoo.run("Do the same as last time")

    assert again["status"] == "succeeded" and "is 6.5 %" in again["final_output"]
    assert [s["tool"] for s in again["steps"]] == ["http_get", "calc"]
    (memory,) = [e for e in _events(again, "memory") if e.get("refers_to_earlier_run")]
    assert memory["from_run"] == first["run_id"] and memory["resolved_to"] == first["request"]


def test_do_the_same_with_nothing_remembered_asks_which_request(maoo):
    doc = maoo.run("Do the same as last time")

    assert (doc["status"], doc["stop_reason"]) == ("stopped", "ambiguous_request")
    assert "no earlier run is remembered" in doc["final_output"] and doc["steps"] == []


class _Unreadable:
    """A long-term memory whose every read and write fails, as a lost disk or table would."""

    def __getattr__(self, name):
        def fails(*args, **kwargs):
            raise OSError(f"memory {name} failed: disk gone")

        return fails


def test_a_memory_that_cannot_be_read_leaves_runs_as_they_were_and_the_trace_says_why(maoo, monkeypatch):
    from chalicelib.memory import longterm

    monkeypatch.setattr(longterm, "get_long_term_memory", lambda: _Unreadable())

    doc = maoo.run("What is the error rate of payments over the last hour?")
    again = maoo.run("Do the same as last time")

    assert doc["status"] == "succeeded" and [s["tool"] for s in doc["steps"]] == ["http_get", "calc"]
    (memory,) = _events(doc, "memory")
    assert memory["error"] == "OSError: memory search failed: disk gone" and memory["avoid"] == []
    assert (again["status"], again["stop_reason"]) == ("stopped", "ambiguous_request")
    (pointer,) = _events(again, "memory")
    assert pointer["error"] == "OSError: memory recent failed: disk gone" and pointer["from_run"] is None
