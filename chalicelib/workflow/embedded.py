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
import threading
import traceback
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any, Callable

from chalicelib.config import Settings
from chalicelib.workflow.definition import function_name_for, load_definition, placeholders, substitute

ACCOUNT_ID = "123456789012"
Handler = Callable[[dict, Any], Any]


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
        self._mock = None
        self._patch = None
        self.state_machine_arn: str | None = None
        self._sfn = None

    # -- lifecycle
    def start(self) -> EmbeddedEngine:
        from unittest import mock

        from moto import mock_aws
        from moto.awslambda_simple.models import LambdaSimpleBackend

        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
        self._mock.start()
        engine = self

        def invoke(backend, function_name, qualifier, body, headers, response_headers):
            return engine._invoke(function_name, body, response_headers)

        self._patch = mock.patch.object(LambdaSimpleBackend, "invoke", invoke)
        self._patch.start()
        self._deploy()
        return self

    def stop(self) -> None:
        if self._patch is not None:
            self._patch.stop()
            self._patch = None
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

    # -- the seam: moto's Lambda invoke -> our handler
    def _invoke(self, function_name: str, body: Any, response_headers: dict) -> bytes:
        short = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        name = self._by_function.get(short)
        if name is None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": "ResourceNotFoundException", "errorMessage": f"no function {short}"}).encode()
        event = json.loads(body) if body else {}
        context = LambdaContext(function_name=short, aws_request_id=str(uuid.uuid4()))
        try:
            result = self.handlers[name](event, context)
        except SimulatedServiceError as exc:
            from moto.awslambda.exceptions import LambdaClientError

            raise LambdaClientError("ServiceException", str(exc)) from None
        except Exception as exc:  # an unhandled error: what Lambda reports as FunctionError
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc)[-3:],
            }).encode()
        return json.dumps(result).encode()


class SimulatedServiceError(Exception):
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
