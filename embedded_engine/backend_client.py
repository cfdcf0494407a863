"""The Step Functions client the runner gets from the embedded engine.

``WorkflowRunner`` drives every engine with the same boto3 calls. On the embedded engine two of
them run on every run: ``StartExecution`` and ``DescribeExecution``. Through a boto3 client each
is a round trip through botocore's serialiser, moto's HTTP layer and its response serialiser:
about 4.5 ms and 2.3 ms here, a sixth of a short run. ``BackendClient`` answers those two from
moto's backend, with the body moto's own handler builds for them and boto3's types (aware
``datetime`` values); a refusal is the ``ClientError`` boto3 raises, with the same code and message.
Every other call goes to a boto3 client, created on first use, so that an engine that is only asked
to run executions never creates one.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

_ENDED = ("SUCCEEDED", "ABORTED", "FAILED")


class BackendClient:
    """``start_execution`` and ``describe_execution`` from ``backend()``; the rest from ``client()``."""

    def __init__(self, backend: Callable[[], Any], client: Callable[[], Any]):
        self._backend = backend
        self._client_factory = client
        self._client: Any = None
        self._lock = threading.Lock()

    def boto3_client(self) -> Any:
        """The boto3 Step Functions client for every other call, created on first use."""
        with self._lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.boto3_client(), name)

    def start_execution(
        self,
        stateMachineArn: str,  # noqa: N803 - boto3's names
        name: str | None = None,
        input: str | None = None,  # noqa: A002 - boto3's name
        **extra: Any,
    ) -> dict[str, Any]:
        if extra:  # a parameter this shortcut does not pass on: boto3 and moto handle it
            return self.boto3_client().start_execution(
                stateMachineArn=stateMachineArn, name=name, input=input, **extra
            )
        execution = _answer(
            "StartExecution",
            lambda: self._backend().start_execution(stateMachineArn, name, "{}" if input is None else input),
        )
        return _response({"executionArn": execution.execution_arn, "startDate": execution.start_date})

    def describe_execution(self, executionArn: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        execution = _answer("DescribeExecution", lambda: self._backend().describe_execution(executionArn))
        status = execution.status
        body: dict[str, Any] = {
            "executionArn": executionArn,
            "input": execution.execution_input,
            "name": execution.name,
            "startDate": execution.start_date,
            "stateMachineArn": execution.state_machine_arn,
            "status": status,
        }
        if status in _ENDED:
            body["stopDate"] = execution.stop_date
        if status == "SUCCEEDED":
            output = execution.output
            if isinstance(output, str):
                body["output"] = output
            elif output is not None:
                body["output"] = json.dumps(output)
            body["outputDetails"] = execution.output_details
        if execution.error is not None:
            body["error"] = execution.error
        if execution.cause is not None:
            body["cause"] = execution.cause
        return _response(body)


def _answer(operation: str, call: Callable[[], Any]) -> Any:
    """``call()``, with moto's refusals raised as the ``ClientError`` boto3 would raise."""
    from moto.core.exceptions import JsonRESTError

    try:
        return call()
    except JsonRESTError as exc:  # moto's AWS errors, the parser's included
        code = exc.error_type or type(exc).__name__
        status = exc.code if isinstance(exc.code, int) else getattr(exc, "status_code", 400)
        raise _client_error(operation, code, exc.message, status) from None


def _client_error(operation: str, code: str, message: str, status: int) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4())},
        },
        operation,
    )


def _response(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as boto3 returns it: no empty members, times as aware ``datetime`` values."""
    answer = {key: _as_boto3(value) for key, value in body.items() if value is not None}
    answer["ResponseMetadata"] = {"HTTPStatusCode": 200, "RetryAttempts": 0}
    return answer


def _as_boto3(value: Any) -> Any:
    if isinstance(value, str) or not hasattr(value, "isoformat"):
        return dict(value) if isinstance(value, dict) else value
    return value if value.tzinfo is not None else datetime.fromisoformat(value.isoformat() + "+00:00")
