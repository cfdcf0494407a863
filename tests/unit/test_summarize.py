"""``summarize``: deterministic and extractive; it restates what its inputs hold."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.tools.summarize import summarize

NUMBER = re.compile(r"\d+")


def test_calc_result_is_rendered_as_an_equation():
    assert summarize([{"expression": "2 + 2", "value": 4}]) == "2 + 2 = 4."


def test_single_row_lists_its_columns():
    result = {
        "columns": ["service", "requests", "errors"],
        "row_count": 1,
        "truncated": False,
        "rows": [{"service": "payments", "requests": 12000, "errors": 240}],
    }
    assert summarize([result]) == "service: payments, requests: 12000, errors: 240."


def test_several_rows_are_counted_and_named():
    rows = [{"service": "payments"}, {"service": "search"}, {"service": "checkout"}]
    assert summarize([{"rows": rows}]) == "3 rows (payments; search; checkout)."


def test_rows_beyond_five_are_counted_not_named():
    rows = [{"id": n} for n in range(7)]
    assert summarize([{"rows": rows}]) == "7 rows (0; 1; 2; 3; 4 and 2 more)."


def test_list_of_values_is_counted_and_listed():
    assert summarize([[1, 2, 3]]) == "3 items: 1, 2, 3."


def test_http_answer_is_summarized_by_its_body():
    answer = {"status": 200, "body": {"service": "payments", "healthy": True}}
    assert summarize([answer]) == "service: payments; healthy: True."


def test_file_write_result_says_what_was_written():
    assert (
        summarize([{"path": "reports/incidents.md", "bytes": 120, "replayed": False}])
        == "Wrote 120 bytes to reports/incidents.md."
    )


def test_text_is_split_into_sentences_and_max_sentences_respected():
    text = "Payments is healthy. Search is degraded! Is checkout slow? Auth is fine."
    assert summarize([text], max_sentences=2) == "Payments is healthy. Search is degraded!"


def test_max_sentences_applies_across_inputs():
    inputs = ["One is first.", {"expression": "2 + 2", "value": 4}, "Three is last."]
    assert summarize(inputs, max_sentences=2) == "One is first. 2 + 2 = 4."


def test_repeated_sentences_appear_once():
    assert (
        summarize(["Search is degraded.", "Search is degraded. Payments is fine."])
        == "Search is degraded. Payments is fine."
    )


@pytest.mark.parametrize("inputs", [[], [None], [""], ["   "], [{}]])
def test_nothing_to_summarize(inputs):
    assert summarize(inputs) == "Nothing to summarize."


_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
_sentence = st.lists(
    _word | st.integers(min_value=-(10**6), max_value=10**6).map(str), min_size=1, max_size=6
).map(lambda words: " ".join(words) + ".")
_text = st.lists(_sentence, min_size=1, max_size=4).map(" ".join)
_record = st.dictionaries(
    _word, _word | st.integers(min_value=-(10**9), max_value=10**9), min_size=1, max_size=5
)
_calc = st.builds(
    lambda a, b, v: {"expression": f"{a} + {b}", "value": v},
    st.integers(0, 999),
    st.integers(0, 999),
    st.integers(0, 2000),
)


@settings(max_examples=80)
@given(inputs=st.lists(_text | _record | _calc, min_size=1, max_size=5), max_sentences=st.integers(1, 20))
def test_summary_is_deterministic_and_every_number_comes_from_the_input(inputs, max_sentences):
    summary = summarize(inputs, max_sentences)
    assert summarize(inputs, max_sentences) == summary
    source_numbers = set(NUMBER.findall(json.dumps(inputs)))
    assert set(NUMBER.findall(summary)) <= source_numbers


def test_large_float_is_not_rewritten_in_exponent_notation():
    summary = summarize([{"expression": "100000 / 3", "value": 100000 / 3}])
    assert "e+" not in summary
    assert summary.startswith("100000 / 3 = 33333")


def test_names_in_rows_keep_their_case():
    rows = [{"title": "Checkout latency above SLO"}, {"title": "Intermittent 502s from API-Gateway"}]
    summary = summarize([{"rows": rows}])
    assert "Checkout latency above SLO" in summary
    assert "API-Gateway" in summary
