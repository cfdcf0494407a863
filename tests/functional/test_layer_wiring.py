"""The handler adapter reads long-term memory for a layer: a state wired without it fails clearly.

A layer never reads memory itself; ``layer_handler(..., recall=...)`` names what the state needs
and the adapter passes the answer. A Plan function wired without ``recall=`` is a deployment bug:
the run ends ``failed`` with a message that names the fix, and no plan is made.
"""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.handlers import layer_handler


def test_a_plan_function_wired_without_its_memory_answer_fails_the_run_naming_the_fix(
    maoo, engine, monkeypatch
):
    monkeypatch.setitem(engine.handlers, "plan", layer_handler("Plan", "chalicelib.llm.states:plan_state"))

    doc = maoo.run("What is the error rate of payments over the last hour?")

    assert doc["status"] == "failed" and doc["stop_reason"] == "crash"
    assert "RecollectionMissingError" in doc["stop_detail"]
    assert "pass recalled=answer(memory_query(state))" in doc["stop_detail"]
    assert doc["steps"] == [] and doc["states"][-3:] == ["Plan", "Finalize", "Done"]


def test_with_memory_off_the_plan_function_needs_no_answer(maoo, engine, monkeypatch):
    monkeypatch.setitem(engine.handlers, "plan", layer_handler("Plan", "chalicelib.llm.states:plan_state"))

    maoo.session.arm_faults([])
    doc = maoo.session.run("calculate 2 + 2", {}, use_memory=False)

    assert doc["status"] == "succeeded" and "4" in doc["final_output"]


def test_a_layer_that_crashes_keeps_the_events_it_recorded_before_in_the_trace(maoo, monkeypatch):
    from chalicelib.planning import plan_state

    def broken_critic(*args, **kwargs):
        raise KeyError("a bug in the critic")

    monkeypatch.setattr(plan_state, "critique", broken_critic)

    doc = maoo.run("What is the error rate of payments over the last hour?")

    assert doc["status"] == "failed" and doc["stop_reason"] == "crash" and "KeyError" in doc["stop_detail"]
    trace = json.loads(Path(doc["trace_file"]).read_text())["events"]
    plan_events = [e["kind"] for e in trace if e.get("state") == "Plan"]
    assert plan_events == ["memory"]  # recorded before the crash: kept, though the state's result is lost
