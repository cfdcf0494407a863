"""Deploy a packaged template as a CloudFormation stack: what ``aws cloudformation package`` and
``aws cloudformation deploy`` do, for the targets we drive from Python (LocalStack).

1. ``upload_artifacts``: each ``CodeUri`` that names a local file (chalice writes
   ``./deployment.zip``) is uploaded to a bucket under its SHA-256, and the template points at it;
   the template itself goes there too (it is near CloudFormation's 51,200-byte limit for a body).
2. ``deploy_stack``: ``create_stack``, or ``update_stack`` when the stack exists,
   then waits for the end state (a stack whose first creation failed is deleted first: it cannot
   be updated). A failure raises ``StackFailedError`` carrying the stack's events of this attempt,
   for the caller to print.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.errors import MaooError

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]  # the template is SAM
POLL_SECONDS = 1.0
STACK_TIMEOUT_SECONDS = 600.0
_NO_UPDATES = "No updates are to be performed"
# a first creation that failed leaves a stack that can only be deleted
_NOT_UPDATABLE = ("ROLLBACK_COMPLETE", "CREATE_FAILED", "ROLLBACK_FAILED")


class StackError(MaooError):
    """The stack could not be created or updated; the message says why."""


class StackFailedError(StackError):
    """The stack ended in a failed or rolled-back state; ``events`` tell which resource failed and why."""

    def __init__(self, message: str, events: list[dict[str, Any]]):
        super().__init__(message)
        self.events = events


@dataclass
class StackResult:
    name: str
    action: str  # created | updated | unchanged
    status: str
    outputs: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_bucket(s3: Any, bucket: str) -> None:
    """Create ``bucket`` unless it exists (in us-east-1, which takes no location constraint)."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        region = s3.meta.region_name
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **extra)


def upload_artifacts(template: dict[str, Any], base_dir: Path, s3: Any, bucket: str) -> dict[str, Any]:
    """A copy of ``template`` whose local ``CodeUri`` files are uploaded to ``bucket``; each file once."""
    uploaded: dict[Path, dict[str, str]] = {}
    result = json.loads(json.dumps(template))
    for resource in result.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        code = properties.get("CodeUri")
        if not isinstance(code, str) or code.startswith("s3://"):
            continue
        path = (base_dir / code).resolve()
        if not path.is_file():
            raise StackError(f"the template's CodeUri {code!r} names no file in {base_dir}")
        if path not in uploaded:
            key = f"artifacts/{_sha256(path)}{path.suffix}"
            s3.upload_file(str(path), bucket, key)
            uploaded[path] = {"Bucket": bucket, "Key": key}
        properties["CodeUri"] = dict(uploaded[path])
    return result


def upload_template(template: dict[str, Any], s3: Any, bucket: str, endpoint: str) -> str:
    """Put the template into ``bucket``; its URL for ``TemplateURL`` (path style, on ``endpoint``)."""
    body = json.dumps(template, indent=1).encode()
    key = f"templates/{hashlib.sha256(body).hexdigest()}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return f"{endpoint.rstrip('/')}/{bucket}/{key}"


def _stack(cfn: Any, name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def events_since(cfn: Any, name: str, since: float) -> list[dict[str, Any]]:
    """The stack's events from ``since`` (epoch seconds) on, oldest first."""
    events: list[dict[str, Any]] = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=name):
        for event in page["StackEvents"]:
            if event["Timestamp"].timestamp() >= since - 1:
                events.append(event)
    return sorted(events, key=lambda e: e["Timestamp"])


def _wait(cfn: Any, name: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stack = _stack(cfn, name)
        if stack is None or not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack or {"StackStatus": "DELETE_COMPLETE"}
        if time.monotonic() > deadline:
            raise StackError(f"stack {name} is still {stack['StackStatus']} after {timeout:g} s")
        time.sleep(POLL_SECONDS)


def deploy_stack(
    cfn: Any,
    name: str,
    template_url: str,
    parameters: dict[str, str],
    *,
    echo: Callable[[str], None] = lambda _: None,
    timeout: float = STACK_TIMEOUT_SECONDS,
) -> StackResult:
    """Create or update stack ``name`` from ``template_url`` and wait for the end state."""
    from botocore.exceptions import ClientError

    began, started = time.monotonic(), time.time()
    arguments: dict[str, Any] = {
        "ClientRequestToken": f"maoo-{uuid.uuid4()}",  # a retried request is the same request
        "StackName": name,
        "TemplateURL": template_url,
        "Capabilities": CAPABILITIES,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())],
    }
    current = _stack(cfn, name)
    if current is not None and current["StackStatus"] in _NOT_UPDATABLE:
        echo(f"stack {name} is {current['StackStatus']} from an earlier attempt: deleting it first")
        cfn.delete_stack(StackName=name)
        _wait(cfn, name, timeout)
        current = None
    try:
        if current is None:
            cfn.create_stack(**arguments)
            action = "created"
        else:
            cfn.update_stack(**arguments)
            action = "updated"
    except ClientError as exc:
        if _NO_UPDATES in str(exc):
            return StackResult(
                name,
                "unchanged",
                current["StackStatus"] if current else "",
                _outputs(current or {}),
                seconds=time.monotonic() - began,
            )
        raise StackError(
            f"CloudFormation refused the template for stack {name}: "
            f"{exc.response['Error'].get('Message', exc)}"
        ) from None
    echo(f"stack {name}: {'create' if action == 'created' else 'update'} started, waiting")
    stack = _wait(cfn, name, timeout)
    status = stack["StackStatus"]
    events = events_since(cfn, name, started) if status != "DELETE_COMPLETE" else []
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise StackFailedError(f"stack {name} ended {status}", events)
    return StackResult(name, action, status, _outputs(stack), events, time.monotonic() - began)


def _outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def failure_lines(events: list[dict[str, Any]]) -> list[str]:
    """One line per failed resource event: ``logical id  status  reason``."""
    return [
        f"{e['LogicalResourceId']}  {e['ResourceStatus']}  {e.get('ResourceStatusReason', '')}".rstrip()
        for e in events
        if e["ResourceStatus"].endswith("_FAILED")
    ]
