"""Durable runs on the DynamoDB run store (under moto): checkpoints, owners, resume, request keys."""

from __future__ import annotations

import os

import pytest

from chalicelib.durable import checkpoints
from chalicelib.memory.dynamodb_store import DynamoRunStore
from chalicelib.memory.store import get_run_store
from chalicelib.workflow.resume import resume
from tests.functional.test_dynamodb_backend import dynamodb_store  # noqa: F401 - the fixture

pytestmark = pytest.mark.functional
SEED = "Fetch mock data, calculate 2 + 2, and summarize the result"


def test_checkpoints_owners_and_resume_work_on_dynamodb(maoo, dynamodb_store):  # noqa: F811
    # given a run stored in DynamoDB, with a checkpoint per Task state
    doc = maoo.run(SEED)
    store = get_run_store()
    assert isinstance(store, DynamoRunStore)
    rows = checkpoints.rows(doc["run_id"])
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["state"] == "Perceive" and rows[-1]["state"] == "Finalize"
    events = [e["seq"] for e in store.events(doc["run_id"])]
    assert events == list(range(1, len(events) + 1))  # events written with checkpoints keep one sequence
    # when its process is gone after the first NextStep (later checkpoints lost)
    cut = next(r["seq"] for r in rows if r["state"] == "NextStep")
    for row in rows:
        if row["seq"] > cut:
            store.client.delete_item(
                TableName=store.table,
                Key={"run_id": {"S": doc["run_id"]}, "item": {"S": f"checkpoint#{row['seq']:06d}"}},
            )
    store.put_run({**doc, "status": "running"})
    store.claim_owner(doc["run_id"], 2**22 + 12345, os.uname().nodename, 2.0)
    # then it reads interrupted, and resumes to the same end
    assert store.get_run(doc["run_id"])["status"] == "interrupted"
    assert store.list_runs()[0]["status"] == "interrupted"
    resumed = resume(maoo.session.runner(), maoo.session.settings, doc["run_id"])
    assert resumed["status"] == "succeeded" and resumed["final_output"] == doc["final_output"]
    assert resumed["states"][:2] == ["ResumeAt", "Route"]


def test_a_request_key_is_bound_once_on_dynamodb(maoo, dynamodb_store):  # noqa: F811
    store = get_run_store()
    assert store.claim_request_key("k", "hash-a", "run-1") is None
    assert store.claim_request_key("k", "hash-b", "run-2") == {"body_hash": "hash-a", "run_id": "run-1"}


def test_a_dynamodb_store_that_fails_names_its_table():
    import boto3
    from moto import mock_aws

    from chalicelib.errors import StoreError

    with mock_aws():
        store = DynamoRunStore("no-such-table", boto3.client("dynamodb", region_name="us-east-1"))
        with pytest.raises(StoreError, match="DynamoDB table no-such-table.*MAOO_RUNS_TABLE"):
            store.put_run({"run_id": "r1", "request": "x", "status": "running"})


def test_of_two_take_overs_on_dynamodb_one_wins(maoo, dynamodb_store):  # noqa: F811
    # given a held run and an interrupted one, stored in DynamoDB
    store = get_run_store()
    assert isinstance(store, DynamoRunStore)
    host = os.uname().nodename
    store.put_run({"run_id": "run-held", "request": SEED, "status": "awaiting_approval"})
    store.put_run({"run_id": "run-gone", "request": SEED, "status": "running"})
    store.claim_owner("run-gone", 2**22 + 12345, host, 2.0)
    gone = store.get_owner("run-gone")
    # when two deciders take each of them up, each having seen it as it was
    held = [store.take_over("run-held", "awaiting_approval", None, pid, host, 9e9) for pid in (1, 2)]
    interrupted = [store.take_over("run-gone", "running", gone, pid, host, 9e9) for pid in (1, 2)]
    # then the first wins and owns the run, which reads running; the second is refused
    assert held == [True, False] and interrupted == [True, False]
    assert store.get_owner("run-gone")["pid"] == 1 and store.get_owner("run-held")["pid"] == 1
    assert store.get_run("run-held")["status"] == "running"
