"""Choose the engine a run goes to; every engine is driven by the same ``WorkflowRunner``."""

from __future__ import annotations

import os
from typing import Any, Callable

from chalicelib.config import Settings
from chalicelib.errors import StateMachineNotFoundError, WorkflowError
from chalicelib.workflow.runner import WorkflowRunner


def _remote_runner(settings: Settings, endpoint_url: str | None) -> WorkflowRunner:
    import boto3

    credentials = {}
    if endpoint_url and not os.environ.get("AWS_ACCESS_KEY_ID"):
        credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}  # LocalStack accepts any
    sfn = boto3.client("stepfunctions", region_name=settings.region, endpoint_url=endpoint_url, **credentials)
    arn = settings.state_machine_arn
    if not arn:
        try:
            machines = sfn.list_state_machines().get("stateMachines", [])
        except Exception as exc:  # botocore raises many kinds for an unreachable endpoint
            raise WorkflowError(f"cannot reach Step Functions at {endpoint_url or 'AWS'}: {exc}") from None
        arn = next((m["stateMachineArn"] for m in machines if m["name"] == settings.state_machine_name), None)
    if not arn:
        raise StateMachineNotFoundError(
            f"no state machine named {settings.state_machine_name!r} on the {settings.engine} engine; "
            "deploy it first or set MAOO_STATE_MACHINE_ARN"
        )
    return WorkflowRunner(sfn, arn, poll_seconds=0.2)


def open_runner(settings: Settings, handlers: Callable[[], dict[str, Any]]) -> WorkflowRunner:
    """A runner for ``settings.engine``. ``handlers`` supplies the Lambda handlers for the embedded engine."""
    if settings.engine == "embedded":
        from chalicelib.workflow.embedded import get_embedded_engine

        engine = get_embedded_engine(settings, handlers())
        return engine.runner()
    if settings.engine == "localstack":
        return _remote_runner(settings, settings.localstack_url)
    return _remote_runner(settings, None)
