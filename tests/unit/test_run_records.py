"""The run document declared once (chalicelib/memory/records.py): its JSON unchanged, its end a status."""

from __future__ import annotations

from chalicelib.config import get_settings
from chalicelib.contracts import RunState
from chalicelib.memory.records import RunRecord, record_of
from chalicelib.workflow.runs import initial_state, run_document


def test_a_start_record_reads_and_writes_back_with_no_key_added_and_unknown_keys_kept():
    start = {
        "run_id": "r1",
        "request": "calculate 2 + 2",
        "status": "running",
        "engine": "embedded",
        "created_at": 1.5,
        "execution_started_at": 2.0,
    }

    assert record_of(start).as_json() == start


def test_the_run_document_has_the_declared_keys_in_their_order():
    state: RunState = initial_state("calculate 2 + 2", get_settings())

    document = run_document(state, "embedded", None, None)

    added_elsewhere = {
        "lifecycle",
        "start_state",
        "last_checkpoint",
        "forks",
    }  # by finish_run, start_run, readers
    declared = [name for name in RunRecord.model_fields if name not in added_elsewhere]
    assert list(document) == declared
    assert (
        document["status"] == "running" and document["steps"] == [] and document["pending_approval"] is None
    )


def test_whether_a_run_is_still_going_is_its_status_not_a_missing_key():
    held_then_resumed = {"run_id": "r1", "status": "running", "steps": [{"step_id": "s1"}]}
    held = {"run_id": "r2", "status": "awaiting_approval", "steps": []}
    started = {"run_id": "r3", "status": "interrupted"}

    assert record_of(held_then_resumed).in_flight
    assert record_of(started).in_flight
    assert not record_of(held).in_flight and not record_of(held).ended
    assert record_of({"run_id": "r4", "status": "stopped"}).ended
