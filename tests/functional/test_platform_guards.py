"""Guards the platform itself enforces: the router is the allowlist, unknown decisions fail, time is capped."""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.workflow.definition import load_definition


def test_a_tool_that_is_not_a_state_cannot_be_called(maoo, engine, monkeypatch):
    real = engine.handlers["next_step"]

    def smuggles_a_tool(event, context):
        state = real(event, context)
        if state.get("route") == "call":
            state["call"]["tool"] = "shell_exec"
        return state

    monkeypatch.setitem(engine.handlers, "next_step", smuggles_a_tool)
    doc = maoo.run("calculate 2 + 2")

    assert doc["status"] == "failed" and doc["stop_reason"] == "execution_failed"
    assert "MAOO.Unroutable" in doc["stop_detail"]
    assert doc["states"][-1] == "Unroutable" and not any(s.startswith("Call") for s in doc["states"])
    trace = json.loads(Path(doc["trace_file"]).read_text())
    assert trace["execution"]["status"] == "FAILED" and trace["events"][-1]["kind"] == "execution_failed"


def test_an_unknown_decision_goes_to_a_fail_state_never_ignored(maoo, engine, monkeypatch):
    real = engine.handlers["observe"]

    def invents_a_decision(event, context):
        state = real(event, context)
        state["decision"] = "improvise"
        return state

    monkeypatch.setitem(engine.handlers, "observe", invents_a_decision)
    doc = maoo.run("calculate 2 + 2")

    assert doc["status"] == "failed" and "MAOO.UnknownDecision" in doc["stop_detail"]
    assert doc["states"][-2:] == ["Decide", "UnknownDecision"]
    assert doc["steps"][0]["tool"] == "calc"  # what the run had reached is kept


def test_the_definition_caps_time_and_routes_defaults_to_fail_states():
    definition = load_definition()
    states = definition["States"]

    assert 0 < definition["TimeoutSeconds"] <= 3600
    for name in ("Route", "Decide"):
        assert states[states[name]["Default"]]["Type"] == "Fail"
    tasks = [s for s in states.values() if s["Type"] == "Task"]
    assert all(any("Lambda.ServiceException" in r["ErrorEquals"] for r in s["Retry"]) for s in tasks)
    assert all(s.get("Catch") for s in tasks)
