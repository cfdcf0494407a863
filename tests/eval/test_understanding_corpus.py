"""The understanding corpus: its files validate, its command measures, and a sample stays right.

The sample is a few tuning requests per category, run through the real pipeline; it guards the
measuring command and the most common phrasings. The whole corpus is measured by
``python -m eval.understanding`` (figures in README.md).
"""

from __future__ import annotations

import json
from typing import get_args

import pytest

from eval.understanding.corpus import PARTS, Category, CorpusFileError, load
from eval.understanding.judge import judge
from eval.understanding.runner import run_entries, summary


def test_every_part_validates_and_the_v2_parts_hold_at_least_400_requests_each() -> None:
    corpora = [load(part) for part in PARTS]
    for corpus in corpora:
        ids = [e.id for e in corpus.requests]
        assert len(ids) == len(set(ids)), corpus.part
    sizes = {c.part: len(c.requests) for c in corpora}
    assert sizes["tuning_v2"] >= 400 and sizes["held_out_v2"] >= 400
    # the blind part is written in four registers
    assert {e.written_as for e in load("held_out_v2").requests} == {"terse", "sentence", "question", "chat"}
    assert {e.category for c in corpora for e in c.requests} == set(get_args(Category))


def test_an_unknown_part_is_refused_naming_the_accepted_ones() -> None:
    with pytest.raises(CorpusFileError, match="tuning_v2, held_out_v2, tuning, held_out"):
        load("everything")


def test_a_success_that_misses_an_expectation_counts_as_a_false_success() -> None:
    entry = load("tuning").requests[0]  # calculate 2 + 2 -> 4
    doc = {
        "status": "succeeded",
        "steps": [
            {"tool": "calc", "ok": True, "args": {"expression": "2 - 2"}, "output_preview": {"value": 0}}
        ],
    }
    verdict = judge(entry, doc, json.dumps(doc), None)
    assert not verdict.right and verdict.false_success
    assert any("expected 4" in p for p in verdict.problems)


def test_a_sample_of_the_tuning_part_is_handled_right() -> None:
    entries = load("tuning").requests
    sample = [
        e for e in entries if e.id in {"t001", "t036", "t044", "t082", "t102", "t115", "t122", "t136", "t142"}
    ]
    verdicts = run_entries(sample)
    figures = summary(verdicts)
    assert figures["false_successes"] == 0
    assert [v.entry_id for v in verdicts if not v.right] == [], [v.problems for v in verdicts if not v.right]
