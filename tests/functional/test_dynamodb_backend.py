"""The same runs with DynamoDB (under moto) holding runs, traces and idempotency records."""

from __future__ import annotations

import uuid

import boto3
import pytest

from chalicelib.config import reload_settings
from chalicelib.memory.dynamodb_store import DynamoRunStore
from chalicelib.memory.idempotency import ensure_dynamodb_table
from chalicelib.memory.store import get_run_store
from tests.functional.conftest import lose_first_response


@pytest.fixture
def dynamodb_store(engine, monkeypatch):
    """Tables in the embedded engine's moto backend, which serves DynamoDB too."""
    suffix = uuid.uuid4().hex[:8]
    client = boto3.client("dynamodb", region_name="us-east-1")
    DynamoRunStore(f"runs-{suffix}", client).ensure_table()
    ensure_dynamodb_table(client, f"idem-{suffix}")
    monkeypatch.setenv("MAOO_STORE", "dynamodb")
    monkeypatch.setenv("MAOO_RUNS_TABLE", f"runs-{suffix}")
    monkeypatch.setenv("MAOO_IDEMPOTENCY_TABLE", f"idem-{suffix}")
    reload_settings()
    return client, suffix


def test_a_run_is_stored_and_traced_in_dynamodb(maoo, dynamodb_store):
    doc = maoo.run("Fetch mock data, calculate 2 + 2, and summarize the result")

    store = get_run_store()
    assert isinstance(store, DynamoRunStore)
    assert store.get_run(doc["run_id"])["final_output"] == doc["final_output"]
    kinds = [e["kind"] for e in store.events(doc["run_id"])]
    assert kinds[0] == "start" and kinds.count("tool_call") == 3 and kinds[-1] == "finalize"


def test_platform_retry_of_a_write_is_answered_from_the_dynamodb_idempotency_table(
    maoo, engine, dynamodb_store, monkeypatch
):
    client, suffix = dynamodb_store
    calls = lose_first_response(engine, monkeypatch, "tool_http_post")
    doc = maoo.run("Open a sev2 incident for search")

    assert doc["status"] == "succeeded" and calls["n"] == 2
    assert len(maoo.side_effects()) == 1
    assert len([r for r in maoo.requests_seen() if r["method"] == "POST"]) == 1
    records = client.scan(TableName=f"idem-{suffix}")["Items"]
    assert len(records) == 1 and records[0]["status"]["S"] == "COMPLETED"


def test_a_large_output_over_dynamodbs_item_limit_round_trips(maoo, dynamodb_store):
    """A 1 MB value (the HTTP cap) is over DynamoDB's 400 KB item limit: it is stored in parts."""
    value = {"body": "x" * 1_000_000, "note": "é" * 1000}
    store = get_run_store()
    ref = store.put_blob("run-large", value)
    assert store.get_blob(ref) == value
    small = store.put_blob("run-large", {"n": 1})
    assert store.get_blob(small) == {"n": 1}


def test_a_record_left_in_progress_in_dynamodb_is_replayed_by_the_run_that_took_the_call_over(dynamodb_store):
    from chalicelib.contracts import ToolCall
    from chalicelib.tools.invocation import run_tool
    from tests.unit.test_tool_runner import _LambdaContext, _left_in_progress

    # given a file write whose process died with its record in progress in DynamoDB
    client, suffix = dynamodb_store
    call = ToolCall(
        run_id="run-1",
        step_id="s6",
        tool="file_write",
        args={"path": "report.md", "content": "# Report\n"},
        idempotency_key="run-1:s6:abc",
    )
    _left_in_progress(call)
    # then a caller that did not take it over is told its outcome is unknown, and writes nothing
    held = run_tool(call, _LambdaContext())
    assert held.error.kind == "unknown_outcome" and held.error.retry_after > 0
    # and the run that took it over makes it, completing the record
    made = run_tool(call.model_copy(update={"replay": True}), _LambdaContext())
    assert made.ok and made.output["replayed"] is False
    [record] = client.scan(TableName=f"idem-{suffix}")["Items"]
    assert record["status"]["S"] == "COMPLETED"
