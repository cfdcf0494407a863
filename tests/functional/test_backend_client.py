"""The embedded engine's Step Functions client answers as boto3 on moto answers.

The runner starts and describes executions through ``engine.sfn()``, which answers those two calls
from moto's backend instead of a round trip through botocore and moto's HTTP layer. Each answer is
compared here with the boto3 client's answer to the same call, refusals included.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from chalicelib.workflow.runs import initial_state


def _assert_same_answer(ours: dict, theirs: dict) -> None:
    """The same members and values; times to the wire's precision (moto sends them rounded)."""
    assert set(ours) == set(theirs)
    for key, value in ours.items():
        if key == "ResponseMetadata":
            continue
        if hasattr(value, "timestamp"):
            assert abs(value.timestamp() - theirs[key].timestamp()) < 0.002, key
        else:
            assert value == theirs[key], key


_STARTED: list[str] = []


@pytest.fixture(autouse=True)
def _released(engine):
    """Every execution these tests start is let go at the end, as a run's finish lets its execution go:
    a test after these measures what the engine holds."""
    yield
    while _STARTED:
        engine.forget(_STARTED.pop())


def _start(client, engine, name: str, doc: dict) -> dict:
    answer = client.start_execution(
        stateMachineArn=engine.state_machine_arn, name=name, input=json.dumps(doc)
    )
    _STARTED.append(answer["executionArn"])
    return answer


def test_a_started_and_finished_execution_is_described_as_boto3_describes_it(engine):
    client, boto3_client = engine.sfn(), engine.sfn().boto3_client()
    state = initial_state("calculate 3 + 4", engine.settings, {})
    started = _start(client, engine, state.run_id, state.model_dump(mode="json"))
    assert set(started) == {"executionArn", "startDate", "ResponseMetadata"}
    assert started["startDate"].tzinfo is not None
    described = engine.runner().wait(started["executionArn"])
    assert described["status"] == "SUCCEEDED"
    _assert_same_answer(described, boto3_client.describe_execution(executionArn=started["executionArn"]))
    assert json.loads(described["output"])["final_output"]


@pytest.mark.parametrize("which", ["shortcut", "boto3"])
def test_an_ended_execution_s_name_cannot_start_another_even_with_the_same_input(engine, which):
    client = engine.sfn() if which == "shortcut" else engine.sfn().boto3_client()
    state = initial_state("calculate 5 + 6", engine.settings, {})
    doc = state.model_dump(mode="json")
    first = _start(client, engine, state.run_id, doc)
    engine.runner().wait(first["executionArn"])
    with pytest.raises(ClientError) as taken:
        _start(client, engine, state.run_id, doc)
    assert taken.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    assert taken.value.operation_name == "StartExecution"


@pytest.mark.parametrize("which", ["shortcut", "boto3"])
def test_refusals_are_the_client_errors_boto3_raises(engine, which):
    client = engine.sfn() if which == "shortcut" else engine.sfn().boto3_client()
    state = initial_state("calculate 7 + 8", engine.settings, {})
    first = _start(client, engine, state.run_id, state.model_dump(mode="json"))
    engine.runner().wait(first["executionArn"])
    with pytest.raises(ClientError) as taken:
        _start(client, engine, state.run_id, {"other": "input"})
    assert taken.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    missing = first["executionArn"].rsplit(":", 1)[0] + ":no-such-execution"
    with pytest.raises(ClientError) as unknown:
        client.describe_execution(executionArn=missing)
    assert unknown.value.response["Error"]["Code"] == "ExecutionDoesNotExist"
    assert unknown.value.operation_name == "DescribeExecution"
