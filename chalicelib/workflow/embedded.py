"""The embedded engine: moto's Step Functions interpreter in this process, Lambda Tasks answered
by our handlers in-process. No Docker, no server, no network.

moto runs Lambda code only in Docker. With ``use_docker`` off its "simple" backend answers every
invoke with a canned payload; ``LambdaSimpleBackend.invoke`` is the seam we take over, routing the
call to the handler registered under the function's name. That seam is internal to moto, which is
why moto's version is pinned.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import traceback
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from chalicelib.config import Settings
from chalicelib.errors import MaooError
from chalicelib.workflow.definition import function_name_for, load_definition, placeholders, substitute
from chalicelib.workflow.runner import WorkflowRunner

Handler = Callable[[dict, Any], Any]
_MAX_ENDS_KEPT = 1024


@dataclass
class LambdaContext:
    """The part of Lambda's context object our handlers and Powertools use."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ""
    timeout_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


class EmbeddedEngine:
    """One moto Step Functions backend per process, with our state machine created in it."""

    def __init__(self, settings: Settings, handlers: dict[str, Handler]):
        self.settings = settings
        self.handlers = dict(handlers)
        self._by_function: dict[str, str] = {}
        self._mock: Any = None  # moto's mock_aws, while started
        self._patches: list[Any] = []
        self.state_machine_arn = ""  # set by start()
        self._sfn: Any = None  # a boto3 Step Functions client, once started
        self.unproven_features: list[str] = []  # why the definition-dependent speed-ups are off, if they are
        self._ends: dict[str, threading.Event] = {}
        self._ends_lock = threading.Lock()

    # -- lifecycle
    def start(self) -> EmbeddedEngine:
        from unittest import mock

        from chalicelib.workflow.deferred_imports import defer_package_init

        defer_package_init("moto.batch")  # before moto's interpreter imports it: see deferred_imports
        from moto import mock_aws
        from moto.awslambda_simple.models import LambdaSimpleBackend
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

        from chalicelib.workflow import interpreter_speedups

        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
        self._mock.start()
        engine = self

        def backend_invoke(backend, function_name, qualifier, body, headers, response_headers):
            return engine._backend_invoke(function_name, body, response_headers)

        def client_for(region: str, service: str, state_credentials: Any = None):
            return _InProcessLambdaClient(engine) if service == "lambda" else original_client_for(region, service, state_credentials)

        def terminated(communication):
            original_terminated(communication)
            engine._ended(communication.execution.exec_arn)

        definition = load_definition()
        self.unproven_features = interpreter_speedups.unproven_features(definition)
        original_client_for = lambda_eval_utils.boto_client_for
        original_terminated = BaseExecutionWorkerCommunication.terminated
        self._patches = [
            mock.patch.object(LambdaSimpleBackend, "invoke", backend_invoke),
            mock.patch.object(BaseExecutionWorkerCommunication, "terminated", terminated),
            mock.patch.object(lambda_eval_utils, "boto_client_for", client_for),
            *interpreter_speedups.patches(definition),
        ]
        for patch in self._patches:
            patch.start()
        if self.unproven_features:
            logging.getLogger("maoo").warning(
                "embedded engine: the definition uses %s; moto's deep copies and Task threads are kept for it",
                "; ".join(self.unproven_features))
        self._deploy()
        return self

    def stop(self) -> None:
        for patch in reversed(self._patches):
            patch.stop()
        self._patches = []
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    def __enter__(self) -> EmbeddedEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the state machine and its functions
    def client(self, service: str):
        import boto3

        return boto3.client(service, region_name=self.settings.region)

    def _deploy(self) -> None:
        lam = self.client("lambda")
        role = self.client("iam").create_role(
            RoleName=f"maoo-embedded-{uuid.uuid4().hex[:8]}",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        zipped = io.BytesIO()
        with zipfile.ZipFile(zipped, "w") as archive:
            archive.writestr("app.py", "# code runs in-process in the embedded engine\n")
        arns: dict[str, str] = {}
        for placeholder in sorted(placeholders()):
            name = function_name_for(placeholder)
            if name not in self.handlers:
                raise KeyError(f"the state machine needs function {name!r} (for ${{{placeholder}}}), which app.py does not declare")
            function_name = f"{self.settings.function_prefix}{name}"
            arns[placeholder] = lam.create_function(
                FunctionName=function_name, Runtime="python3.11", Role=role, Handler=f"app.{name}",
                Code={"ZipFile": zipped.getvalue()}, Timeout=60, MemorySize=256,
            )["FunctionArn"]
            self._by_function[function_name] = name
        definition = substitute(load_definition(), arns)
        self._sfn = self.client("stepfunctions")
        self.state_machine_arn = self._sfn.create_state_machine(
            name=self.settings.state_machine_name, definition=json.dumps(definition), roleArn=role,
        )["stateMachineArn"]

    def sfn(self):
        return self._sfn

    def runner(self) -> WorkflowRunner:
        """A runner on this engine that learns of an execution's end, and reads its history, from
        the interpreter itself."""
        return WorkflowRunner(self._sfn, self.state_machine_arn, max_poll_seconds=0.25,
                              until_ended=self.wait_for_end, read_history=self.read_history)

    def read_history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The events ``GetExecutionHistory`` returns for ``execution_arn``, read where moto keeps
        them. moto's response serialiser takes about 0.8 ms per event (0.3 s for a 20-step run's
        400 events); this read takes a few milliseconds for the same list, which
        ``tests/functional/test_document_flow.py`` compares with the API's, event by event."""
        from moto.stepfunctions.exceptions import ExecutionDoesNotExist
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        _, _, _, region, account, *_ = execution_arn.split(":") + [""] * 6
        try:
            execution = stepfunctions_parser_backends[account][region].describe_execution(execution_arn)
            worker = execution.exec_worker  # type: ignore[attr-defined]  # moto sets it outside __init__
        except (ExecutionDoesNotExist, KeyError):  # the API's own answer: the ClientError boto3 raises
            return WorkflowRunner(self._sfn, self.state_machine_arn).history(execution_arn)
        if worker is None or getattr(worker, "env", None) is None:  # not started: nothing recorded yet
            return []
        return [_as_api_event(event) for event in worker.env.event_manager.get_event_history()]

    # -- the end of an execution, without polling
    def _end_event(self, execution_arn: str) -> threading.Event:
        with self._ends_lock:
            return self._ends.setdefault(execution_arn, threading.Event())

    def _ended(self, execution_arn: str) -> None:
        """Seam 3, the interpreter thread's last act: the execution's status is final."""
        self._end_event(execution_arn).set()
        with self._ends_lock:  # executions nobody waited for (HTTP API runs) leave a set event behind
            if len(self._ends) > _MAX_ENDS_KEPT:
                for arn in [arn for arn, event in self._ends.items() if event.is_set()][: len(self._ends) // 2]:
                    del self._ends[arn]

    def wait_for_end(self, execution_arn: str, timeout_seconds: float) -> bool:
        """Block until the interpreter reports that ``execution_arn`` ended, or ``timeout_seconds``
        pass. Polling ``DescribeExecution`` instead took the GIL from the interpreter thread for
        about 3 ms per call (moto serialises the answer), slowing every state it overlapped."""
        ended = self._end_event(execution_arn).wait(timeout_seconds)
        if ended:
            with self._ends_lock:
                self._ends.pop(execution_arn, None)
        return ended

    # -- the seams: a Lambda invoke -> our handler
    def dispatch(self, function_name: str, payload: bytes | str | None) -> tuple[bytes, str | None]:
        """Run the handler behind ``function_name`` (a name or an ARN) on ``payload``.

        Returns ``(response payload, FunctionError or None)`` the way Lambda does: a handler that
        raises is an ``Unhandled`` function error whose ``errorType`` is the exception's class name.
        ``SimulatedServiceError`` escapes, for the caller to turn into Lambda's own service fault.
        """
        short = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        name = self._by_function.get(short)
        if name is None:
            return json.dumps({"errorType": "ResourceNotFoundException", "errorMessage": f"no function {short}"}).encode(), "Unhandled"
        event = json.loads(payload) if payload else {}
        context = LambdaContext(function_name=short, aws_request_id=str(uuid.uuid4()))
        try:
            result = self.handlers[name](event, context)
        except SimulatedServiceError:
            raise
        except Exception as exc:  # an unhandled error: what Lambda reports as FunctionError
            return json.dumps({
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc)[-3:],
            }).encode(), "Unhandled"
        return json.dumps(result).encode(), None

    def _backend_invoke(self, function_name: str, body: Any, response_headers: dict) -> bytes:
        """Seam 1, ``LambdaSimpleBackend.invoke``: serves any boto3 ``lambda.invoke`` made under the mock."""
        try:
            payload, error = self.dispatch(function_name, body)
        except SimulatedServiceError as exc:
            from moto.awslambda.exceptions import LambdaClientError

            raise LambdaClientError("ServiceException", str(exc)) from None
        if error:
            response_headers["x-amz-function-error"] = error
        return payload


def _as_api_event(event: dict[str, Any]) -> dict[str, Any]:
    """A history event as boto3 returns it: the timestamp as an aware ``datetime`` (moto keeps the
    ISO text it sends), and the event's keys in the API's order. Inside an event's details the
    keys keep moto's order, which may differ from boto3's; the values are the same."""
    stamp = event["timestamp"]
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    head: dict[str, Any] = {"timestamp": stamp, **{key: event[key] for key in ("type", "id", "previousEventId") if key in event}}
    return {**head, **{key: value for key, value in event.items() if key not in head}}


class _InProcessLambdaClient:
    """Seam 2: the Lambda client moto's interpreter uses for ``lambda:invoke`` Tasks.

    The same answer as seam 1 without serialising each call through botocore and moto's HTTP
    layer, which cost several milliseconds per Task state.
    """

    def __init__(self, engine: EmbeddedEngine):
        self.engine = engine

    def invoke(self, FunctionName: str, Payload: bytes | str | None = None, **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's names
        try:
            payload, error = self.engine.dispatch(FunctionName, Payload)
        except SimulatedServiceError as exc:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ServiceException", "Message": str(exc)},
                               "ResponseMetadata": {"HTTPStatusCode": 500, "RequestId": str(uuid.uuid4())}}, "Invoke") from None
        response: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": io.BytesIO(payload)}
        if error:
            response["FunctionError"] = error
        return response


class SimulatedServiceError(MaooError):
    """Raised by a handler (in tests and drills) to make the invoke fail as Lambda's own service
    fault, ``Lambda.ServiceException``, which the state machine's native Retry handles."""


_engine: EmbeddedEngine | None = None
_engine_lock = threading.Lock()


def get_embedded_engine(settings: Settings, handlers: dict[str, Handler]) -> EmbeddedEngine:
    """The process's embedded engine, started on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = EmbeddedEngine(settings, handlers).start()
        return _engine


def reset_embedded_engine() -> None:
    global _engine
    with _engine_lock:
        if _engine is not None:
            _engine.stop()
        _engine = None
