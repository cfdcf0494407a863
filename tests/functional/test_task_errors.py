"""Each Task's Retry and Catch, driven through the state machine on the embedded engine.

The definition retries Lambda's own service faults, catches a broken contract without a retry,
catches service faults once the retries are spent, and keeps ``States.ALL`` as the last fallback.
Each test makes one function fail one way and reads what the user sees: the run document, its
states and its steps.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import StateContractError
from chalicelib.workflow.definition import load_definition


def _always(engine: Any, monkeypatch: Any, function: str, error: Exception) -> dict[str, int]:
    """Make ``function`` raise ``error`` on every call; returns the live call counter."""
    calls = {"n": 0}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls["n"] += 1
        raise error

    monkeypatch.setitem(engine.handlers, function, handler)
    return calls


def test_a_lambda_service_fault_that_never_clears_is_retried_then_caught_as_a_fatal_tool_failure(
    maoo, engine, monkeypatch
):
    from embedded_engine import SimulatedServiceError

    calls = _always(engine, monkeypatch, "tool_calc", SimulatedServiceError("the Lambda service is down"))
    retries = load_definition()["States"]["CallCalc"]["Retry"][0]["MaxAttempts"]

    doc = maoo.run("calculate 2 + 2")

    assert calls["n"] == 1 + retries  # the first call and every retry of the Task state itself
    assert doc["states"].count("CallCalc") == 1
    assert doc["status"] == "failed" and doc["stop_reason"] == "tool_failed"
    step = doc["steps"][0]
    assert step["signal"] == "fatal" and "Lambda.ServiceException" in step["error"]["message"]


def test_a_broken_contract_in_a_tool_is_caught_without_a_retry(maoo, engine, monkeypatch):
    calls = _always(
        engine, monkeypatch, "tool_calc", StateContractError("tool calc: input is not a ToolCall")
    )

    doc = maoo.run("calculate 2 + 2")

    assert calls["n"] == 1
    assert doc["status"] == "failed" and doc["stop_reason"] == "tool_failed"
    assert "StateContractError" in doc["steps"][0]["error"]["message"]


def test_a_broken_contract_in_a_layer_is_caught_and_the_run_still_finalizes(maoo, engine, monkeypatch):
    calls = _always(engine, monkeypatch, "next_step", StateContractError("NextStep: input is not a RunState"))

    doc = maoo.run("calculate 2 + 2")

    assert calls["n"] == 1
    assert doc["status"] == "failed" and doc["stop_reason"] == "crash"
    assert "input is not a RunState" in doc["stop_detail"]
    assert doc["states"] == ["ResumeAt", "Perceive", "Plan", "PlanOK?", "NextStep", "Finalize", "Done"]


def test_an_exception_no_catcher_names_falls_back_to_states_all_and_is_not_retried(maoo, engine, monkeypatch):
    calls = _always(engine, monkeypatch, "observe", KeyError("a bug"))

    doc = maoo.run("calculate 2 + 2")

    assert calls["n"] == 1
    assert doc["status"] == "failed" and doc["stop_reason"] == "crash"
    assert "KeyError" in doc["stop_detail"]
    assert doc["states"][-3:] == ["Observe", "Finalize", "Done"]
