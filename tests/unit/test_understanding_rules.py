"""Typo tolerance, the closed vocabulary and the accounting of catalogue terms, each with its examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.contracts import ComputeTask, CreateTask, FetchTask, QueryTask, make_subtask
from chalicelib.perception.accounting import unused_terms
from chalicelib.perception.request_reader import perceive
from chalicelib.perception.typos import correct
from chalicelib.perception.vocabulary import unknown_words
from eval.understanding.corpus import PARTS, load


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("invetory latency", "inventory latency"),
        ("chekcout status", "checkout status"),
        ("summarzie the incidnts", "summarize the incidents"),
        ("deplyoments of auth", "deployments of auth"),
    ],
)
def test_domain_word_typos_are_corrected(text: str, fixed: str) -> None:
    assert correct(text)[0] == fixed


@pytest.mark.parametrize(
    "text", ["what is the date today", "reach the team", "list the hosts", "the state of auth"]
)
def test_correctly_spelt_words_are_never_corrected(text: str) -> None:
    assert correct(text) == (text, [])


@pytest.mark.parametrize(
    "text",
    [
        "notify ops saying 'paymnts is down'",
        'open an incident titled "chekout slow"',
        "notify ops with the message chekout is slow",
    ],
)
def test_free_text_is_never_corrected(text: str) -> None:
    assert correct(text)[1] == []


def test_a_correction_is_shown_in_the_perceived_state() -> None:
    perception = perceive("serach p95 over 5m")
    assert perception.corrections == ['"serach" -> "search"']
    task = perception.subtasks[0]
    assert isinstance(task, (FetchTask, QueryTask))
    assert task.params.service == "search" or [f.value for f in task.params.filters] == ["search"]


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("notify legal by telex", ["legal", "telex"]),
        ("fetch mock data", []),
        ("list the incidents of search", []),
        ("open an incident for auth titled 'quantum flux'", []),
    ],
)
def test_words_outside_the_vocabulary_are_named(text: str, unknown: list[str]) -> None:
    assert unknown_words(text) == unknown


def test_a_catalogue_term_no_sub_task_uses_is_reported() -> None:
    listed = make_subtask(
        kind="fetch", text="x", params={"resource": "incidents", "service": None, "status": None}
    )
    assert unused_terms("list sev1 incidents", [listed]) == ["sev1"]
    filtered = make_subtask(kind="fetch", text="x", params={"resource": "incidents", "severity": "sev1"})
    assert unused_terms("list sev1 incidents", [filtered]) == []


def test_every_clause_is_accounted_for_with_the_rule_that_read_it() -> None:
    perception = perceive("fetch mock data, compute 3 * 3 and fax it to legal, in at most 4 steps")
    readings = [(r.rule, r.reading) for r in perception.readings]
    assert ("constraint.max_steps", "constraint") in readings
    assert ("read_mock_data", "subtask") in readings and ("unknown_words", "unsupported") in readings
    assert perception.task_type == "unsupported" and any("'fax'" in u for u in perception.unsupported)


def test_no_request_of_the_corpus_appears_in_the_code() -> None:
    root = Path(__file__).resolve().parents[2]
    code = "\n".join(p.read_text(encoding="utf-8").lower() for p in (root / "chalicelib").rglob("*.py"))
    # a sentence of the corpus, not a phrase of two to four words any docstring may hold ("fetch mock data")
    found = [
        e.request
        for part in PARTS
        for e in load(part).requests
        if len(e.request.split()) >= 5 and e.request.lower() in code
    ]
    assert found == []


def test_a_sub_task_is_typed_by_its_kind() -> None:
    from pydantic import ValidationError

    from chalicelib.contracts import PerceivedState, SaveTask

    task = make_subtask(kind="save", text="save it", params={"path": "a.md", "format": "md"})
    assert isinstance(task, SaveTask) and task.params.path == "a.md"
    assert not hasattr(task.params, "get")  # typed attributes only: no mapping view to read by string key
    with pytest.raises(ValidationError, match="path"):
        make_subtask(kind="save", text="save it", params={"channel": "ops"})
    with pytest.raises(ValidationError):
        PerceivedState.model_validate(
            {"intent": "x", "task_type": "single", "subtasks": [{"kind": "reboot", "text": "reboot it"}]}
        )


@pytest.mark.parametrize(
    ("request_text", "word"),
    [
        ("give me the error count for auth over 5 minutes and triple it in furlongs", "furlongs"),
        ("list deployments of auth in the last month", "last month"),
        ("list the open incidents of search over the last hour", "1h"),
    ],
)
def test_a_known_word_the_reading_does_not_use_stops_the_run(request_text: str, word: str) -> None:
    perception = perceive(request_text)
    assert perception.task_type == "unsupported" and word in " ".join(perception.unsupported)


def test_a_clause_that_goes_on_from_a_figure_computes_with_it() -> None:
    perception = perceive("give me the error count for auth over 5 minutes and triple it")
    read, tripled = perception.subtasks
    assert isinstance(read, (FetchTask, QueryTask)) and isinstance(tripled, ComputeTask)
    assert (tripled.params.expression or "").endswith("* 3") and list(tripled.params.refs.values()) == [
        [0, "value"]
    ]


def test_a_severity_in_a_condition_s_action_is_not_a_filter_of_its_subject() -> None:
    perception = perceive("if there are open incidents for search, open a sev1 incident for search")
    count, action = perception.subtasks
    assert isinstance(count, (FetchTask, QueryTask)) and count.params.aggregate == "count"
    assert count.params.severity is None
    assert isinstance(action, CreateTask) and action.params.severity == "sev1"


@pytest.mark.parametrize(
    ("request_text", "word"),
    [
        ("show the 3 newest incidents", "'3'"),
        ("list incidents ordered by severity", "'ordered'"),
    ],
)
def test_a_number_negation_grouping_or_ordering_no_rule_reads_is_never_dropped(
    request_text: str, word: str
) -> None:
    perception = perceive(request_text)
    assert perception.task_type == "unsupported" and word in " ".join(perception.unsupported)


@pytest.mark.parametrize(
    "request_text",
    [
        "find the busiest service over 1h and tell me its owner",
        "which service has the most open incidents, and what tier is it",
    ],
)
def test_a_pronoun_after_a_ranking_is_not_read_as_a_ranking_of_its_own(request_text: str) -> None:
    # "its owner" of the busiest service read as "the busiest owner" would answer another question
    perception = perceive(request_text)
    assert perception.task_type in ("ambiguous", "unsupported")


def test_a_pronoun_after_one_row_asks_that_row_s_field() -> None:
    perception = perceive("get the latest deployment and tell me its status")
    first, second = perception.subtasks
    assert isinstance(second, QueryTask) and second.params.field == "status"
    assert second.params.aggregate == first.params.aggregate == "latest"
