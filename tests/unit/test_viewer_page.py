"""The run page made from a trace document alone (no engine): approval panel, escaping, partial traces."""

from __future__ import annotations

import json
import re

from chalicelib.viewer import facts_json, render_trace
from chalicelib.viewer.page import DOCS_BUDGET_BYTES, LEFT_OUT
from chalicelib.workflow.definition import load_definition

PAUSED = {
    "run_id": "run-paused",
    "run": {
        "run_id": "run-paused",
        "request": "Open a sev2 incident for search",
        "status": "awaiting_approval",
        "engine": "embedded",
    },
    "events": [
        {"seq": 1, "ts": 100.0, "kind": "start", "state": "Runner", "data": {}},
        {
            "seq": 2,
            "ts": 100.5,
            "kind": "pause",
            "state": "NextStep",
            "data": {
                "step_id": "s1",
                "tool": "http_post",
                "args": {"url": "http://127.0.0.1:1/incidents", "json": {"severity": "sev2"}},
                "reason": "http_post is a write",
            },
        },
    ],
    "execution": None,
}


def test_a_run_awaiting_approval_shows_the_step_its_tool_arguments_and_the_buttons():
    page = render_trace(PAUSED)

    panel = re.search(r'<section id="approval".*?</section>', page, re.S)
    assert panel is not None
    assert "<b>s1</b>" in panel.group(0) and "<b>http_post</b>" in panel.group(0)
    assert "&quot;severity&quot;: &quot;sev2&quot;" in panel.group(0)
    assert 'id="approve" data-decision="approve"' in panel.group(
        0
    ) and 'id="reject" data-decision="reject"' in panel.group(0)
    assert "http_post is a write" in panel.group(0)
    assert 'data-live="true"' in page
    assert 'class="tl-item mark"' in page  # the pause is on the time axis


def test_a_finished_run_has_no_approval_panel_and_is_not_live():
    done = {**PAUSED, "run": {**PAUSED["run"], "status": "succeeded", "final_output": "ok"}}

    page = render_trace(done)

    assert 'id="approval"' not in page and 'data-live="false"' in page


def test_text_from_the_run_cannot_break_out_of_the_page():
    hostile = {
        **PAUSED,
        "run": {**PAUSED["run"], "request": "</script><script>alert(1)</script>", "status": "failed"},
    }

    page = render_trace(hostile)

    assert "<script>alert(1)" not in page
    assert page.count("</script>") == 2  # the data block's and the page's own script's


def test_a_trace_without_history_still_draws_every_state_and_names_the_pending_step():
    seen = facts_json(PAUSED)

    assert seen["states"] == list(load_definition()["States"])
    assert seen["visits"] == [] and seen["pending"]["tool"] == "http_post"
    assert seen["status"] == "awaiting_approval" and seen["live"] is True


def _history(documents: list[dict]) -> list[dict]:
    """An execution history that passes each document through one Pass state."""
    events: list[dict] = [{"type": "ExecutionStarted", "timestamp": 100.0}]
    for i, doc in enumerate(documents):
        text = json.dumps(doc)
        events.append(
            {
                "type": "PassStateEntered",
                "timestamp": 100.0 + i,
                "stateEnteredEventDetails": {"name": "Perceive", "input": text},
            }
        )
        events.append(
            {
                "type": "PassStateExited",
                "timestamp": 100.5 + i,
                "stateExitedEventDetails": {"name": "Perceive", "output": text},
            }
        )
    return events


def test_a_long_run_keeps_its_newest_documents_within_the_page_budget():
    big = [{"n": i, "blob": "x" * 400_000} for i in range(12)]  # 4.8 MB of documents
    trace = {
        "run_id": "run-big",
        "run": {"run_id": "run-big", "status": "succeeded"},
        "events": [],
        "execution": {"history": _history(big)},
    }

    page = render_trace(trace)
    docs = facts_json(trace)["docs"]

    assert len(page) < DOCS_BUDGET_BYTES + 200_000
    assert docs[-1]["n"] == 11 and docs[0] == LEFT_OUT
    assert "GET /runs/{id}/trace has them all" in page


def test_the_pending_step_is_read_from_the_run_document_when_it_names_one():
    document = {
        **PAUSED["run"],
        "approval": {"step_id": "s2", "tool": "file_write", "args": {"path": "x.md"}},
    }

    seen = facts_json({**PAUSED, "run": document})

    assert seen["pending"]["step_id"] == "s2" and seen["pending"]["tool"] == "file_write"
