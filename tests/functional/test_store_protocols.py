"""The run store's small protocols (runs, trace events, blobs, checkpoints, ownership, request keys):
the same tests against the SQLite store and the DynamoDB store (under moto)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

from chalicelib.memory.store import RunStore, SqliteRunStore

pytestmark = pytest.mark.functional

GONE_PID = 2**22 + 4321  # above any pid this machine hands out: a process that is not running


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request, tmp_path, monkeypatch) -> Iterator[RunStore]:
    if request.param == "sqlite":
        yield SqliteRunStore(tmp_path / "runs.sqlite3")
        return
    import boto3
    from moto import mock_aws

    from chalicelib.memory.dynamodb_store import DynamoRunStore

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamo = DynamoRunStore(
            f"runs-{uuid.uuid4().hex[:8]}", boto3.client("dynamodb", region_name="us-east-1")
        )
        dynamo.ensure_table()
        yield dynamo


# --- runs ----------------------------------------------------------------------------------------


def test_a_run_document_reads_back_as_written_and_an_unknown_run_reads_none(store):
    document = {
        "run_id": "r1",
        "request": "calculate 2 + 2",
        "status": "succeeded",
        "created_at": 100.0,
        "steps": [{"step_id": "s1", "tool": "calculator", "ok": True}],
        "final_output": "2 + 2 = 4",
    }
    store.put_run(document)

    assert store.get_run("r1") == document
    assert store.get_run("nope") is None


def test_runs_are_listed_newest_first_with_their_summary(store):
    for run_id, created in (("old", 100.0), ("newest", 300.0), ("middle", 200.0)):
        store.put_run(
            {"run_id": run_id, "request": f"r {run_id}", "status": "succeeded", "created_at": created}
        )
    store.put_run(
        {
            "run_id": "held",
            "request": "r held",
            "status": "stopped",
            "stop_reason": "budget",
            "created_at": 50.0,
        }
    )

    listed = store.list_runs(limit=3)

    assert [row["run_id"] for row in listed] == ["newest", "middle", "old"]
    assert listed[0] == {
        "run_id": "newest",
        "request": "r newest",
        "status": "succeeded",
        "stop_reason": None,
        "created_at": 300.0,
    }
    assert store.list_runs()[-1]["stop_reason"] == "budget"


def test_a_running_run_whose_owner_is_gone_reads_interrupted(store):
    store.put_run({"run_id": "r1", "request": "x", "status": "running", "created_at": 1.0})
    store.claim_owner("r1", GONE_PID, socket.gethostname(), 0.0)

    assert store.get_run("r1")["status"] == "interrupted"
    assert store.list_runs()[0]["status"] == "interrupted"


# --- trace events and blobs ----------------------------------------------------------------------


def test_events_are_numbered_from_one_per_run_in_order(store):
    store.append_event("r1", "start", "Runner", {"n": 1})
    store.append_event("r2", "start", "Runner", {"n": 1})
    store.append_event("r1", "plan", "Plan", {"n": 2, "nested": {"ok": True}})

    events = store.events("r1")

    assert [(e["seq"], e["kind"], e["state"], e["data"]) for e in events] == [
        (1, "start", "Runner", {"n": 1}),
        (2, "plan", "Plan", {"n": 2, "nested": {"ok": True}}),
    ]
    assert [e["seq"] for e in store.events("r2")] == [1]
    assert store.events("r3") == []


def test_a_blob_round_trips_and_a_missing_one_is_a_key_error_naming_it(store):
    ref = store.put_blob("r1", {"rows": [1, 2, 3]})

    assert store.get_blob(ref) == {"rows": [1, 2, 3]}
    with pytest.raises(KeyError, match="blob:r1:000000000000"):
        store.get_blob("blob:r1:000000000000")


# --- checkpoints ---------------------------------------------------------------------------------


def test_checkpoints_are_numbered_in_order_and_carry_their_state_events(store):
    first = store.record_transition("r1", "state", "Perceive", "Plan", {"a": 1}, [("state", "Perceive", {})])
    second = store.record_transition(
        "r1", "state", "Plan", "NextStep", {"a": 2}, [("plan", "Plan", {"n": 1})]
    )

    rows = store.checkpoints("r1")

    assert (first, second) == (1, 2)
    assert [(r["seq"], r["kind"], r["state"], r["next_state"], r["document"]) for r in rows] == [
        (1, "state", "Perceive", "Plan", {"a": 1}),
        (2, "state", "Plan", "NextStep", {"a": 2}),
    ]
    assert [(e["seq"], e["kind"]) for e in store.events("r1")] == [(1, "state"), (2, "plan")]
    assert store.checkpoints("r2") == []


# --- ownership -----------------------------------------------------------------------------------


def test_an_owner_is_claimed_and_its_lease_only_grows(store):
    store.claim_owner("r1", os.getpid(), "host-a", 100.0)
    store.renew_lease("r1", 50.0)
    assert store.get_owner("r1") == {"pid": os.getpid(), "host": "host-a", "lease_until": 100.0}
    store.renew_lease("r1", 200.0)
    assert store.get_owner("r1")["lease_until"] == 200.0
    assert store.get_owner("nobody") is None


def test_of_two_deciders_taking_up_a_held_run_exactly_one_does(store):
    store.put_run({"run_id": "r1", "request": "x", "status": "awaiting_approval", "created_at": 1.0})

    taken = [store.take_over("r1", "awaiting_approval", None, pid, "host", 9e9) for pid in (1, 2)]

    assert taken == [True, False]
    assert store.get_owner("r1")["pid"] == 1
    assert store.take_over("r1", "stopped", None, 3, "host", 9e9) is False  # not as the caller saw it


# --- request keys --------------------------------------------------------------------------------


def test_a_request_key_is_bound_once_and_answers_its_first_binding(store):
    assert store.claim_request_key("k1", "hash-a", "run-1") is None
    assert store.claim_request_key("k1", "hash-b", "run-2") == {"body_hash": "hash-a", "run_id": "run-1"}
    assert store.claim_request_key("k2", "hash-b", "run-2") is None
