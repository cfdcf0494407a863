"""The whole pipeline through the embedded state machine; the execution history is the truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.trace_history import trace_history
from cli.demos import DEMOS

SEED = "Fetch mock data, calculate 2 + 2, and summarize the result"
STEP_LOOP = ["NextStep", "Route"]


def tool_loop(call_state: str) -> list[str]:
    return ["NextStep", "Route", call_state, "Observe", "Decide"]


def test_seed_request_runs_every_layer_and_answers_4(maoo):
    doc = maoo.run(SEED)

    assert doc["status"] == "succeeded" and doc["stop_reason"] is None
    assert doc["states"] == (
        ["ResumeAt", "Perceive", "Plan", "PlanOK?"]
        + tool_loop("CallHttpGet")
        + tool_loop("CallCalc")
        + tool_loop("CallSummarize")
        + STEP_LOOP
        + ["Finalize", "Done"]
    )
    assert "4" in doc["final_output"]
    assert [s["tool"] for s in doc["steps"]] == ["http_get", "calc", "summarize"]
    assert all(s["ok"] and s["signal"] == "ok" and s["decision"] == "continue" for s in doc["steps"])


def test_trace_file_holds_events_and_execution_history(maoo):
    doc = maoo.run(SEED)

    trace = json.loads(Path(doc["trace_file"]).read_text())
    assert Path(doc["trace_file"]).name == f"{doc['run_id']}.trace.json"
    kinds = [e["kind"] for e in trace["events"]]
    assert kinds[0] == "start" and kinds[-1] == "finalize"
    assert kinds.count("tool_call") == 3
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in trace_history(trace) if "stateEnteredEventDetails" in e
    ]
    assert entered == doc["states"]
    assert trace["run"]["status"] == "succeeded"


def test_refinement_demo_retries_patches_and_replans(maoo):
    demo = DEMOS["refinement"]
    doc = maoo.run(demo.request, faults=demo.faults, **demo.guards)

    assert doc["status"] == "succeeded"
    assert [(s["step_id"], s["signal"], s["decision"]) for s in doc["steps"]] == [
        ("s1", "rate_limited", "retry"),
        ("s1", "schema_drift", "patch_args"),
        ("s1", "ok", "continue"),
        ("s2", "ok", "continue"),
        ("s3", "transient", "retry"),
        ("s3", "transient", "retry"),
        ("s3", "transient", "replan"),
        ("s3b", "ok", "continue"),
        ("s4", "ok", "continue"),
    ]
    assert doc["steps"][0]["wait_seconds"] == 1  # Retry-After: 1 honoured although the backoff base is 0 here
    assert doc["states"].count("Backoff") == 3 and doc["states"].count("Plan") == 2
    assert doc["counters"] == {**doc["counters"], "retries": 3, "patches": 1, "replans": 1}
    assert "2" in doc["final_output"] and "checkout" in doc["final_output"].lower()


def test_stop_demo_ends_on_the_non_progress_guard(maoo):
    demo = DEMOS["stop"]
    doc = maoo.run(demo.request, faults=demo.faults, **demo.guards)

    assert doc["status"] == "stopped" and doc["stop_reason"] == "non_progress"
    assert len(doc["steps"]) == 4 and all(s["signal"] == "transient" for s in doc["steps"])
    assert doc["states"][-2:] == ["Finalize", "Done"]
    assert "non_progress" in doc["final_output"]
    assert maoo.side_effects() == []


def test_max_retries_guard_stops_a_write_with_no_alternative(maoo):
    doc = maoo.run(
        "Open a sev2 incident for search",
        faults=[{"path": "/incidents", "method": "POST", "fault": "http_503"}],
    )

    assert doc["status"] == "stopped" and doc["stop_reason"] == "max_retries"
    assert [s["attempt"] for s in doc["steps"]] == [1, 2, 3]
    assert doc["steps"][-1]["decision"] == "abort"


def test_max_steps_guard_stops_before_the_next_call(maoo):
    doc = maoo.run(SEED, faults=[{"path": "/data", "fault": "http_503", "count": 1}], max_steps=3)

    assert doc["status"] == "stopped" and doc["stop_reason"] == "max_steps"
    assert doc["counters"]["tool_calls"] == 3
    assert doc["states"][-4:] == ["NextStep", "Route", "Finalize", "Done"]


def test_budget_guard_stops_when_the_next_call_would_overspend(maoo):
    doc = maoo.run("Fetch mock data", faults=[{"path": "/data", "fault": "http_503"}], budget=2)

    assert doc["status"] == "stopped" and doc["stop_reason"] == "budget"
    assert doc["counters"]["cost"] == 2


def test_deadline_guard_stops_a_run_past_its_deadline(maoo):
    doc = maoo.run(SEED, deadline_seconds=0)

    assert doc["status"] == "stopped" and doc["stop_reason"] == "deadline"
    assert doc["steps"] == []


def test_unsupported_request_ends_without_a_plan_or_a_tool(maoo):
    doc = maoo.run("Bake me a chocolate cake")

    assert doc["status"] == "stopped" and doc["stop_reason"] == "unsupported_request"
    assert doc["states"] == ["ResumeAt", "Perceive", "Plan", "PlanOK?", "Finalize", "Done"]
    assert doc["plan"] is None and doc["steps"] == []
    assert maoo.requests_seen() == []


def test_plan_outside_the_sandbox_is_denied_before_any_tool_runs(maoo):
    doc = maoo.run("Fetch mock data and save it to ../../outside.md")

    assert doc["status"] == "stopped" and doc["stop_reason"] == "policy_denied"
    assert "file.traversal" in doc["stop_detail"]
    assert doc["steps"] == [] and maoo.requests_seen() == []


def test_schema_drift_with_a_known_rename_is_patched_and_retried(maoo):
    doc = maoo.run(
        "What is the error rate of the search service over the last hour?",
        faults=[{"path": "/services/search/metrics", "fault": "schema_drift"}],
    )

    assert doc["status"] == "succeeded"
    assert [(s["tool"], s["attempt"], s["signal"], s["decision"]) for s in doc["steps"]] == [
        ("http_get", 1, "schema_drift", "patch_args"),
        ("http_get", 2, "ok", "continue"),
        ("calc", 1, "ok", "continue"),
    ]
    assert doc["steps"][1]["args"]["expect_fields"] == ["request_count", "error_count"]
    assert "s1.body.error_count" in doc["plan"]["steps"][1]["args"]["expression"]
    assert "6.5" in doc["final_output"]
    assert doc["counters"]["patches"] == 1


def test_not_found_replans_to_the_database(maoo):
    doc = maoo.run(
        "What is the error rate of the search service over the last hour?",
        faults=[{"path": "/services/search/metrics", "fault": "http_404"}],
    )

    assert doc["status"] == "succeeded"
    assert [(s["tool"], s["signal"], s["decision"]) for s in doc["steps"]] == [
        ("http_get", "not_found", "replan"),
        ("db_query", "ok", "continue"),
        ("calc", "ok", "continue"),
    ]
    assert "6.5" in doc["final_output"]


def test_condition_false_skips_the_write(maoo):
    doc = maoo.run("If the error rate of payments is above 5 %, open an incident")

    assert doc["status"] == "succeeded"
    assert doc["skipped"] == ["s3"]
    assert maoo.side_effects() == []


def test_condition_true_opens_exactly_one_incident(maoo):
    doc = maoo.run("If the error rate of search is above 5 %, open an incident")

    assert doc["status"] == "succeeded" and doc["skipped"] == []
    effects = maoo.side_effects()
    assert len(effects) == 1 and effects[0]["kind"] == "incident_created"


def test_large_tool_output_travels_by_reference(maoo, monkeypatch):
    monkeypatch.setenv("MAOO_LARGE_OUTPUT_BYTES", "256")
    from chalicelib.config import reload_settings

    reload_settings()
    doc = maoo.run("List all services and summarize them")

    stored = [s for s in doc["steps"] if s["output_ref"]]
    assert stored and stored[0]["tool"] == "db_query"
    assert doc["status"] == "succeeded" and "payments" in doc["final_output"]


def test_a_crashing_tool_lambda_becomes_a_fatal_signal(maoo, engine, monkeypatch):

    def broken(event, context):
        raise RuntimeError("boom")

    monkeypatch.setitem(engine.handlers, "tool_calc", broken)
    doc = maoo.run("calculate 2 + 2")

    assert doc["status"] == "failed" and doc["stop_reason"] == "tool_failed"
    assert doc["steps"][0]["signal"] == "fatal" and "RuntimeError" in doc["steps"][0]["error"]["message"]
    assert "CallCalc" in doc["states"]


def test_a_crashing_layer_is_caught_and_the_run_still_finalizes(maoo, engine, monkeypatch):

    def broken(event, context):
        raise RuntimeError("planner exploded")

    monkeypatch.setitem(engine.handlers, "plan", broken)
    doc = maoo.run("calculate 2 + 2")

    assert doc["status"] == "failed" and doc["stop_reason"] == "crash"
    assert "planner exploded" in doc["stop_detail"]
    assert doc["states"] == ["ResumeAt", "Perceive", "Plan", "Finalize", "Done"]
    assert Path(doc["trace_file"]).exists()


@pytest.mark.parametrize("request_text", ["", "   "])
def test_empty_request_is_refused_with_a_clear_error(maoo, request_text):
    from chalicelib.errors import BadRequestError

    with pytest.raises(BadRequestError, match="empty"):
        maoo.run(request_text)
