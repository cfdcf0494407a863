"""The runner with an engine's shortcuts: it waits on the engine's word, still trusts only
``DescribeExecution`` for the status, and gives up at its deadline."""

from __future__ import annotations

import pytest

from chalicelib.errors import WorkflowError
from chalicelib.workflow.sfn_runner import WorkflowRunner
from embedded_engine import EmbeddedEngine

ARN = "arn:aws:states:us-east-1:123456789012:execution:maoo:run-1"


class FakeSfn:
    def __init__(self, statuses: list[str]):
        self.statuses = list(statuses)
        self.describes = 0
        self.history_pages = 0

    def describe_execution(self, executionArn: str) -> dict:  # noqa: N803 - boto3's name
        self.describes += 1
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"executionArn": executionArn, "status": status}

    def get_execution_history(self, **kwargs) -> dict:
        self.history_pages += 1
        return {"events": [{"id": 1, "type": "ExecutionStarted"}]}


def test_the_runner_waits_for_the_engine_s_word_before_asking_for_the_status():
    sfn, waits = FakeSfn(["SUCCEEDED"]), []
    runner = WorkflowRunner(
        sfn, "sm", max_poll_seconds=0.25, until_ended=lambda arn, seconds: waits.append((arn, seconds))
    )

    assert runner.wait(ARN)["status"] == "SUCCEEDED"
    assert waits == [(ARN, 0.25)] and sfn.describes == 1


def test_an_engine_s_word_that_came_too_early_is_checked_and_waited_on_again():
    sfn, waits = FakeSfn(["RUNNING", "RUNNING", "SUCCEEDED"]), []
    runner = WorkflowRunner(sfn, "sm", until_ended=lambda arn, seconds: waits.append(arn))

    assert runner.wait(ARN)["status"] == "SUCCEEDED"
    assert sfn.describes == 3 and len(waits) == 3


def test_an_execution_that_never_ends_fails_the_wait_at_its_deadline_naming_its_status():
    runner = WorkflowRunner(FakeSfn(["RUNNING"]), "sm", until_ended=lambda arn, seconds: None)

    with pytest.raises(WorkflowError, match=r"still RUNNING after 0 s"):
        runner.wait(ARN, timeout_seconds=0)


def test_an_engine_s_history_read_replaces_the_api_call():
    sfn = FakeSfn(["SUCCEEDED"])
    runner = WorkflowRunner(
        sfn, "sm", read_history=lambda arn: [{"id": 1, "type": "ExecutionStarted", "from": arn}]
    )

    assert runner.history(ARN) == [{"id": 1, "type": "ExecutionStarted", "from": ARN}]
    assert sfn.history_pages == 0
    assert (
        WorkflowRunner(sfn, "sm").history(ARN) == [{"id": 1, "type": "ExecutionStarted"}]
        and sfn.history_pages == 1
    )


def test_the_engine_forgets_ends_nobody_waited_for_but_answers_a_waiter_at_once():
    engine = EmbeddedEngine(settings=None, handlers={})
    for number in range(3000):
        engine._ended(f"{ARN}-{number}")

    assert len(engine._ends) <= 1025
    engine._ended(ARN)
    assert engine.wait_for_end(ARN, 5.0) is True and ARN not in engine._ends
    assert engine.wait_for_end(f"{ARN}-never", 0.0) is False
