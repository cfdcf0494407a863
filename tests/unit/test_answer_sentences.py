"""Sentences for the request language's constructs the planner does not compile yet (aggregates,
rankings, fields, grouping, filters in words), from results given by hand; and numbers as written."""

from __future__ import annotations

import time

import pytest

from chalicelib.contracts import PerceivedState, Plan, RunState, Step, make_subtask
from chalicelib.execution.answer import answer_for, number, sentence_for


def _answered(params: dict, output: dict, kind: str = "query") -> str:
    task = make_subtask(kind=kind, text="asked", params=params)
    state = RunState(
        run_id="run-answer",
        request="asked",
        started_at=time.time(),
        perception=PerceivedState(intent="asked", task_type="single", subtasks=[task]),
        plan=Plan(steps=[Step(id="s1", tool="db_query", args={"sql": "SELECT 1"})]),
        results={"s1": output},
    )
    return sentence_for(state)


def _rows(*rows: dict) -> dict:
    return {"columns": list(rows[0]) if rows else [], "rows": list(rows), "row_count": len(rows)}


def test_an_average_names_its_field_its_rows_and_its_unit():
    sentence = _answered(
        {"resource": "services", "tier": 2, "aggregate": "avg", "field": "p95_ms"}, _rows({"avg": 392.5})
    )
    assert sentence == "The average p95 latency of services in tier 2 is 392.5 ms."


def test_a_ranking_names_the_row_and_the_figure_it_was_picked_by():
    sentence = _answered(
        {"resource": "services", "aggregate": "argmax", "field": "p95_ms"},
        _rows({"name": "search", "value": 700}),  # the compiler's shape: the row's key and value
    )
    assert sentence == "Of the services, search (700 ms) has the highest p95 latency."


def test_a_field_of_several_rows_lists_its_values():
    sentence = _answered(
        {"resource": "services", "status": "degraded", "field": "name"},
        _rows({"name": "checkout"}, {"name": "search"}),
    )
    assert sentence == "Name of the degraded services: checkout, search."


def test_a_field_of_one_service_is_its_value_with_the_window():
    sentence = _answered(
        {"resource": "metrics", "service": "auth", "window": "24h", "field": "p50_ms"},
        _rows({"service": "auth", "window": "24h", "p50_ms": 11}),
        kind="fetch",
    )
    assert sentence == "auth's p50 latency over the last 24 hours is 11 ms."


def test_grouped_rows_give_one_figure_per_group():
    sentence = _answered(
        {"resource": "incidents", "status": "open", "group_by": "severity", "aggregate": "count"},
        _rows({"group": "sev2", "value": 2}, {"group": "sev3", "value": 1}),
    )
    assert sentence == "Open incidents by severity: sev2 2, sev3 1."


def test_negation_and_membership_filters_are_said_in_words():
    services = _answered(
        {"resource": "services", "filters": [{"field": "name", "op": "!=", "value": "checkout"}]},
        _rows({"name": "auth", "status": "healthy", "tier": 1}),
    )
    deployments = _answered(
        {
            "resource": "deployments",
            "aggregate": "count",
            "filters": [{"field": "status", "op": "in", "value": ["failed", "rolled_back"]}],
        },
        _rows({"count": 3}),
    )
    assert services == "Services other than checkout (1): auth (healthy, tier 1)."
    assert deployments == "There are 3 failed or rolled back deployments."


def test_an_empty_list_and_a_count_of_one_read_naturally():
    empty = _answered({"resource": "incidents", "service": "auth", "status": "open"}, _rows())
    one = _answered({"resource": "incidents", "service": "auth", "aggregate": "count"}, _rows({"count": 1}))
    assert (empty, one) == ("There are no open incidents of auth.", "There is 1 incident of auth.")


def test_a_computation_with_a_unit_asked_writes_it_after_the_value():
    sentence = _answered(
        {"expression": "5400 / 60", "unit": "min"}, {"expression": "5400 / 60", "value": 90}, "compute"
    )
    assert sentence == "5400 / 60 = 90 min."


def test_the_structured_answer_keeps_the_value_beside_the_sentence():
    task = make_subtask(kind="compute", text="6 * 7", params={"expression": "6 * 7"})
    state = RunState(
        run_id="run-answer",
        request="6 * 7",
        started_at=time.time(),
        perception=PerceivedState(intent="6 * 7", task_type="single", subtasks=[task]),
        plan=Plan(steps=[Step(id="s1", tool="calc", args={"expression": "6 * 7"})]),
        results={"s1": {"expression": "6 * 7", "value": 42}},
    )
    built = answer_for(state).as_dict()
    assert built["sentence"] == "6 * 7 = 42."
    assert built["clauses"][0] | {"text": None} == {
        "task": 0,
        "kind": "compute",
        "text": None,
        "value": 42,
        "unit": None,
        "figures": {},
        "done": True,
    }


@pytest.mark.parametrize(
    ("value", "unit", "written"),
    [
        (8000, None, "8,000"),
        (2, "%", "2.0 %"),
        (6.5, "%", "6.5 %"),
        (0.3333333333, None, "0.333333"),
        (1e-9, None, "1e-09"),
        (12.0, "ms", "12 ms"),
        ("n/a", None, "n/a"),
    ],
)
def test_numbers_are_written_as_people_write_them(value, unit, written):
    assert number(value, unit) == written


def test_a_computation_over_estate_figures_says_what_its_figures_are():
    tasks = [
        make_subtask(
            kind="query",
            text="errors of search over 24 h",
            params={
                "resource": "metrics",
                "window": "24h",
                "field": "errors",
                "filters": [{"field": "service", "value": "search"}],
            },
        ),
        make_subtask(
            kind="compute", text="twice that", params={"expression": "@a * 2", "refs": {"@a": [0, "value"]}}
        ),
    ]
    state = RunState(
        run_id="run-answer",
        request="twice the errors of search over 24 h",
        started_at=time.time(),
        perception=PerceivedState(intent="compute", task_type="multi_step", subtasks=tasks),
        plan=Plan(
            steps=[
                Step(id="s1", tool="db_query", args={"sql": "SELECT 1"}),
                Step(id="s2", tool="calc", args={"expression": "{{s1.rows.0.value}} * 2"}),
            ]
        ),
        results={
            "s1": _rows({"service": "search", "value": 7680}),
            "s2": {"expression": "7680 * 2", "value": 15360},
        },
    )
    assert sentence_for(state) == (
        "7680 * 2 = 15,360 (search's error count over the last 24 hours is 7,680)."
    )


def test_a_ranking_of_groups_names_the_best_group_and_its_figure():
    sentence = _answered(
        {"resource": "services", "aggregate": "argmax", "group_by": "region"},
        _rows({"group": "us-east-1", "value": 3}),
    )
    assert sentence == "The region with the most services is us-east-1 (3)."


def test_a_field_of_one_object_named_by_id_says_whose_it_is():
    sentence = _answered(
        {"resource": "incidents", "field": "service", "filters": [{"field": "id", "value": "INC-1005"}]},
        _rows({"id": "INC-1005", "value": "auth"}),
    )
    assert sentence == "The service of INC-1005 is auth."


def test_a_unit_and_rounding_asked_are_how_the_figure_is_written():
    sentence = _answered(
        {
            "resource": "metrics",
            "window": "24h",
            "field": "p50_ms",
            "unit": "s",
            "round_to": 3,
            "filters": [{"field": "service", "value": "auth"}],
        },
        _rows({"service": "auth", "value": 0.011}),
    )
    assert sentence == "auth's p50 latency over the last 24 hours is 0.011 s."
