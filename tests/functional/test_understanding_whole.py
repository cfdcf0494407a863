"""Reading every word, through the state machine: a dry run, a clause the older rules would half read,
references to what was just counted or named, and a notification carrying the data it names.

Each run goes the way the CLI runs it (embedded engine, real mock API); what is asserted is what a
user sees (status, answer, side effects) and what the execution history shows (which tool states ran).
"""

from __future__ import annotations

import json

from chalicelib.config import get_settings
from chalicelib.trace_history import trace_history


def _tool_states(doc: dict) -> list[str]:
    with open(doc["trace_file"], encoding="utf-8") as handle:
        history = trace_history(json.load(handle))
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in history
        if e.get("stateEnteredEventDetails", {}).get("name", "").startswith("Call")
    ]


def test_a_dry_run_shows_the_checked_plan_and_calls_no_tool(maoo):
    doc = maoo.session.run("just show me the plan for opening a sev1 incident for checkout", {})

    assert doc["status"] == "succeeded", doc["stop_detail"]
    assert doc["perception"]["constraints"]["dry_run"] is True
    assert doc["perception"]["understood"].startswith("[dry run] ")
    assert doc["steps"] == [] and _tool_states(doc) == [] and maoo.side_effects() == []
    assert doc["final_output"].startswith("Dry run: nothing was called or written.")
    assert '"severity": "sev1"' in doc["final_output"] and "checkout" in doc["final_output"]


def test_a_dry_run_of_a_write_the_policy_refuses_is_still_refused(maoo):
    doc = maoo.session.run("dry run: write 'x' to ../outside.txt", {})

    assert doc["status"] != "succeeded"
    assert _tool_states(doc) == [] and maoo.side_effects() == []


def test_a_dry_run_is_not_read_only_and_read_only_still_refuses_a_write(maoo):
    written = get_settings().files_dir / "dry-status.txt"
    written.unlink(missing_ok=True)

    dry = maoo.session.run("dry run: write 'all clear' to dry-status.txt", {})
    read_only = maoo.session.run("write 'all clear' to dry-status.txt, read-only", {})

    assert dry["status"] == "succeeded" and "dry-status.txt" in dry["final_output"]
    assert read_only["status"] == "stopped" and read_only["stop_reason"] == "policy_denied"
    assert not written.exists()


def test_a_word_the_older_rules_would_drop_stops_the_run_and_is_named(maoo):
    # the older incident list read "the incidents"; the estate reader reads every word and "3" is not used
    doc = maoo.session.run("show the 3 newest incidents", {})

    assert doc["status"] == "stopped" and doc["stop_reason"] == "unsupported_request"
    assert "'3'" in doc["stop_detail"]
    assert _tool_states(doc) == []


def test_the_count_refers_to_what_was_just_counted(maoo):
    doc = maoo.session.run(
        "Count the sev3 incidents; if the count is at least 2, notify oncall 'two sev3s'.", {}
    )

    assert doc["status"] == "succeeded", doc["stop_detail"]
    (posted,) = maoo.side_effects()
    assert posted["object"]["channel"] == "oncall" and posted["object"]["message"] == "two sev3s"


def test_it_after_two_services_asks_which_and_calls_no_tool(maoo):
    doc = maoo.session.run("check payments and search, then open an incident for it", {})

    assert doc["status"] == "stopped" and doc["stop_reason"] == "ambiguous_request"
    assert "payments or search" in doc["stop_detail"]
    assert _tool_states(doc) == [] and maoo.side_effects() == []


def test_an_incident_for_each_of_the_services_named(maoo):
    doc = maoo.session.run("check payments and search, then open a sev3 incident for each of them", {})

    assert doc["status"] == "succeeded", doc["stop_detail"]
    opened = sorted(e["object"]["service"] for e in maoo.side_effects() if e["kind"] == "incident_created")
    assert opened == ["payments", "search"]


def test_a_notification_with_a_summary_carries_the_answer(maoo):
    doc = maoo.session.run("Notify the team channel with a summary of the open incidents.", {})

    assert doc["status"] == "succeeded", doc["stop_detail"]
    (posted,) = maoo.side_effects()
    assert posted["object"]["channel"] == "team"
    assert "INC-1001" in posted["object"]["message"] and "(3)" in posted["object"]["message"]


def test_a_condition_on_arithmetic_runs_only_its_branch(maoo):
    doc = maoo.session.run(
        "if 12 squared is above 140 write 'yes' to sq.txt otherwise write 'no' to sq.txt", {}
    )

    assert doc["status"] == "succeeded", doc["stop_detail"]
    assert [s["tool"] for s in doc["steps"] if s["ok"]] == ["calc", "file_write"]
    assert (get_settings().files_dir / "sq.txt").read_text().strip() == "yes"


def test_an_incident_titled_in_quotes_carries_exactly_that_title(maoo):
    doc = maoo.session.run("open a sev2 incident for search titled 'slow checkout pages'", {})

    assert doc["status"] == "succeeded", doc["stop_detail"]
    (opened,) = maoo.side_effects()  # one incident, for search: "checkout" in the title names no service
    assert opened["kind"] == "incident_created"
    assert opened["object"]["title"] == "slow checkout pages" and opened["object"]["severity"] == "sev2"
    assert 'open incident sev2 for search "slow checkout pages"' in doc["perception"]["understood"]


def test_an_incident_titled_with_a_figure_reads_it_first_and_carries_it(maoo):
    doc = maoo.session.run("open a sev1 incident for payments and put its 1h error rate in the title", {})

    assert doc["status"] == "succeeded", doc["stop_detail"]
    assert [s["tool"] for s in doc["steps"]] == ["http_get", "calc", "http_post"]
    (opened,) = maoo.side_effects()
    assert opened["object"]["service"] == "payments" and opened["object"]["severity"] == "sev1"
    assert opened["object"]["title"].endswith(" is 2")  # payments: 240 errors in 12,000 requests over 1h


def test_a_figure_of_several_rows_compared_with_a_number_is_asked_not_counted(maoo):
    # "the p95 of tier 1 services" is several figures: counting the rows and comparing the count with
    # 500 would answer a question nobody asked
    doc = maoo.session.run("if the p95 of tier 1 services is above 500, notify ops", {})

    assert doc["status"] == "stopped" and doc["stop_reason"] == "ambiguous_request"
    assert _tool_states(doc) == [] and maoo.side_effects() == []


def test_any_row_matching_is_a_count_above_zero_and_only_its_branch_runs(maoo):
    doc = maoo.session.run(
        "if any mock item has a value above 35 notify ops 'big item'; otherwise notify sre 'none'", {}
    )

    assert doc["status"] == "succeeded", doc["stop_detail"]
    (posted,) = maoo.side_effects()  # delta is 40
    assert posted["object"]["channel"] == "ops" and posted["object"]["message"] == "big item"


def test_a_comparison_joined_to_an_action_by_a_question_mark_makes_the_action_conditional(maoo):
    # checkout's p95 over 1h is 1,200 ms: below 2,000 the notification must not be sent
    doc = maoo.session.run("checkout p95 over 2000? notify oncall", {})

    assert doc["status"] == "succeeded", doc["stop_detail"]
    assert "if #1.p95_ms > 2000" in doc["perception"]["understood"]
    assert maoo.side_effects() == []
