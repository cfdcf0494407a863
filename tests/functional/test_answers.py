"""The final output answers the request in sentences, with its units and figures, then what was done.

Each run goes through the state machine from a reading given by hand (``understood``), so the
sentences are tested apart from how the reader phrases a request.
"""

from __future__ import annotations

from pathlib import Path

from chalicelib.config import get_settings
from tests.functional.understood import alter_plan, error_rate, task, understood, with_args

CONDITIONAL_ACTIONS = [
    task("create", "open a sev2 incident", when=(1, ">", 5), service="search", severity="sev2"),
    task("notify", "notify #ops", when=(1, ">", 5), channel="ops", service="search"),
    task("save", "write the result to report.md", when=(1, ">", 5), path="report.md", format="md"),
]


def test_a_value_states_its_unit_and_the_figures_it_rests_on(maoo, monkeypatch):
    understood(monkeypatch, *error_rate("search"))

    doc = maoo.run("search's error rate")

    assert doc["status"] == "succeeded"
    assert (
        doc["final_output"]
        == "search's error rate over the last hour is 6.5 % (520 errors in 8,000 requests)."
    )
    clause = next(c for c in doc["answer"]["clauses"] if c["kind"] == "compute")
    assert (clause["value"], clause["unit"]) == (6.5, "%")
    assert clause["figures"] == {"errors": 520, "requests": 8000}
    assert doc["answer"]["sentence"] == doc["final_output"]


def test_a_list_names_its_rows(maoo, monkeypatch):
    understood(
        monkeypatch,
        task("fetch", "open incidents of checkout", resource="incidents", service="checkout", status="open"),
    )

    doc = maoo.run("open incidents of checkout")

    assert doc["status"] == "succeeded"
    assert doc["final_output"] == (
        "Open incidents of checkout (2): INC-1001 (sev2, Checkout latency above SLO (p95 > 1s)), "
        "INC-1002 (sev3, Intermittent 502s from the cart backend)."
    )


def test_a_count_says_what_was_counted(maoo, monkeypatch):
    understood(
        monkeypatch,
        task(
            "query",
            "how many open incidents checkout has",
            resource="incidents",
            service="checkout",
            status="open",
            aggregate="count",
        ),
    )

    doc = maoo.run("how many open incidents does checkout have")

    assert doc["status"] == "succeeded"
    assert doc["final_output"] == "There are 2 open incidents of checkout."
    assert doc["answer"]["clauses"][0]["value"] == 2


def test_a_condition_that_holds_says_why_and_lists_what_was_done(maoo, monkeypatch):
    understood(monkeypatch, *error_rate("search"), *CONDITIONAL_ACTIONS)

    doc = maoo.run("if search's error rate is above 5 %, open a sev2 incident, notify #ops, write report.md")

    assert doc["status"] == "succeeded"
    assert doc["final_output"] == (
        "search's error rate over the last hour is 6.5 % (520 errors in 8,000 requests), above 5 %: "
        "opened INC-1007 (sev2, search), notified #ops (NTF-0001), wrote report.md."
    )
    assert [e["kind"] for e in maoo.side_effects()] == ["incident_created", "notification_sent"]


def test_a_condition_that_does_not_hold_says_so_and_that_nothing_was_done(maoo, monkeypatch):
    understood(
        monkeypatch,
        *error_rate("payments"),
        task("create", "open an incident", when=(1, ">", 5), service="payments", severity="sev3"),
    )

    doc = maoo.run("if payments' error rate is above 5 %, open an incident")

    assert doc["status"] == "succeeded" and doc["skipped"] == ["s3"]
    assert doc["final_output"] == (
        "payments' error rate over the last hour is 2.0 % (240 errors in 12,000 requests), "
        "not above 5 %: no incident opened."
    )
    assert maoo.side_effects() == []


def test_actions_no_condition_governs_come_last_in_the_order_asked(maoo, monkeypatch):
    understood(
        monkeypatch,
        task("fetch", "open incidents of checkout", resource="incidents", service="checkout", status="open"),
        task("save", "save them to incidents.md", path="incidents.md", format="md"),
        task("create", "open a sev2 incident for checkout", service="checkout", severity="sev2"),
    )

    doc = maoo.run("list checkout's open incidents, save them to incidents.md and open a sev2 incident")

    assert doc["status"] == "succeeded"
    assert doc["final_output"].endswith(
        "INC-1002 (sev3, Intermittent 502s from the cart backend). "
        "Wrote incidents.md, opened INC-1007 (sev2, checkout)."
    )


def test_a_file_whose_content_is_the_answer_carries_the_sentence(maoo, monkeypatch):
    understood(
        monkeypatch,
        *error_rate("search"),
        task("save", "write it to report.txt", path="report.txt", format="txt"),
    )
    alter_plan(
        monkeypatch,
        lambda s: with_args(s, content="{{answer}}\n") if s.tool == "file_write" else s,
    )

    doc = maoo.run("search's error rate, written to report.txt")

    assert doc["status"] == "succeeded"
    written = (Path(get_settings().files_dir) / "report.txt").read_text().strip()
    assert written == "search's error rate over the last hour is 6.5 % (520 errors in 8,000 requests)."
    assert doc["final_output"] == written + " Wrote report.txt."


def test_a_message_whose_content_is_the_answer_states_what_was_done_before_it(maoo, monkeypatch):
    understood(monkeypatch, *error_rate("search"), *CONDITIONAL_ACTIONS[:2])
    alter_plan(
        monkeypatch,
        lambda s: (
            with_args(s, json_body={"channel": "ops", "message": "MAOO: {{answer}}"})
            if s.args.get("url", "").endswith("/notifications")
            else s
        ),
    )

    doc = maoo.run("if search's error rate is above 5 %, open a sev2 incident and notify #ops")

    assert doc["status"] == "succeeded"
    (message,) = [e["object"]["message"] for e in maoo.side_effects() if e["kind"] == "notification_sent"]
    assert message == (
        "MAOO: search's error rate over the last hour is 6.5 % (520 errors in 8,000 requests), "
        "above 5 %: opened INC-1007 (sev2, search)."
    )
