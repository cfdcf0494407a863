"""Large outputs travel by reference end to end, never inside a state document.

Step Functions refuses a state document over 256 KB (``States.DataLimitExceeded``). A run that
fetches up to the HTTP cap (1 MB) and then summarizes and saves what it fetched must succeed, with
every document in the execution history under that limit: the fetched body stays in the run store,
and the next tools receive a reference to it, which they read from the store themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.config import get_settings
from chalicelib.contracts import ToolCall
from chalicelib.largevalues import BLOB_KEY
from chalicelib.memory.store import get_run_store
from chalicelib.tools.invocation import run_tool
from chalicelib.trace_history import trace_history
from tests.security.conftest import allowlisted_json_api

STATE_LIMIT = 256 * 1024
HTTP_CAP = 1_000_000


def _payload(target_bytes: int) -> bytes:
    """A JSON object of about ``target_bytes``: a list of records, as an ops API would return."""
    items, size = [], 20
    while size < target_bytes - 120:
        item = {"id": len(items), "service": f"svc-{len(items) % 7}", "note": "latency within budget. " * 2}
        items.append(item)
        size += len(json.dumps(item)) + 2
    return json.dumps({"items": items}).encode()


BODIES = {"/big": _payload(HTTP_CAP - 2_000), "/medium": _payload(276 * 1024)}


def _answer(path: str) -> tuple[int, bytes]:
    return (200, BODIES[path]) if path in BODIES else (404, BODIES["/big"])


@pytest.fixture
def big_api(maoo, monkeypatch) -> Iterator[str]:
    with allowlisted_json_api(monkeypatch, _answer) as url:
        yield url


def _largest_state_document(doc: dict) -> int:
    """The largest input, output or parameters document in the run's execution history, in bytes."""
    trace = json.loads(Path(doc["trace_file"]).read_text())
    largest = 0
    for event in trace_history(trace):
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict):
                for field in ("input", "output", "parameters"):
                    if isinstance(details.get(field), str):
                        largest = max(largest, len(details[field].encode()))
    return largest


def test_one_megabyte_fetched_then_summarized_and_saved_succeeds_with_small_states(maoo, big_api):
    assert len(BODIES["/big"]) > 990_000

    doc = maoo.run(f"Fetch {big_api}/big, summarize it and save it to big-report.md")

    assert doc["status"] == "succeeded", (doc["stop_reason"], doc["stop_detail"])
    assert [s["tool"] for s in doc["steps"]] == ["http_get", "summarize", "file_write"]
    assert doc["steps"][0]["output_ref"]
    largest = _largest_state_document(doc)
    assert largest > 0 and largest < STATE_LIMIT, f"a state document of {largest} bytes"
    saved = (get_settings().files_dir / "big-report.md").read_text()
    assert "items" in saved.lower() or "svc-" in saved
    summarize = doc["steps"][1]
    assert BLOB_KEY in json.dumps(summarize["args"])  # it was handed a reference, not the megabyte


def test_a_276_kb_answer_saved_as_json_arrives_whole_in_the_file(maoo, big_api):
    doc = maoo.run(f"Fetch {big_api}/medium and save it to medium.json")

    assert doc["status"] == "succeeded", (doc["stop_reason"], doc["stop_detail"])
    assert _largest_state_document(doc) < STATE_LIMIT
    saved = json.loads((get_settings().files_dir / "medium.json").read_text())
    assert saved["body"] == json.loads(BODIES["/medium"])
    write = doc["steps"][-1]
    assert write["tool"] == "file_write" and BLOB_KEY in json.dumps(write["args"])


def test_a_reference_to_another_runs_stored_value_is_refused(isolated_runtime):
    ref = get_run_store().put_blob("run-other", "a secret of another run")

    result = run_tool(
        ToolCall(run_id="run-mine", step_id="s1", tool="summarize", args={"inputs": [{BLOB_KEY: ref}]})
    )

    assert not result.ok and result.error is not None
    assert (result.error.kind, result.error.details.get("rule")) == ("policy_denied", "blob.reference")


def test_a_megabyte_error_page_ends_the_run_with_its_reason_not_a_crash(maoo, big_api):
    doc = maoo.run(f"Fetch {big_api}/missing")

    assert doc["status"] != "succeeded" and doc["stop_reason"] != "crash", doc["stop_detail"]
    error = doc["steps"][-1]["error"]
    assert error["status_code"] == 404 and error["details"]["truncated_bytes"] > 990_000
    assert _largest_state_document(doc) < STATE_LIMIT
