"""Choose the engine a run goes to; every engine is driven by the same ``WorkflowRunner``.

The embedded engine is not Lambda code and does not live in ``chalicelib``: a caller that can run
it (the CLI, ``chalice local`` through ``app.py``, the eval, the benchmark) passes its factory,
``embedded_engine.open_embedded_runner``, as ``embedded``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import StateMachineNotFoundError, WorkflowError
from chalicelib.workflow.sfn_runner import WorkflowRunner

EmbeddedFactory = Callable[[Settings, dict[str, Any]], WorkflowRunner]


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
    from chalicelib.workflow import express

    return WorkflowRunner(
        sfn, arn, poll_seconds=0.2, express=express.describe if settings.workflow_type == "express" else None
    )


def open_runner(
    settings: Settings, handlers: Callable[[], dict[str, Any]], embedded: EmbeddedFactory | None = None
) -> WorkflowRunner:
    """A runner for ``settings.engine``. ``handlers`` supplies the Lambda handlers and ``embedded``
    the runner factory for the embedded engine; without a factory that engine is refused."""
    if settings.engine == "embedded":
        if embedded is None:
            raise WorkflowError(
                "the embedded engine is not available here (it is not part of the Lambda package); "
                "set MAOO_ENGINE=localstack or aws, or run through the CLI or chalice local"
            )
        return embedded(settings, handlers())
    if settings.engine == "localstack":
        return _remote_runner(settings, settings.localstack_url)
    return _remote_runner(settings, None)
