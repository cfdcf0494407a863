"""Listing runs on DynamoDB (under moto): a Query of the status index, never a Scan of the table."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.memory.dynamodb_store import RUNS_BY_STATUS, RUNS_BY_STATUS_ATTRIBUTES, DynamoRunStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store_and_calls():
    """A DynamoDB run store under moto, and the operations (with their parameters) its client made."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        store = DynamoRunStore("runs", client)
        store.ensure_table()
        calls: list[tuple[str, dict]] = []
        client.meta.events.register(
            "provide-client-params.dynamodb.*",
            lambda params, model, **_: calls.append((model.name, dict(params))),
        )
        yield store, calls


def _runs(store: DynamoRunStore) -> None:
    stored = [
        ("r1", "succeeded", 100.0, None),
        ("r2", "stopped", 200.0, "max_steps"),
        ("r3", "succeeded", 300.0, None),
        ("r4", "awaiting_approval", 400.0, None),
        ("r5", "running", 500.0, None),
    ]
    for run_id, status, created, reason in stored:
        store.put_run(
            {"run_id": run_id, "request": f"request {run_id}", "status": status, "created_at": created}
            | ({"stop_reason": reason} if reason else {})
        )
    store.claim_owner("r5", 2**22 + 12345, socket.gethostname(), 2.0)  # a process that is gone


def test_runs_are_listed_newest_first_through_a_query_of_the_status_index(store_and_calls):
    # given five runs in four statuses
    store, calls = store_and_calls
    _runs(store)
    calls.clear()
    # when the three newest are listed
    listed = store.list_runs(limit=3)
    # then they come newest first, whatever their status, as every store lists them
    assert [(r["run_id"], r["status"], r["stop_reason"]) for r in listed] == [
        ("r5", "interrupted", None),
        ("r4", "awaiting_approval", None),
        ("r3", "succeeded", None),
    ]
    assert listed[0] == {
        "run_id": "r5",
        "request": "request r5",
        "status": "interrupted",
        "stop_reason": None,
        "created_at": 500.0,
    }
    # and the table was queried on the status index, newest first and bounded, never scanned
    operations = [name for name, _ in calls]
    assert "Scan" not in operations
    queries = [params for name, params in calls if name == "Query"]
    assert queries and all(
        q["IndexName"] == "runs-by-status" and q["ScanIndexForward"] is False and q["Limit"] == 3
        for q in queries
    )
    assert {q["ExpressionAttributeValues"][":status"]["S"] for q in queries} == {
        "running",
        "succeeded",
        "failed",
        "stopped",
        "awaiting_approval",
    }


def test_a_stop_reason_is_listed_from_the_index(store_and_calls):
    store, _ = store_and_calls
    _runs(store)
    [stopped] = [r for r in store.list_runs(limit=10) if r["run_id"] == "r2"]
    assert (stopped["status"], stopped["stop_reason"], stopped["request"]) == (
        "stopped",
        "max_steps",
        "request r2",
    )


def test_the_template_declares_the_index_the_store_queries():
    template = json.loads((ROOT / ".chalice" / "merge-template.json").read_text(encoding="utf-8"))
    table = template["Resources"]["RunsTable"]["Properties"]
    assert table["GlobalSecondaryIndexes"] == [RUNS_BY_STATUS]
    assert all(a in table["AttributeDefinitions"] for a in RUNS_BY_STATUS_ATTRIBUTES)
    api = template["Resources"]["ApiRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    runs = next(s for s in api if s["Sid"] == "RunsAndTraces")
    index_arn = {
        "Fn::Join": ["", [{"Fn::GetAtt": ["RunsTable", "Arn"]}, "/index/" + RUNS_BY_STATUS["IndexName"]]]
    }
    assert index_arn in runs["Resource"]
    assert "dynamodb:Scan" not in runs["Action"]
