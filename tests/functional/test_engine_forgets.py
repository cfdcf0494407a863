"""A long-lived process does not pile up executions: once a run's document and trace are stored,
the embedded engine lets go of its execution (moto's backend included)."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.api import RunService
from chalicelib.trace_history import trace_history
from embedded_engine import open_embedded_runner


@pytest.fixture(autouse=True)
def _nothing_left_from_earlier_tests(engine):
    """Executions earlier tests in this process ended and never collected (some start them straight on
    the client) are let go first: these tests measure what their own runs leave."""
    engine.forget_ended()


def test_finished_runs_leave_nothing_in_the_engine_but_their_documents_stay(maoo, engine):
    docs = [maoo.run(f"calculate {n} + {n}") for n in range(25)]
    stopped = maoo.run("Bake me a cake")  # ends without a tool call
    crashed = maoo.run("calculate 1 + 1", max_steps=1, budget=0.1)  # a guard stops it

    assert all(doc["status"] == "succeeded" for doc in docs)
    assert stopped["status"] == "stopped" and crashed["status"] != "succeeded"
    assert engine.held() == {"executions": 0, "end_events": 0, "kept_finished": 0}
    for doc in (docs[0], docs[-1], stopped, crashed):
        with open(doc["trace_file"], encoding="utf-8") as handle:
            trace = json.load(handle)
        assert trace_history(trace) and trace["run"]["run_id"] == doc["run_id"]


def test_a_run_answered_at_once_is_forgotten_when_its_background_finish_stores_it(maoo, engine):
    from app import app

    service = RunService(lambda: app.handler_map, embedded=open_embedded_runner)
    status, body = service.start(json.dumps({"request": "calculate 3 + 3", "wait": False}))
    assert status == 202

    deadline = time.monotonic() + 60  # the background thread stores the document, then releases the execution
    while (
        service.get(body["run_id"])[1]["status"] == "running" or engine.held()["executions"]
    ) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert service.get(body["run_id"])[1]["status"] == "succeeded"
    assert engine.held() == {"executions": 0, "end_events": 0, "kept_finished": 0}


def test_kept_executions_are_bounded_by_keep_finished(maoo, engine, monkeypatch):
    monkeypatch.setattr(engine, "keep_finished", 3)
    for n in range(6):
        maoo.run(f"calculate {n} + 1")

    assert engine.held()["executions"] == 3 and engine.held()["kept_finished"] == 3
    monkeypatch.setattr(engine, "keep_finished", 0)
    maoo.run("calculate 9 + 1")
    assert engine.held() == {"executions": 0, "end_events": 0, "kept_finished": 0}
