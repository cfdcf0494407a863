"""The handler adapter reads long-term memory for a layer: a state wired without it fails clearly.

A layer never reads memory itself; ``layer_handler(..., recall=...)`` names what the state needs
and the adapter passes the answer. A Plan function wired without ``recall=`` is a deployment bug:
the run ends ``failed`` with a message that names the fix, and no plan is made.
"""

from __future__ import annotations

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
