"""Understanding through the state machine: never a success for a request only partly understood.

Each test runs a request the way the CLI does (embedded engine, real mock API) and asserts on what
a user sees: the status, the stop reason and its detail, the states entered, the side effects.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.contracts import ToolResult


def _tools(doc: dict) -> list[str]:
    return [s["tool"] for s in doc["steps"]]


def test_a_poem_is_unsupported_not_a_missing_file_name(maoo):
    doc = maoo.run("compose a sonnet about error budgets")

    assert doc["status"] == "stopped" and doc["stop_reason"] == "unsupported_request"
    assert "sonnet" in doc["stop_detail"] and "It can:" in doc["stop_detail"]
    assert doc["steps"] == [] and not any(state.startswith("Call") for state in doc["states"])


def test_an_unread_clause_stops_the_run_before_any_side_effect(maoo):
    doc = maoo.run("notify finance by telex and open a sev2 incident for auth")

    assert doc["status"] == "stopped" and doc["stop_reason"] == "unsupported_request"
    assert "telex" in doc["stop_detail"]
    assert doc["steps"] == [] and maoo.side_effects() == []
    readings = {r["text"]: r for r in doc["perception"]["readings"]}
    assert readings["notify finance by telex"]["reading"] == "unsupported"
    assert readings["open a sev2 incident for auth"]["rule"] == "create_incident"


def test_a_filter_the_rules_cannot_apply_is_never_dropped(maoo):
    doc = maoo.run("list the sev4 incidents of inventory")

    assert doc["status"] == "succeeded"
    assert "severity" in doc["steps"][0]["args"]["sql"] and "sev4" in doc["steps"][0]["args"]["params"]


def test_a_path_outside_the_sandbox_is_a_policy_denial_naming_the_rule(maoo):
    doc = maoo.run("save the auth metrics to /etc/shadow.md")

    assert doc["status"] == "stopped" and doc["stop_reason"] == "policy_denied"
    assert "sandbox" in doc["stop_detail"].lower() or "path" in doc["stop_detail"].lower()
    assert "file_write" not in _tools(doc)


def test_a_path_without_an_extension_is_still_judged_by_the_file_policy(maoo):
    for path, rule in (("/var/lib/status", "file.absolute"), ("../../elsewhere/notes", "file.traversal")):
        doc = maoo.run(f"write the search metrics into {path}")

        assert doc["status"] == "stopped" and doc["stop_reason"] == "policy_denied", doc["stop_detail"]
        assert rule in doc["stop_detail"] and "file name" not in doc["stop_detail"]
        assert "file_write" not in _tools(doc) and maoo.side_effects() == []


def test_a_missing_service_is_ambiguous_and_names_what_is_missing(maoo):
    doc = maoo.run("what is the p50 right now")

    assert doc["status"] == "stopped" and doc["stop_reason"] == "ambiguous_request"
    assert "which service" in doc["stop_detail"] and doc["steps"] == []


def test_typos_in_domain_words_are_corrected_and_shown(maoo):
    doc = maoo.run("paymnts p95 latncy over 5m")

    assert doc["status"] == "succeeded"
    assert '"paymnts" -> "payments"' in doc["perception"]["corrections"]
    assert '"latncy" -> "latency"' in doc["perception"]["corrections"]
    assert doc["perception"]["readings"][0]["rule"] == "estate_question"
    assert doc["steps"][0]["output_preview"]["rows"][0]["value"] == 210


def test_latency_alone_is_two_figures_and_is_asked_about_not_guessed(maoo):
    doc = maoo.run("payments latency over 5m")

    assert doc["status"] == "stopped" and doc["stop_reason"] == "ambiguous_request"
    assert "p50 or p95" in doc["stop_detail"] and doc["steps"] == []


def test_a_typo_inside_an_incident_title_is_never_corrected(maoo):
    doc = maoo.run("open a sev3 incident for search titled 'serch is slow'")

    assert doc["perception"]["corrections"] == []


def test_a_chain_of_arithmetic_computes_each_link_in_order(maoo):
    doc = maoo.run("take a fifth of 50, then triple it and after that subtract 4")

    assert doc["status"] == "succeeded"
    values = [s["output_preview"]["value"] for s in doc["steps"] if s["tool"] == "calc"]
    assert values == [10, 30, 26]


def test_an_unmet_success_criterion_at_finalize_ends_the_run_failed(maoo, engine, monkeypatch):
    def empty_summary(event, context):
        return ToolResult(ok=True, tool="summarize", output={"summary": "  "}).model_dump(mode="json")

    monkeypatch.setitem(engine.handlers, "tool_summarize", empty_summary)
    doc = maoo.run("fetch mock data and summarize it")

    assert doc["status"] == "failed" and doc["stop_reason"] == "criteria_unmet"
    assert "a summary of the results" in doc["stop_detail"] and "empty summary" in doc["stop_detail"]
    assert doc["states"][-2:] == ["Finalize", "Done"]


@pytest.mark.parametrize(
    "request_text",
    [
        "count the open incidents of checkout, in furlongs",
        "rounded to the nearest googol, what is the error rate of payments",
        "notify ops 'deploy freeze' but only on weekends",
    ],
)
def test_a_run_with_an_unsupported_modifier_stops_before_any_tool(maoo, request_text):
    doc = maoo.run(request_text)

    assert doc["status"] == "stopped" and doc["stop_reason"] in ("unsupported_request", "ambiguous_request")
    assert doc["steps"] == [] and maoo.side_effects() == []


def test_the_run_document_shows_what_was_understood_before_anything_ran(maoo):
    doc = maoo.run("checkout incidents that are not resolved")

    assert (
        doc["perception"]["understood"] == "#1 = incidents | where service = checkout and status != resolved"
    )
    assert doc["status"] == "succeeded"
    listed = json.dumps(doc["steps"][0]["output_preview"])
    assert "INC-1001" in listed and "INC-1002" in listed and "INC-1003" not in listed
