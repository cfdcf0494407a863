"""Every clause verified: a run whose clause was not carried out as asked ends ``failed`` with
``criteria_unmet`` and the clause named, never ``succeeded``.

Each test gives the reading by hand (``understood``) and makes one clause go wrong the way a planner
or a tool could: a file written with other text, a message without the value, a condition on
another value, a filter dropped, rows a filter excludes. The run goes through the state machine and
Finalize judges it against what actually ran.
"""

from __future__ import annotations

from chalicelib.contracts import Condition, Content
from tests.functional.understood import alter_plan, error_rate, task, understood, with_args


def _failed_naming(doc: dict, *words: str) -> None:
    assert (doc["status"], doc["stop_reason"]) == ("failed", "criteria_unmet"), doc["final_output"]
    assert doc["states"][-2:] == ["Finalize", "Done"]
    for word in words:
        assert word in doc["stop_detail"], doc["stop_detail"]
    assert doc["final_output"].startswith("Failed: criteria_unmet.")
    assert doc["answer"] is None


ALL_CLEAR = [
    task("compute", "calculate 1 + 1", expression="1 + 1"),
    task(
        "save",
        "write 'all clear' to status.txt",
        path="status.txt",
        format="txt",
        content=Content(kind="literal", text="all clear"),
    ),
]


def test_a_file_that_holds_the_literal_asked_meets_its_clause(maoo, monkeypatch):
    understood(monkeypatch, *ALL_CLEAR)
    alter_plan(monkeypatch, lambda s: with_args(s, content="all clear\n") if s.tool == "file_write" else s)

    doc = maoo.run("calculate 1 + 1 and write 'all clear' to status.txt")

    assert doc["status"] == "succeeded"
    assert doc["final_output"] == "1 + 1 = 2. Wrote status.txt."


def test_a_file_written_with_other_text_than_the_literal_fails_naming_the_clause(maoo, monkeypatch):
    understood(monkeypatch, *ALL_CLEAR)
    alter_plan(
        monkeypatch,
        lambda s: with_args(s, content="MAOO: {{s1.value}}\n") if s.tool == "file_write" else s,
    )

    doc = maoo.run("calculate 1 + 1 and write 'all clear' to status.txt")

    _failed_naming(
        doc, "clause 2 \"write 'all clear' to status.txt\"", 'does not hold the text asked ("all clear")'
    )
    assert [s["tool"] for s in doc["steps"]] == ["calc", "file_write"]  # it ran: the check is on what ran


def test_a_file_without_the_value_asked_fails_naming_the_clause(maoo, monkeypatch):
    understood(
        monkeypatch,
        *error_rate("search"),
        task(
            "save",
            "write the error rate to rate.txt",
            path="rate.txt",
            format="txt",
            content=Content(kind="value", task=1),
        ),
    )
    alter_plan(
        monkeypatch,
        lambda s: with_args(s, content="MAOO: {{s1.body.errors}} errors\n") if s.tool == "file_write" else s,
    )

    doc = maoo.run("write search's error rate to rate.txt")

    _failed_naming(
        doc, 'clause 3 "write the error rate to rate.txt"', "rate.txt does not hold the value asked (6.5)"
    )


def test_a_notification_without_the_literal_asked_fails_naming_the_clause(maoo, monkeypatch):
    understood(
        monkeypatch,
        task(
            "notify",
            "tell #ops: deploy freeze until noon",
            channel="ops",
            content=Content(kind="literal", text="deploy freeze until noon"),
        ),
    )
    alter_plan(
        monkeypatch,
        lambda s: with_args(s, json_body={"channel": "ops", "message": "MAOO: something happened"}),
    )

    doc = maoo.run("tell #ops: deploy freeze until noon")

    _failed_naming(
        doc,
        'clause 1 "tell #ops: deploy freeze until noon"',
        "the message to #ops does not hold the text asked",
    )
    assert [e["kind"] for e in maoo.side_effects()] == ["notification_sent"]


def test_an_incident_without_the_value_asked_fails_naming_the_clause(maoo, monkeypatch):
    understood(
        monkeypatch,
        *error_rate("search"),
        task(
            "create",
            "open an incident titled with the error rate",
            service="search",
            severity="sev2",
            title=Content(kind="value", task=1),
        ),
    )

    def untitled(step):
        if step.tool != "http_post":
            return step
        return with_args(step, json_body={**step.args["json_body"], "title": "search: raised by MAOO"})

    alter_plan(monkeypatch, untitled)

    doc = maoo.run("open an incident for search titled with its error rate")

    _failed_naming(
        doc, 'clause 3 "open an incident titled with the error rate"', "does not hold the value asked (6.5)"
    )


def test_a_condition_evaluated_on_another_value_fails_naming_the_clause(maoo, monkeypatch):
    understood(
        monkeypatch,
        *error_rate("payments"),
        task("create", "open an incident", when=(1, ">", 5), service="payments", severity="sev3"),
    )

    def on_p95(step):  # payments' p95 is 230 ms: above 5, where its error rate (2 %) is not
        if step.when is None:
            return step
        return step.model_copy(update={"when": Condition(subject="s1.body.p95_ms", op=">", value=5)})

    alter_plan(monkeypatch, on_p95)

    doc = maoo.run("if payments' error rate is above 5 %, open an incident")

    _failed_naming(
        doc,
        'clause 3 "open an incident"',
        "s3's condition compares s1.body.p95_ms, not the value the clause names (s2.value)",
    )
    assert [e["kind"] for e in maoo.side_effects()] == ["incident_created"]


def test_a_conditional_step_that_ran_unconditionally_fails_naming_the_clause(maoo, monkeypatch):
    understood(
        monkeypatch,
        *error_rate("payments"),
        task("create", "open an incident", when=(1, ">", 5), service="payments", severity="sev3"),
    )
    alter_plan(monkeypatch, lambda s: s.model_copy(update={"when": None}))

    doc = maoo.run("if payments' error rate is above 5 %, open an incident")

    _failed_naming(
        doc,
        'clause 3 "open an incident"',
        "s3 runs unconditionally, but the request made it conditional (> 5)",
    )


def test_rows_a_filter_excludes_fail_the_read_naming_the_clause(maoo, engine, monkeypatch):
    understood(
        monkeypatch,
        task(
            "query",
            "services that are degraded, apart from checkout",
            resource="services",
            status="degraded",
            filters=[{"field": "name", "op": "!=", "value": "checkout"}],
        ),
    )
    real = engine.handlers["tool_db_query"]

    def with_checkout(event, context):  # a route that dropped the negation: checkout comes back too
        result = real(event, context)
        rows = result["output"]["rows"]
        if result["ok"] and not any(r.get("name") == "checkout" for r in rows):
            rows.append(
                {
                    "name": "checkout",
                    "tier": 1,
                    "owner": "storefront-team",
                    "status": "degraded",
                    "region": "us-east-1",
                }
            )
        return result

    monkeypatch.setitem(engine.handlers, "tool_db_query", with_checkout)

    doc = maoo.run("services that are degraded, apart from checkout")

    _failed_naming(
        doc,
        'clause 1 "services that are degraded, apart from checkout"',
        'returned checkout (degraded, tier 1) with name checkout, which the filter "name != checkout" excludes',
    )


def test_a_count_whose_filter_did_not_reach_the_query_fails_naming_the_clause(maoo, monkeypatch):
    understood(
        monkeypatch,
        task(
            "query",
            "open incidents of checkout",
            resource="incidents",
            service="checkout",
            status="open",
            aggregate="count",
        ),
    )
    alter_plan(
        monkeypatch,
        lambda s: with_args(
            s, sql="SELECT COUNT(*) AS count FROM incidents WHERE service = ?", params=["checkout"]
        ),
    )

    doc = maoo.run("how many open incidents does checkout have")

    _failed_naming(
        doc,
        'clause 1 "open incidents of checkout"',
        'the filter "status = open" is not applied by s1 (db_query)',
    )


def test_a_clause_no_step_carried_out_fails_naming_it(maoo, monkeypatch):
    understood(
        monkeypatch,
        task("compute", "calculate 2 + 2", expression="2 + 2"),
        task("compute", "calculate 3 * 3", expression="3 * 3"),
    )
    alter_plan(monkeypatch, lambda s: None if s.id == "s2" else s)

    doc = maoo.run("calculate 2 + 2 and 3 * 3")

    _failed_naming(doc, 'clause 2 "calculate 3 * 3"', "no step was planned")


def _report_of_the_answer(monkeypatch, content: str) -> None:
    understood(
        monkeypatch,
        *error_rate("search"),
        task(
            "save",
            "write the answer to report.txt",
            path="report.txt",
            format="txt",
            content=Content(kind="answer"),
        ),
    )
    alter_plan(monkeypatch, lambda s: with_args(s, content=content) if s.tool == "file_write" else s)


def test_a_file_that_holds_the_answer_meets_its_clause(maoo, monkeypatch):
    _report_of_the_answer(monkeypatch, "# Report\n\n{{answer}}\n")

    doc = maoo.run("write search's error rate to report.txt")

    assert doc["status"] == "succeeded", doc["stop_detail"]


def test_a_file_that_should_hold_the_answer_but_holds_a_dump_fails_naming_the_clause(maoo, monkeypatch):
    _report_of_the_answer(monkeypatch, "# Report\n\n{{s1|json}}\n")

    doc = maoo.run("write search's error rate to report.txt")

    _failed_naming(
        doc,
        'clause 3 "write the answer to report.txt"',
        "report.txt does not hold the answer (\"search's error rate over the last hour is 6.5 %",
    )


def test_rows_without_the_field_asked_fail_the_read_naming_the_clause(maoo, engine, monkeypatch):
    understood(
        monkeypatch,
        task("fetch", "auth p50 over 24 h", resource="metrics", service="auth", window="24h", field="p50_ms"),
    )
    for tool in ("tool_http_get", "tool_db_query"):  # whichever route the planner takes

        def without_p50(event, context, real=engine.handlers[tool]):
            result = real(event, context)
            if result["ok"]:
                output = result["output"]
                for row in output["rows"] if "rows" in output else [output["body"]]:
                    row.pop("p50_ms", None), row.pop("value", None)
            return result

        monkeypatch.setitem(engine.handlers, tool, without_p50)

    doc = maoo.run("auth p50 over 24 h")

    _failed_naming(doc, 'clause 1 "auth p50 over 24 h"', "s1 returned rows without the field asked (p50_ms)")


def test_a_field_asked_is_answered_with_its_unit(maoo, monkeypatch):
    understood(
        monkeypatch,
        task("fetch", "auth p50 over 24 h", resource="metrics", service="auth", window="24h", field="p50_ms"),
    )

    doc = maoo.run("auth p50 over 24 h")

    assert doc["status"] == "succeeded"
    assert doc["final_output"] == "auth's p50 latency over the last 24 hours is 11 ms."


OPEN_COUNT_TO_OPS = [
    task("query", "count the open incidents", resource="incidents", status="open", aggregate="count"),
    task("notify", "notify #ops with that number", channel="ops"),
]


def _message(text: str):
    def change(step):
        if not step.args.get("url", "").endswith("/notifications"):
            return step
        return with_args(step, json_body={"channel": "ops", "message": text})

    return change


def test_a_message_whose_content_is_not_said_carries_the_value_just_computed(maoo, monkeypatch):
    understood(monkeypatch, *OPEN_COUNT_TO_OPS)
    alter_plan(monkeypatch, _message("MAOO: {{answer}}"))

    doc = maoo.run("count the open incidents and notify #ops with that number")

    assert doc["status"] == "succeeded", doc["stop_detail"]
    assert doc["final_output"] == "There are 3 open incidents. Notified #ops (NTF-0001)."


def test_a_message_without_the_value_just_computed_fails_naming_the_clause(maoo, monkeypatch):
    understood(monkeypatch, *OPEN_COUNT_TO_OPS)
    alter_plan(monkeypatch, _message("MAOO: notify #ops with that number"))

    doc = maoo.run("count the open incidents and notify #ops with that number")

    _failed_naming(
        doc,
        'clause 2 "notify #ops with that number"',
        "the message to #ops does not carry the value clause 1 computed (3)",
    )
    assert [e["kind"] for e in maoo.side_effects()] == ["notification_sent"]
