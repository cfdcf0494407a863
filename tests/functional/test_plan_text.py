"""Plan text through the state machine: the request language's text as input, with the same checks.

Each run goes the way the CLI runs it (embedded engine, real mock API); what is asserted is what a
user sees (status, answer, side effects) and what the execution history shows (the plan text in the
input of Perceive, no tool state for a refused text).
"""

from __future__ import annotations

import json

from chalice.test import Client
from typer.testing import CliRunner

from chalicelib.trace_history import trace_history
from cli.main import app as cli_app


def _history(doc: dict) -> list[dict]:
    with open(doc["trace_file"], encoding="utf-8") as handle:
        return trace_history(json.load(handle))


def _perceive_input(doc: dict) -> dict:
    for event in _history(doc):
        details = event.get("stateEnteredEventDetails") or {}
        if details.get("name") == "Perceive":
            return json.loads(details["input"])
    raise AssertionError("Perceive was never entered")


def _tool_states(doc: dict) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in _history(doc)
        if e.get("stateEnteredEventDetails", {}).get("name", "").startswith("Call")
    ]


def test_a_query_in_plan_text_counts_the_rows_its_filters_select(maoo):
    doc = maoo.session.run(
        "incidents | where service = checkout and status != resolved | count", {}, plan_text=True
    )

    assert doc["status"] == "succeeded", doc["stop_detail"]
    assert doc["request"] == "incidents | where service = checkout and status != resolved | count"
    assert doc["perception"]["understood"] == "#1 = " + doc["request"]
    assert [s["tool"] for s in doc["steps"]] == ["db_query"] and doc["steps"][0]["output_preview"]["rows"][0][
        "value"
    ] == 2
    started = _perceive_input(doc)
    assert started["plan_text"] is True and started["request"] == doc["request"]


def test_arithmetic_in_plan_text_refers_to_what_an_earlier_statement_produced(maoo):
    doc = maoo.session.run(
        "metrics | where window = 1h and service = search | list errors ; calc #1 * 2", {}, plan_text=True
    )

    assert doc["status"] == "succeeded", doc["stop_detail"]
    assert [s["tool"] for s in doc["steps"]] == ["db_query", "calc"]
    assert doc["steps"][1]["output_preview"]["value"] == 1040  # search had 520 errors over 1h
    assert "1,040" in doc["final_output"] or "1040" in doc["final_output"]


def test_an_action_with_a_literal_posts_exactly_those_words(maoo):
    doc = maoo.session.run('notify #ops "deploy freeze until 14:00"', {}, plan_text=True)

    assert doc["status"] == "succeeded", doc["stop_detail"]
    (posted,) = maoo.side_effects()
    assert posted["kind"] == "notification_sent"
    assert posted["object"]["channel"] == "ops" and posted["object"]["message"] == "deploy freeze until 14:00"


def test_a_condition_in_plan_text_runs_only_its_branch(maoo):
    doc = maoo.session.run(
        'incidents | where status = open | count ; if #1 >= 3: notify #ops "busy" ; '
        'if #1 < 3: write calm.txt "calm"',
        {},
        plan_text=True,
    )

    assert doc["status"] == "succeeded", doc["stop_detail"]
    (posted,) = maoo.side_effects()  # three incidents are open (INC-1001, -1002, -1003): only "busy" is sent
    assert posted["kind"] == "notification_sent" and posted["object"]["message"] == "busy"
    assert [s["tool"] for s in doc["steps"]] == ["db_query", "http_post"] and doc["skipped"] == ["s3"]
    assert "calm.txt not written" in doc["final_output"]


def test_bad_plan_text_stops_the_run_before_any_tool_naming_the_word(maoo):
    doc = maoo.session.run("incidents | where status ~ open | count", {}, plan_text=True)

    assert doc["status"] == "stopped" and doc["stop_reason"] == "unsupported_request"
    assert "character 26" in doc["stop_detail"] and "'~'" in doc["stop_detail"]
    assert "=, !=, in, not in" in doc["stop_detail"]
    assert doc["steps"] == [] and _tool_states(doc) == [] and maoo.side_effects() == []
    assert _perceive_input(doc)["plan_text"] is True


def test_plan_text_naming_an_unknown_channel_is_refused_before_any_tool(maoo):
    doc = maoo.session.run('notify #random "hi all"', {}, plan_text=True)

    assert doc["status"] == "stopped" and doc["stop_reason"] == "unsupported_request"
    assert "there is no channel 'random'" in doc["stop_detail"]
    assert _tool_states(doc) == [] and maoo.side_effects() == []


def test_plan_text_goes_through_the_same_policy_as_a_request(maoo):
    doc = maoo.session.run("[read-only] open incident sev2 for search", {}, plan_text=True)

    assert doc["status"] == "stopped" and doc["stop_reason"] == "policy_denied"
    assert _tool_states(doc) == [] and maoo.side_effects() == []


def test_a_question_in_a_unit_its_column_cannot_take_ends_no_route_not_a_crash(maoo):
    doc = maoo.session.run("services | avg tier | in s", {}, plan_text=True)

    assert doc["status"] == "stopped" and doc["stop_reason"] == "no_route"
    assert doc["stop_detail"] == "'services | avg tier | in s': tier cannot be given in s"
    assert _tool_states(doc) == []


def test_the_cli_runs_plan_text_and_shows_it_understood(maoo):
    result = CliRunner().invoke(
        cli_app, ["run", "--plan-text", "services | where status = degraded | count", "--json"]
    )

    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "succeeded" and doc["perception"]["understood"].endswith("| count")
    assert doc["steps"][0]["output_preview"]["rows"][0]["value"] == 2  # checkout and search


def test_the_cli_wants_exactly_one_of_request_and_plan_text(maoo):
    both = CliRunner().invoke(cli_app, ["run", "--request", "calculate 1 + 1", "--plan-text", "calc 1 + 1"])
    neither = CliRunner().invoke(cli_app, ["run"])

    for result in (both, neither):
        assert result.exit_code == 2 and "--plan-text" in result.output and "Traceback" not in result.output


def test_post_runs_with_plan_text_runs_it(maoo):
    from app import app

    with Client(app, stage_name="local") as client:
        response = client.http.post(
            "/runs",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"plan_text": "calc (12 + 8) * 3"}),
        )
        refused = client.http.post(
            "/runs",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"request": "calculate 1 + 1", "plan_text": "calc 1 + 1"}),
        )

    assert response.status_code == 200
    doc = response.json_body
    assert (
        doc["status"] == "succeeded" and doc["request"] == "calc (12 + 8) * 3" and "60" in doc["final_output"]
    )
    assert refused.status_code == 400 and "exactly one of request" in refused.json_body["message"]
