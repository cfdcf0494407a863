"""The embedded engine passes documents on exactly, although it shares what moto would copy.

``embedded_engine.interpreter_speedups`` lets moto's interpreter share the parts of a document
nobody changes instead of deep-copying them on every state. These tests read the execution history
(our source of truth) and what each Lambda function received, on runs that retry, wait, patch,
replan and catch crashes: every state must get what the state before it passed on, every tool
Task must add its outcome (or its crash) and change nothing else, and every function must receive its state's
input as it was when the state was entered. The engine's history read is compared with
``GetExecutionHistory``'s answer on the same runs.
"""

from __future__ import annotations

import copy
import json

import pytest

from chalicelib.tools.names import TOOL_NAMES
from chalicelib.workflow.sfn_runner import WorkflowRunner
from cli.demos import DEMOS
from deploy import generate

TOOL_STATES = {generate.state_name(tool) for tool in TOOL_NAMES}


@pytest.fixture(autouse=True)
def keep_executions(monkeypatch):
    """These tests compare moto's own history after a run, so the engine keeps recent executions."""
    from embedded_engine import EmbeddedEngine

    monkeypatch.setattr(EmbeddedEngine, "keep_finished", 8)


@pytest.fixture
def received(engine, monkeypatch):
    """Every event each Lambda function receives, in order, as it was when received."""
    seen: list[tuple[str, dict]] = []
    for name, real in list(engine.handlers.items()):

        def recording(event, context, _name=name, _real=real):
            seen.append((_name, copy.deepcopy(event)))
            return _real(event, context)

        monkeypatch.setitem(engine.handlers, name, recording)
    return seen


def _history(engine, doc: dict) -> list[dict]:
    return engine.runner().history(doc["execution_arn"])


def _states(history: list[dict]) -> list[tuple[str, dict, dict | None]]:
    """(name, input, output) per state, in order; output None for a state left by an error."""
    states: list[tuple[str, dict, dict | None]] = []
    for event in history:
        if "stateEnteredEventDetails" in event:
            details = event["stateEnteredEventDetails"]
            states.append((details["name"], json.loads(details["input"]), None))
        elif "stateExitedEventDetails" in event:
            details = event["stateExitedEventDetails"]
            name, given, _ = states[-1]
            assert name == details["name"]
            states[-1] = (name, given, json.loads(details["output"]))
    return states


def _assert_exact_flow(
    engine, doc: dict, received: list[tuple[str, dict]]
) -> list[tuple[str, dict, dict | None]]:
    states = _states(_history(engine, doc))
    for (name, _, passed_on), (next_name, given, _) in zip(states, states[1:], strict=False):
        if passed_on is not None:  # a state left by a caught error hands on its error output instead
            assert given == passed_on, f"{next_name} did not get what {name} passed on"
    for name, given, passed_on in states:
        if name in TOOL_STATES and passed_on is not None:
            changed = {key for key in given.keys() | passed_on.keys() if given.get(key) != passed_on.get(key)}
            assert changed in ({"outcome"}, {"tool_crash"}), (
                f"{name} changed {changed}"
            )  # its result, or its crash
    task_inputs = [
        (name, given)
        for name, given, _ in states
        if name not in {"ResumeAt", "PlanOK?", "Route", "Decide", "Backoff", "Done"}
    ]
    calls = [(name, event) for name, event in received]
    assert len(calls) == len(task_inputs)
    for (state, given), (function, event) in zip(task_inputs, calls, strict=True):
        assert event == (given["call"] if state in TOOL_STATES else given), (
            f"{function} got other than {state}'s input"
        )
    return states


def _api_history(engine, doc: dict) -> list[dict]:
    """The history through ``GetExecutionHistory`` itself, not the engine's shortcut."""
    return WorkflowRunner(engine.sfn(), engine.state_machine_arn).history(doc["execution_arn"])


def test_a_run_that_retries_patches_and_replans_passes_every_document_on_exactly(maoo, engine, received):
    demo = DEMOS["refinement"]
    doc = maoo.run(demo.request, faults=demo.faults, **demo.guards)

    states = _assert_exact_flow(engine, doc, received)
    names = [name for name, _, _ in states]
    assert doc["status"] == "succeeded" and names.count("Backoff") == 3 and names.count("Plan") == 2
    assert _history(engine, doc) == _api_history(engine, doc)


def test_a_caught_tool_crash_passes_the_documents_on_exactly(maoo, engine, received, monkeypatch):
    def broken(event, context):
        received.append(("tool_calc", copy.deepcopy(event)))
        raise RuntimeError("boom")

    monkeypatch.setitem(engine.handlers, "tool_calc", broken)
    doc = maoo.run("calculate 2 + 2, then summarize the result")

    states = _assert_exact_flow(engine, doc, received)
    assert doc["status"] == "failed" and doc["stop_reason"] == "tool_failed"
    observed = next(given for name, given, _ in states if name == "Observe")
    assert "boom" in json.dumps(observed["tool_crash"]) and observed.get("outcome") is None
    fast, api = _history(engine, doc), _api_history(engine, doc)
    assert fast == api and [list(event) for event in fast] == [
        list(event) for event in api
    ]  # same keys, same order


def test_the_engine_s_history_read_answers_an_unknown_execution_as_the_api_does(engine):
    from botocore.exceptions import ClientError

    unknown = engine.state_machine_arn.replace(":stateMachine:", ":execution:") + ":no-such-run"
    with pytest.raises(ClientError, match="ExecutionDoesNotExist"):
        engine.runner().history(unknown)


def test_runs_after_each_other_do_not_see_each_others_documents(maoo, engine, received):
    first = maoo.run("calculate 2 + 2")
    second = maoo.run("calculate 3 + 3")

    assert "4" in first["final_output"] and "6" in second["final_output"]
    first_states, second_states = _states(_history(engine, first)), _states(_history(engine, second))
    assert (
        first_states[0][1]["run_id"] == first["run_id"] and second_states[0][1]["run_id"] == second["run_id"]
    )
    assert all(given["run_id"] == second["run_id"] for _, given, _ in second_states)


def test_a_definition_outside_the_proven_set_runs_with_moto_s_own_copies_and_threads(
    maoo, monkeypatch, caplog
):
    from embedded_engine import engine as embedded
    from embedded_engine import interpreter_speedups

    monkeypatch.setattr(
        interpreter_speedups,
        "unproven_features",
        lambda definition: ["state X: Type Map (forced by this test)"],
    )
    embedded.reset_embedded_engine()
    try:
        demo = DEMOS["refinement"]
        doc = maoo.run(demo.request, faults=demo.faults, **demo.guards)
        engine = embedded.get_embedded_engine(None, {})

        assert engine.unproven_features == ["state X: Type Map (forced by this test)"]
        assert "moto's deep copies and Task threads are kept" in caplog.text
        from moto.stepfunctions.parser.asl.component.state.exec import execute_state

        assert execute_state.Thread is not interpreter_speedups.InlineThread
        assert doc["status"] == "succeeded" and doc["counters"]["replans"] == 1
        states = _states(_history(engine, doc))
        assert [name for name, _, _ in states] == doc["states"]
        assert _history(engine, doc) == _api_history(engine, doc)
    finally:
        embedded.reset_embedded_engine()  # the next test gets the usual engine
