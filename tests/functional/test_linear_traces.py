"""Traces in linear space: every state's documents rebuilt from the trace file are the engine's.

The engine's own history (what ``finish_run`` is handed) is captured as the run finishes, before
the engine lets the execution go; the trace file written from it must rebuild to exactly it, text
for text, for runs that retry, patch, replan, and catch a crash, and must grow linearly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.redaction import REDACTED, redact
from chalicelib.trace_history import FORMAT, encode, rebuild, trace_history
from chalicelib.workflow import runs
from cli.demos import DEMOS


@pytest.fixture
def histories(monkeypatch) -> dict[str, list[dict[str, Any]]]:
    """The engine's history of every execution finished while the test runs, by execution arn."""
    seen: dict[str, list[dict[str, Any]]] = {}
    real = runs.execution_part

    def capture(execution):
        seen[execution.arn] = json.loads(json.dumps(execution.history, default=str))
        return real(execution)

    monkeypatch.setattr(runs, "execution_part", capture)
    return seen


def _trace(doc: dict[str, Any]) -> dict[str, Any]:
    return json.loads(Path(doc["trace_file"]).read_text(encoding="utf-8"))


def _same_as_engine(doc: dict[str, Any], histories: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    trace = _trace(doc)
    assert trace["execution"]["format"] == FORMAT and "history" not in trace["execution"]
    engine = histories[doc["execution_arn"]]
    rebuilt = trace_history(trace)
    assert len(rebuilt) == len(engine)
    for ours, theirs in zip(rebuilt, engine, strict=True):
        assert ours == theirs  # every field of every event, each document as the same JSON text
    return trace


def test_a_run_that_retries_patches_and_replans_rebuilds_exactly(maoo, histories):
    demo = DEMOS["refinement"]
    doc = maoo.run(demo.request, faults=demo.faults, **demo.guards)

    assert (
        doc["counters"]["retries"] == 3
        and doc["counters"]["patches"] == 1
        and doc["counters"]["replans"] == 1
    )
    _same_as_engine(doc, histories)


def test_a_run_whose_layer_crashes_rebuilds_exactly(maoo, engine, monkeypatch, histories):
    def broken(event, context):
        raise RuntimeError("observer exploded")

    monkeypatch.setitem(engine.handlers, "observe", broken)
    doc = maoo.run("calculate 2 + 2, calculate 3 + 3")

    assert doc["status"] == "failed" and doc["stop_reason"] == "crash"
    trace = _same_as_engine(doc, histories)
    failed = [e for e in trace_history(trace) if e["type"] == "TaskFailed"]
    assert failed and "observer exploded" in failed[0]["taskFailedEventDetails"]["cause"]


def test_the_trace_grows_linearly_with_the_steps(maoo, histories):
    def run(n: int) -> tuple[int, int]:
        request = ", ".join(f"calculate {i} + {i}" for i in range(1, n + 1))
        doc = maoo.run(request, max_steps=2 * n, budget=100)
        assert doc["status"] == "succeeded"
        _same_as_engine(doc, histories)
        return Path(doc["trace_file"]).stat().st_size, len(doc["states"])

    size_20, _ = run(20)
    size_40, states_40 = run(40)
    assert size_40 <= 2.2 * size_20  # was 3.6x (4.9 MB and 17.9 MB) when every document was stored whole
    assert size_40 / states_40 <= 25_000


def test_secrets_are_redacted_per_part_as_the_whole_history_would_be():
    """A document rebuilt from redacted parts is the redacted document, wherever the secret sits."""
    from chalicelib.redaction import is_secret_key, redact_under

    def event(kind: str, doc: Any, field: str = "output") -> dict[str, Any]:
        return {"type": kind, "id": 1, "stateExitedEventDetails": {"name": "S", field: json.dumps(doc)}}

    docs = [
        {"headers": {"Authorization": None}, "n": 1, "steps": []},
        {"headers": {"Authorization": "Bearer abcdefghijklmnop"}, "n": 1, "steps": []},
        {"headers": {"Authorization": {"scheme": "Bearer", "value": "x"}}, "n": 2, "steps": [{"a": 1}]},
        {
            "headers": {"Authorization": {"scheme": "Basic", "value": "y"}},
            "n": 2,
            "steps": [{"a": 1}, {"b": 2}],
        },
        {"headers": {}, "api_key": 5, "steps": [{"a": "sk-abcdefghijklmnopqrstu"}]},
        {"Payload": {"headers": {}, "api_key": "k", "steps": []}, "StatusCode": 200},
    ]
    history = [event("TaskStateExited", d) for d in docs]
    stored = encode(history, redact_under, is_secret_key)
    text = json.dumps(stored)
    assert "abcdefghijklmnop" not in text and "sk-abcdef" not in text and '"y"' not in text
    for ours, theirs in zip(rebuild(stored), history, strict=True):
        got = json.loads(ours["stateExitedEventDetails"]["output"])
        assert got == json.loads(redact(theirs)["stateExitedEventDetails"]["output"])
    assert (
        json.loads(rebuild(stored)[3]["stateExitedEventDetails"]["output"])["headers"]["Authorization"]
        == REDACTED
    )


def test_a_trace_written_before_this_format_reads_the_same():
    history = [{"type": "ExecutionStarted", "id": 1, "executionStartedEventDetails": {"input": "{}"}}]
    assert trace_history({"execution": {"arn": "a", "history": history}}) == history
    assert trace_history({"execution": None}) == [] and trace_history({}) == []
