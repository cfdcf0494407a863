"""The estate reader and its compiler: every word of a question used, one typed query, one SQL text.

Each case runs the compiled SQL against the ops database through ``db_query``, so the assertion is
the answer a user would get, not the shape of an intermediate structure.
"""

from __future__ import annotations

import pytest

from chalicelib.contracts import ToolCall
from chalicelib.perception import estate
from chalicelib.perception.request_reader import perceive
from chalicelib.planning.planner import make_plan
from chalicelib.planning.sql import compile_query
from chalicelib.tools.invocation import run_tool


def _rows(question: str) -> list[dict]:
    reading = estate.read(question)
    assert reading.params is not None, reading.problem
    compiled = compile_query(reading.params)
    call = ToolCall(
        run_id="r", step_id="s1", tool="db_query", args={"sql": compiled.sql, "params": compiled.params}
    )
    result = run_tool(call)
    assert result.ok, result.error
    return result.output["rows"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("services that are degraded other than checkout", [{"name": "search"}]),
        ("auth incidents that are not resolved yet", []),
        ("deployments that failed or were rolled back", [{"id": "DEP-2004"}, {"id": "DEP-2005"}]),
        ("which region runs the most services", [{"group": "us-east-1", "value": 3}]),
        ("lowest p50 among tier 2 services", [{"service": "inventory", "value": 31}]),
        ("sum of errors across payments and auth over 1 h", [{"value": 312}]),
        ("error count for each service over 24 h", None),
        ("open incidents by severity", [{"group": "sev2", "value": 2}, {"group": "sev3", "value": 1}]),
        ("auth p50 over 24 h in seconds", [{"service": "auth", "value": 0.011}]),
        ("inventory traffic over 24 h, in millions", [{"service": "inventory", "value": 0.1152}]),
        ("what did DEP-2004 ship", [{"id": "DEP-2004", "value": "1.9.3"}]),
        ("services with a p95 above 500 ms over 1h", [{"service": "checkout"}, {"service": "search"}]),
        ("average p95 of tier 1 services over 24h rounded to 1 decimal places", [{"value": 413.0}]),
        ("latest deployment", [{"id": "DEP-2003"}]),
    ],
)
def test_a_question_reads_into_one_query_whose_answer_is_right(
    question: str, expected: list[dict] | None
) -> None:
    rows = _rows(question)
    if expected is None:
        assert {r["group"]: r["value"] for r in rows} == {
            "auth": 1152,
            "checkout": 1382,
            "inventory": 576,
            "payments": 4896,
            "search": 7680,
        }
        return
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        for key, value in want.items():
            assert row[key] == pytest.approx(value) if isinstance(value, float) else row[key] == value


@pytest.mark.parametrize(
    "question",
    [
        "auth p50 over 24 h in furlongs",
        "count open incidents rounded to the nearest googol",
        "latency of checkout",  # p50 or p95: two readings, two answers
        "p99 of search",
        "incidents over 24h",  # incidents have no window
        "errors of payments in seconds",  # a count has no time unit
    ],
)
def test_a_question_with_a_word_or_a_modifier_the_reader_cannot_use_is_not_read(question: str) -> None:
    assert estate.read(question).params is None


def test_an_ambiguous_word_is_reported_as_ambiguous() -> None:
    reading = estate.read("latency of checkout")
    assert reading.ambiguous and "p50 or p95" in reading.problem


@pytest.mark.parametrize(
    "request_text",
    [
        "list the open incidents, as in open.md",
        "post the count of degraded services to the legal channel",
        "what is the error rate of payments, in furlongs",
        "count open incidents, rounded to the nearest googol",
        "list the services, sorted by vibes",
    ],
)
def test_a_request_whose_reading_drops_a_word_that_asks_for_something_stops_before_any_tool(
    request_text: str,
) -> None:
    perception = perceive(request_text)
    assert perception.task_type in ("unsupported", "ambiguous")


def test_the_plan_for_an_estate_question_is_one_parameterised_database_read() -> None:
    plan = make_plan(perceive("services that are degraded, apart from checkout"))
    (step,) = plan.steps
    assert (
        step.tool == "db_query" and "checkout" not in step.args["sql"] and "checkout" in step.args["params"]
    )


@pytest.mark.parametrize(
    ("request_text", "expression"),
    [
        ("divide 100 by the number of incidents", "100 / {{s1.rows.0.value}}"),
        ("what's twice inventory's errors over the last hour", "{{s1.rows.0.value}} * 2"),
        ("checkout's 5m p95 divided by its 1h p95", "{{s1.rows.0.value}} / {{s2.rows.0.value}}"),
        (
            "the difference between the p95 of checkout and search",
            "{{s1.rows.0.value}} - {{s2.rows.0.value}}",
        ),
    ],
)
def test_arithmetic_over_figures_of_the_estate_reads_each_figure_once(
    request_text: str, expression: str
) -> None:
    plan = make_plan(perceive(request_text))
    reads = [s for s in plan.steps if s.tool == "db_query"]
    (calc,) = [s for s in plan.steps if s.tool == "calc"]
    assert calc.args["expression"] == expression
    assert len({(tuple(s.args.get("params", [])), s.args["sql"]) for s in reads}) == len(
        reads
    )  # none read twice


@pytest.mark.parametrize(
    "question",
    ["which services have no open incidents", "services without deployments", "services with no incidents"],
)
def test_rows_that_have_none_of_another_table_s_are_not_read_as_a_filter(question: str) -> None:
    # "no open incidents" read as "status != open" would count the resolved ones instead
    reading = estate.read(question)
    assert reading.params is None and "do not exist" in reading.problem


def test_a_noun_after_every_is_every_row_even_with_values_between() -> None:
    params = estate.read("the p95 of every tier 1 service").params
    assert params is not None and params.aggregate == "list" and params.field == "p95_ms"


def test_a_field_asked_of_a_ranked_row_is_not_dropped_for_the_ranking_s_figure() -> None:
    # "the tier of the service with the most errors" answered with the errors would drop the tier
    reading = estate.read("the tier of the service with the most errors over 1h")
    assert reading.params is None and "tier" in reading.problem
