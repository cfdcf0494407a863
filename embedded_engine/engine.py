"""The embedded engine: moto's Step Functions interpreter in this process, Lambda Tasks answered
by our handlers in-process. No Docker, no server, no network.

moto runs Lambda code only in Docker. Its interpreter asks ``lambda_eval_utils.boto_client_for``
for the client its ``lambda:invoke`` Tasks call; that is the seam we take over, answering with a
client that calls the handler registered under the function's name. The seam is internal to
moto, which is why moto's version is pinned and checked when the engine starts.
"""

from __future__ import annotations

import gc
import io
import json
import logging
import os
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import MaooError
from chalicelib.workflow.definition import function_name_for, load_definition, placeholders, substitute
from chalicelib.workflow.express import describe as express_describe
from chalicelib.workflow.sfn_runner import WorkflowRunner
from embedded_engine.shared_payloads import PayloadBytes

Handler = Callable[[dict, Any], Any]
_MAX_ENDS_KEPT = 1024
# The engine's start leaves about 160,000 objects that live as long as the process (moto's modules,
# the parsed definition, the handlers' modules), and every full collection of the cyclic garbage
# collector scanned them all again. ``gc.freeze()`` at the end of the start moves them out of the
# collector's generations; what runs create is collected as before.
_FROZEN = "gc.freeze() after start"


@dataclass
class LambdaContext:
    """The part of Lambda's context object our handlers and Powertools use."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ""
    timeout_ms: int = 60_000
    deadline_at: float | None = None  # the run's deadline (epoch seconds), when the event names it

    def get_remaining_time_in_millis(self) -> int:
        """The run's real deadline where the event gives it (a tool call), else the function timeout:
        an idempotency record a killed call left in progress expires when the run's time is up."""
        if self.deadline_at is None:
            return self.timeout_ms
        return max(0, int((self.deadline_at - time.time()) * 1000))


class EmbeddedEngine:
    """One moto Step Functions backend per process, with our state machine created in it."""

    keep_finished = 0  # finished executions kept after their run is stored (see ``forget``)

    def __init__(self, settings: Settings, handlers: dict[str, Handler]):
        self.settings = settings
        self.handlers = dict(handlers)
        self._by_function: dict[str, str] = {}
        self._mock: Any = None  # moto's mock_aws, while started
        self._patches: list[Any] = []
        self.state_machine_arn = ""  # set by start()
        self._sfn: Any = None  # the runner's Step Functions client (a BackendClient), once started
        self.unproven_features: list[str] = []  # why the definition-dependent speed-ups are off, if they are
        self._ends: dict[str, threading.Event] = {}
        self._ends_lock = threading.Lock()
        self._finished: deque[str] = deque()
        self._text: Any = None  # the interpreter's HistoryText, once started
        self._texts_read: dict[str, list[str]] = {}  # an execution's documents' text, read and not yet let go
        self._cache_dir: Path | None = None
        self.account = ""

    # -- lifecycle
    def start(self) -> EmbeddedEngine:
        from unittest import mock

        from embedded_engine.deferred_imports import defer_package_init

        defer_package_init("moto.batch")  # before moto's interpreter imports it: see deferred_imports
        from moto import mock_aws

        from embedded_engine.moto_version import check_moto_version

        moto_version = check_moto_version()  # before any patch: the seams below are internal to this version
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

        from chalicelib import engine_seam
        from embedded_engine import interpreter_speedups, state_documents
        from embedded_engine.definition_cache import DefinitionCache

        self._mock = mock_aws(
            config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        )
        self._mock.start()
        engine = self

        def client_for(region: str, service: str, state_credentials: Any = None):
            return (
                _InProcessLambdaClient(engine)
                if service == "lambda"
                else original_client_for(region, service, state_credentials)
            )

        def terminated(communication):
            original_terminated(communication)
            engine._ended(communication.execution.exec_arn)

        definition = load_definition()
        self.unproven_features = interpreter_speedups.unproven_features(definition)
        self._cache_dir = self.settings.runtime_dir / "cache" if self.settings else None
        cache = DefinitionCache(self._cache_dir, moto_version) if self._cache_dir else None
        original_client_for = lambda_eval_utils.boto_client_for
        original_terminated = BaseExecutionWorkerCommunication.terminated
        self._patches = [
            mock.patch.object(BaseExecutionWorkerCommunication, "terminated", terminated),
            mock.patch.object(lambda_eval_utils, "boto_client_for", client_for),
            *interpreter_speedups.patches(definition, cache),
        ]
        if self._cache_dir is not None:  # moto's serialiser loads its service models through this
            from moto.core import utils as moto_utils

            from embedded_engine.service_models import moto_models

            self._patches.append(
                mock.patch.object(moto_utils, "create_loader", moto_models(self._cache_dir, moto_version))
            )
        for patch in self._patches:
            patch.start()
        from embedded_engine.history_text import HistoryText

        # the interpreter's writer of history text: it hands a run's trace the documents it wrote
        self._text = next(
            (p.new for p in self._patches if isinstance(getattr(p, "new", None), HistoryText)), None
        )
        # the handlers pass on the parts of a state its Task left as they were (see shared_payloads)
        engine_seam.install_document_writer(state_documents.write)
        if self.unproven_features:
            logging.getLogger("maoo").warning(
                "embedded engine: the definition uses %s; moto's deep copies and Task threads are kept for it",
                "; ".join(self.unproven_features),
            )
        self._deploy()
        gc.freeze()  # see _FROZEN
        return self

    def stop(self) -> None:
        from chalicelib import engine_seam

        engine_seam.install_document_writer(None)
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
    def _backend(self, region: str | None = None, account: str | None = None) -> Any:
        """moto's Step Functions backend, the object its API handlers call."""
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        return stepfunctions_parser_backends[account or self.account][region or self.settings.region]

    def _deploy(self) -> None:
        """Create the state machine in moto's backend, each placeholder bound to a function ARN.

        No Lambda function or IAM role is created in moto: the interpreter's ``lambda:invoke``
        Tasks reach our handlers through seam 2 by the function's name, and nothing else invokes
        a function. The state machine is created with the backend call moto's own
        ``CreateStateMachine`` handler makes (the definition is validated the same way), saving a
        client and a round trip through botocore and moto's HTTP layer. The runner's client answers
        StartExecution and DescribeExecution the same way (``BackendClient``), and creates a boto3
        client for anything else."""
        from moto.core.models import DEFAULT_ACCOUNT_ID

        from embedded_engine.backend_client import BackendClient

        self.account = os.environ.get("MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID
        region = self.settings.region
        arns: dict[str, str] = {}
        for placeholder in sorted(placeholders()):
            name = function_name_for(placeholder)
            if name not in self.handlers:
                raise KeyError(
                    f"the state machine needs function {name!r} (for ${{{placeholder}}}), which app.py does not declare"
                )
            function_name = f"{self.settings.function_prefix}{name}"
            arns[placeholder] = f"arn:aws:lambda:{region}:{self.account}:function:{function_name}"
            self._by_function[function_name] = name
        definition = substitute(load_definition(), arns)
        self.state_machine_arn = (
            self._backend()
            .create_state_machine(
                name=self.settings.state_machine_name,
                definition=json.dumps(definition),
                roleArn=f"arn:aws:iam::{self.account}:role/maoo-embedded",
                sm_type=self.settings.workflow_type.upper(),  # the template's WorkflowType
            )
            .arn
        )
        self._sfn = BackendClient(self._backend, self._boto3_client)

    def _boto3_client(self) -> Any:
        """A boto3 Step Functions client on moto, for the calls ``BackendClient`` passes on."""
        import boto3
        import botocore.session

        session = botocore.session.get_session()
        if self._cache_dir is not None:
            from embedded_engine.service_models import BotocoreModels

            session.register_component("data_loader", BotocoreModels(self._cache_dir))
        return boto3.session.Session(botocore_session=session, region_name=self.settings.region).client(
            "stepfunctions"
        )

    def sfn(self):
        """The Step Functions client the runner uses (``BackendClient``)."""
        return self._sfn

    def runner(self) -> WorkflowRunner:
        """A runner on this engine that learns of an execution's end, and reads its history, from
        the interpreter itself."""
        return WorkflowRunner(
            self._sfn,
            self.state_machine_arn,
            max_poll_seconds=0.25,
            until_ended=self.wait_for_end,
            read_history=self.read_history,
            forget=self.forget,
            express=express_describe if self.settings.workflow_type == "express" else None,
            documents=self._text.value_of if self._text is not None else None,
        )

    # -- forgetting finished executions
    def forget(self, execution_arn: str) -> None:
        """Drop a finished execution whose run document and trace are stored: from moto's backend
        (its history, input and output with it) and from the end events. The newest
        ``keep_finished`` are kept (none by default; tests that read moto's own history raise it)."""
        with self._ends_lock:
            self._ends.pop(execution_arn, None)
            self._finished.append(execution_arn)
            texts = self._texts_read.pop(execution_arn, [])
            dropping = []
            while len(self._finished) > self.keep_finished:
                dropping.append(self._finished.popleft())
        if self._text is not None:  # its trace is stored: the documents kept for it are not needed
            self._text.let_go(texts)
        for arn in dropping:
            self._drop_execution(arn)

    def forget_ended(self) -> int:
        """Let go of every execution that has ended and that nobody collected (a runner that never
        read its end, an execution started straight on the client); returns how many. What a run's
        finish keeps on purpose (``keep_finished``) stays."""
        with self._ends_lock:
            ended = [arn for arn, event in self._ends.items() if event.is_set()]
        for arn in ended:
            self.forget(arn)
        with self._ends_lock:
            kept = list(self._finished)
            self._finished.clear()
        for arn in kept:
            self._drop_execution(arn)
        return len(ended)

    def _drop_execution(self, execution_arn: str) -> None:
        _, _, _, region, account, *_ = execution_arn.split(":") + [""] * 6
        try:
            machines = list(self._backend(region, account).state_machines)
        except KeyError:
            return
        for machine in machines:
            for execution in list(machine.executions):
                if execution.execution_arn == execution_arn:
                    try:
                        machine.executions.remove(
                            execution
                        )  # one list operation: safe beside start_execution
                    except ValueError:
                        pass
                    return

    def held(self) -> dict[str, int]:
        """What the engine holds now: executions in moto's backend, end events not yet collected,
        and finished executions kept on purpose (``keep_finished``)."""
        machines = list(self._backend().state_machines) if self.state_machine_arn else []
        with self._ends_lock:
            return {
                "executions": sum(len(m.executions) for m in machines),
                "end_events": len(self._ends),
                "kept_finished": len(self._finished),
            }

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
        manager = worker.env.event_manager
        # moto's own read deep-copies every event's text (a pickle round trip): copy the events only
        with manager._mutex:
            events = [_copied(event) for event in manager._history_event_list]
        with self._ends_lock:  # the documents kept for this execution, let go when it is forgotten
            self._texts_read[execution_arn] = [
                text
                for event in events
                for details in event.values()
                if type(details) is dict
                for field in ("input", "output", "parameters")
                if type(text := details.get(field)) is str
            ]
            while len(self._texts_read) > _MAX_ENDS_KEPT:  # read by someone who never let go: bounded
                self._texts_read.pop(next(iter(self._texts_read)))
        return [_as_api_event(event) for event in events]

    # -- the end of an execution, without polling
    def _end_event(self, execution_arn: str) -> threading.Event:
        with self._ends_lock:
            return self._ends.setdefault(execution_arn, threading.Event())

    def _ended(self, execution_arn: str) -> None:
        """Seam 3, the interpreter thread's last act: the execution's status is final."""
        self._end_event(execution_arn).set()
        with self._ends_lock:  # executions nobody waited for (HTTP API runs) leave a set event behind
            if len(self._ends) > _MAX_ENDS_KEPT:
                for arn in [arn for arn, event in self._ends.items() if event.is_set()][
                    : len(self._ends) // 2
                ]:
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
        result, error = self.call(function_name, payload)
        return (result, error) if error else (json.dumps(result).encode(), None)

    def call(self, function_name: str, payload: bytes | str | None) -> tuple[Any, str | None]:
        """``dispatch``, with a handler's answer as the object it returned (its error, as bytes)."""
        short = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        name = self._by_function.get(short)
        if name is None:
            return json.dumps(
                {"errorType": "ResourceNotFoundException", "errorMessage": f"no function {short}"}
            ).encode(), "Unhandled"
        # a payload moto wrote from a document carries it (``shared_payloads``): the handler gets that
        # document itself, as parsing the bytes would give it; handlers never change their event
        event = (
            payload.document if isinstance(payload, PayloadBytes) else json.loads(payload) if payload else {}
        )
        deadline = event.get("deadline_at") if isinstance(event, dict) else None
        context = LambdaContext(
            function_name=short,
            aws_request_id=str(uuid.uuid4()),
            deadline_at=float(deadline) if isinstance(deadline, (int, float)) else None,
        )
        try:
            return self.handlers[name](event, context), None
        except SimulatedServiceError:
            raise
        except Exception as exc:  # an unhandled error: what Lambda reports as FunctionError
            return json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exception(exc)[-3:],
                }
            ).encode(), "Unhandled"


def _copied(value: Any) -> Any:
    """A history event's dicts and lists copied, its text and other values shared: the text is the
    engine's own (``HistoryText.value_of`` knows it by identity) and is never changed."""
    if type(value) is dict:
        return {key: _copied(item) for key, item in value.items()}
    if type(value) is list:
        return [_copied(item) for item in value]
    return value


def _as_api_event(event: dict[str, Any]) -> dict[str, Any]:
    """A history event as boto3 returns it: the timestamp as an aware ``datetime`` (moto keeps the
    ISO text it sends), and the event's keys in the API's order. Inside an event's details the
    keys keep moto's order, which may differ from boto3's; the values are the same."""
    stamp = event["timestamp"]
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    head: dict[str, Any] = {
        "timestamp": stamp,
        **{key: event[key] for key in ("type", "id", "previousEventId") if key in event},
    }
    return {**head, **{key: value for key, value in event.items() if key not in head}}


class _InProcessLambdaClient:
    """Seam 2: the Lambda client moto's interpreter uses for ``lambda:invoke`` Tasks.

    Lambda's answer without serialising each call through botocore and moto's HTTP layer, which
    cost several milliseconds per Task state.
    """

    def __init__(self, engine: EmbeddedEngine):
        self.engine = engine

    def invoke(self, FunctionName: str, Payload: bytes | str | None = None, **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's names
        try:
            result, error = self.engine.call(FunctionName, Payload)
        except SimulatedServiceError as exc:
            from botocore.exceptions import ClientError

            raise ClientError(
                {
                    "Error": {"Code": "ServiceException", "Message": str(exc)},
                    "ResponseMetadata": {"HTTPStatusCode": 500, "RequestId": str(uuid.uuid4())},
                },
                "Invoke",
            ) from None
        stream: io.BytesIO | None = None
        if not error and isinstance(Payload, PayloadBytes):  # see shared_payloads
            stream = Payload.sharing.answer(Payload.document, result)
        if stream is None:
            stream = io.BytesIO(result if error else json.dumps(result).encode())
        response: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": stream}
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


def open_embedded_runner(settings: Settings, handlers: dict[str, Handler]) -> WorkflowRunner:
    """The factory ``chalicelib.workflow.engines.open_runner`` takes for the ``embedded`` engine:
    a runner on the process's engine, started on first use."""
    return get_embedded_engine(settings, handlers).runner()


def reset_embedded_engine() -> None:
    global _engine
    with _engine_lock:
        if _engine is not None:
            _engine.stop()
        _engine = None
