"""Plan text: the request language's one-line text read back into sub-tasks (``--plan-text``).

The property: for every reading the offline reader makes of the tuning corpora, the text ``render``
prints parses into sub-tasks that print the same text and plan to the same steps. A sub-task's
``text`` (its words in the request) is not in the language, so the parsed sub-tasks take the
reader's words before planning: what is compared is everything the text denotes.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.contracts import PerceivedState
from chalicelib.errors import MaooError
from chalicelib.perception.language import render
from chalicelib.perception.plan_text import PlanTextError, parse, perceive_plan_text
from chalicelib.perception.request_reader import perceive
from chalicelib.planning.planner import make_plan
from eval.understanding.corpus import load


def _readings() -> list[tuple[str, PerceivedState]]:
    found = []
    for part in ("tuning_v2", "tuning"):  # the tuning parts only: the held-out parts are never read here
        for entry in load(part).requests:
            perception = perceive(entry.request)
            if perception.subtasks:
                found.append((f"{part}:{entry.id}", perception))
    return found


READINGS = _readings()


def _steps(perception: PerceivedState) -> list[dict] | None:
    try:
        return [s.model_dump() for s in make_plan(perception).steps]
    except (MaooError, ValueError):
        return None


def test_the_corpus_gives_the_property_enough_to_check() -> None:
    planned = [p for _, p in READINGS if _steps(p) is not None]
    # a refused request (an unknown word, an impossible ask) has no sub-tasks: what is left is read whole
    assert len(READINGS) > 500 and len(planned) > 500


@pytest.mark.parametrize(("entry", "perception"), READINGS, ids=[e for e, _ in READINGS])
def test_the_text_of_every_reading_parses_back_to_the_same_text_and_steps(
    entry: str, perception: PerceivedState
) -> None:
    text = render(perception)

    parsed = parse(text)

    assert render(parsed) == text
    expected = _steps(perception)
    if expected is not None:  # a reading the planner cannot plan (a refused one) has no steps to compare
        worded = [
            b.model_copy(update={"text": a.text})
            for a, b in zip(perception.subtasks, parsed.subtasks, strict=True)
        ]
        assert _steps(parsed.model_copy(update={"subtasks": worded})) == expected


def test_the_issues_example_is_a_count_over_the_filtered_incidents() -> None:
    state = parse("incidents | where service = checkout and status != resolved | count")

    (task,) = state.subtasks
    assert state.task_type == "single" and task.kind == "query"
    assert task.params.resource == "incidents" and task.params.aggregate == "count"
    assert [(f.field, f.op, f.value) for f in task.params.filters] == [
        ("service", "=", "checkout"),
        ("status", "!=", "resolved"),
    ]


def test_statements_refer_to_what_earlier_ones_produced() -> None:
    state = parse(
        "[read-only] fetch metrics | where service = search and window = 1h ; "
        "calc round(#1.errors / #1.requests * 100, 4) ; if #2 > 5: notify #oncall for search <- #2"
    )

    read, rate, post = state.subtasks
    assert state.constraints.read_only and state.task_type == "conditional"
    assert (
        rate.params.metric == "error_rate" and rate.params.service == "search" and rate.params.window == "1h"
    )
    assert post.condition is not None and post.condition.subject == "#1" and post.condition.value == 5
    assert post.params.content is not None and post.params.content.task == 1


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("incident | count", ["character 1", "'incident'", "services, metrics, incidents"]),
        ("incidents | where sev = sev1", ["character 19", "'sev'", "id, service, title, severity"]),
        ("incidents | where status ~ open", ["character 26", "'~'", "=, !=, in, not in, >, >=, <, <="]),
        ("incidents | total", ["character 13", "'total'", "count, sum, avg, min, max, argmax"]),
        ("calc 1 + 1 ; calc #3 * 2", ["character 19", "#1 to #1"]),
        ("#2 = calc 1 + 1", ["character 1", "'#1 ='"]),
        ('notify #ops "unclosed', ["character 13", "double quotes"]),
        ("[urgent] calc 1 + 1", ["character 2", "read-only, no files, budget N"]),
        ("incidents | where status > open", ["'open'", "status is not a number"]),
        ("metrics | where p95_ms > slow", ["'slow'", "p95_ms is a number"]),
        ("fetch incidents | where status != open", ["plain read", "drop fetch/query"]),
        ("resolve INC-1001", ["character 1", "'resolve'", "calc, write, notify, open incident"]),
        ("calc 1 + 1 ;; summarize", ["a statement between two ';'"]),
        ("metrics | sum errors | in furlongs", ["character 27", "'furlongs'", "%, fraction, h, millions"]),
        ("incidents | where", ["ends at character 18 too early", "a condition: field op value"]),
        ("services | latest", ["character 12", "'latest'", "only incidents and deployments have a time"]),
        ("", ["empty"]),
    ],
)
def test_text_the_language_does_not_have_is_refused_naming_where_and_what_is_accepted(
    text: str, says: list[str]
) -> None:
    with pytest.raises(PlanTextError) as refused:
        parse(text)

    for words in says:
        assert words in str(refused.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('notify #random "hi"', "there is no channel 'random' (channels: email, engineering"),
        ("incidents | where service = billing | count", "there is no service 'billing' in incidents"),
        ("deployments | where id = DEP-3000", "there is no id 'DEP-3000'"),
        ("metrics | where window = 7d | sum errors", "there is no window '7d'"),
        ("open incident sev0 for search", "there is no severity 'sev0'"),
        ("open incident sev2 for billing", "there is no service 'billing' (services: payments"),
    ],
)
def test_a_word_naming_what_the_estate_does_not_have_is_refused_like_the_reader_refuses_it(
    text: str, says: str
) -> None:
    state = perceive_plan_text(text)

    assert state.task_type == "unsupported" and says in " ".join(state.unsupported)


def test_an_incident_for_no_service_asks_which_service() -> None:
    state = perceive_plan_text("open incident sev2 for ?")

    assert state.task_type == "ambiguous" and "which service (payments" in state.missing[0]


def test_a_summary_of_nothing_asks_what_to_summarize() -> None:
    state = perceive_plan_text("summarize")

    assert state.task_type == "ambiguous" and state.missing == [
        "what to summarize: nothing is read or computed before #1"
    ]


def test_a_metrics_question_with_no_window_is_over_the_default_window_and_says_so() -> None:
    state = perceive_plan_text("metrics | max errors | by service")

    assert render(state) == "#1 = metrics | where window = 1h | max errors | by service"


def test_a_refusal_of_bad_text_is_a_perceived_state_not_an_exception() -> None:
    state = perceive_plan_text("incidents | where status ~ open")

    assert state.task_type == "unsupported" and state.subtasks == []
    assert "character 26" in state.unsupported[0]


_PIECES = st.sampled_from(
    [
        "incidents",
        "metrics",
        " | ",
        " ; ",
        "where ",
        "status = open",
        " and ",
        "count",
        "calc 1 + #1",
        '"x',
        "(a, b",
        "#1 = ",
        "if #1 > 2: ",
        "notify #ops ",
        "<- #2",
        "[read-only",
        "in s",
        "round",
        "by ",
        "open incident for ",
        "write a.txt ",
        "fetch ",
        "\\",
        "",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=8).map("".join) | st.text(max_size=60))
def test_no_text_at_all_makes_a_traceback(text: str) -> None:
    state = perceive_plan_text(text)

    assert isinstance(state, PerceivedState)
    if state.task_type == "unsupported" and not state.subtasks:
        assert state.unsupported and state.unsupported[0].startswith("plan text")


def test_again_after_a_plan_text_run_repeats_it_as_plan_text() -> None:
    from chalicelib.contracts import RunState
    from chalicelib.journal import open_journal
    from chalicelib.memory.facts import Fact, Recollection
    from chalicelib.perception.perceive_state import memory_query, perceive_state

    earlier = Fact(
        kind="run",
        key="run-1",
        text="request 'incidents | where status = open | count' succeeded",
        data={"request": "incidents | where status = open | count", "plan_text": True},
        run_id="run-1",
    )
    again = RunState(run_id="run-2", request="do the same as last time", started_at=0.0)

    with open_journal():
        state = perceive_state(again, Recollection(read_at=0.0, recent=(earlier,)))

    # read as plain language it would be the catalogue's count ("query incidents | ..."), not the question
    assert state.perception is not None
    assert state.perception.understood == "#1 = incidents | where status = open | count"
    written = again.model_copy(update={"request": "do the same as last time", "plan_text": True})
    assert memory_query(written) is None  # plan text never points back: it is parsed, not read
