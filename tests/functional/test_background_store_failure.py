"""A run finished in the background (``POST /runs`` with ``wait: false``, MCP's ``run_request``) whose
store fails: readers see it interrupted at once, with the store's error, not ``running`` forever."""

from __future__ import annotations

import json
import time

import pytest
from chalice.test import Client

from chalicelib.errors import StoreError
from chalicelib.memory.store import SqliteRunStore

pytestmark = pytest.mark.functional


@pytest.fixture
def client(maoo):
    from app import app

    with Client(app, stage_name="local") as chalice_client:
        yield chalice_client


@pytest.mark.parametrize("store_stays_broken", [False, True], ids=["fails once", "stays read-only"])
def test_a_background_run_whose_store_fails_reads_interrupted_with_the_stores_error(
    client, monkeypatch, store_stays_broken
):
    # given a store that refuses the calc step's checkpoint (and, broken for good, every owner change after it)
    real_record, real_claim = SqliteRunStore.record_transition, SqliteRunStore.claim_owner
    broken = {"yes": False}

    def record(self, run_id, kind, state, *args, **kwargs):
        if state == "CallCalc" and not broken["yes"]:
            broken["yes"] = True
            raise StoreError(f"the run store {self.path} could not be written: database is locked")
        return real_record(self, run_id, kind, state, *args, **kwargs)

    def claim(self, *args, **kwargs):
        if broken["yes"] and store_stays_broken:
            raise StoreError(f"the run store {self.path} could not be written: disk full")
        return real_claim(self, *args, **kwargs)

    monkeypatch.setattr(SqliteRunStore, "record_transition", record)
    monkeypatch.setattr(SqliteRunStore, "claim_owner", claim)
    # when a run is posted without waiting, and followed
    posted = client.http.post(
        "/runs",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"request": "calculate 6 * 7", "wait": False}),
    )
    assert posted.status_code == 202
    run_id = posted.json_body["run_id"]
    for _ in range(2400):  # bounded polling (2 min at most): a few rounds normally
        shown = client.http.get(f"/runs/{run_id}").json_body
        if shown["status"] != "running":
            break
        time.sleep(0.05)
    # then it reads interrupted, saying the store failed and how to finish it
    assert broken["yes"] and shown["status"] == "interrupted"
    assert "database is locked" in shown["stop_detail"]
    assert shown["final_output"] == (
        f"Interrupted after NextStep: the run store failed. Finish it with `python -m cli resume {run_id}` "
        "once the store works again."
    )
    assert shown["steps"] == []  # its last checkpoint: the calc step never ran
