"""``python -m cli deploy --target localstack``: the packaged template, via LocalStack's CloudFormation.

What goes to LocalStack is what goes to AWS: ``deploy.package.package`` (``make package``'s step:
chalice package, the merge template, the ASL bound by ``DefinitionSubstitutions``), deployed as
the stack ``maoo-<stage>`` by ``deploy.cloudformation``. This module does only what CloudFormation
cannot:

- ask LocalStack what it can run (``/_localstack/health`` and ``/_localstack/info``) and set the
  template's two parameters from that: its host runtime (no Docker) has no DynamoDB and cannot run
  a Python Lambda, so there ``DeployTables=false`` and ``DeployFunctions=false``; LocalStack in
  Docker (``localstack-compose.yml``) deploys the whole template;
- make the LocalStack session (``localstack_session``): localstack-client points every client at
  the endpoint; ``Config(inject_host_prefix=False)`` keeps botocore from prefixing hosts such as
  Step Functions' ``sync-`` (TestState), which an IP endpoint cannot resolve;
- the bucket for the code and the template (``aws cloudformation package`` does that on AWS).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalicelib.errors import MaooError
from deploy.cloudformation import StackResult

TARGETS = ("localstack",)
DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
DEFAULT_STAGE = "localstack"
REGION = "us-east-1"
ALWAYS_NEEDED = ("cloudformation", "s3", "iam", "sts", "stepfunctions", "logs")
_ABSENT = ("disabled", "error")
START_HOST = "`scripts/localstack_runtime.sh start --services " + ",".join(ALWAYS_NEEDED + ("lambda",)) + "`"


class DeployError(MaooError, RuntimeError):
    """The deployment could not be made; the message says what and what to do."""


class EndpointError(DeployError):
    """The endpoint cannot take the deployment: nothing answers, or it lacks a service."""


class EndpointUnreachableError(EndpointError):
    """Nothing answers at the endpoint."""


class UnknownStageError(DeployError):
    """The stage is not in ``.chalice/config.json``."""


class ParameterError(DeployError):
    """A ``--parameter`` that is not one of the template's, or not one of its values."""


@dataclass
class LocalStackInfo:
    services: dict[str, str]
    in_docker: bool

    def has(self, service: str) -> bool:
        return self.services.get(service, "disabled") not in _ABSENT


@dataclass
class Deployment:
    endpoint: str
    stage: str
    stack: StackResult
    parameters: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    mock_api_url: str | None = None
    seconds: float = 0.0

    @property
    def state_machine_arn(self) -> str | None:
        return self.stack.outputs.get("StateMachineArn")


# ---------------------------------------------------------------- the endpoint


def _get_json(url: str, timeout: float) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            document = json.load(response)
    except urllib.error.HTTPError:
        return None
    except (ValueError, AttributeError):
        return None
    return document if isinstance(document, dict) else None


def probe(endpoint: str, timeout: float = 5.0) -> LocalStackInfo | None:
    """What LocalStack at ``endpoint`` runs; ``None`` when something answers that is not LocalStack.

    Raises ``EndpointUnreachableError`` when nothing answers.
    """
    base = endpoint.rstrip("/")
    try:
        health = _get_json(f"{base}/_localstack/health", timeout)
        info = _get_json(f"{base}/_localstack/info", timeout) or {}
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EndpointUnreachableError(
            f"nothing answers at {endpoint} ({reason}). Start LocalStack first: {START_HOST} "
            "(the host runtime) or `docker compose -f localstack-compose.yml up -d localstack`, "
            "or pass --endpoint"
        ) from None
    if health is None or not isinstance(health.get("services"), dict):
        return None
    return LocalStackInfo(dict(health["services"]), bool(info.get("is_docker", True)))


def localstack_session(endpoint: str, region: str = REGION) -> Any:
    """A localstack-client session whose clients all talk to ``endpoint``.

    localstack-client takes the scheme from ``USE_SSL`` and lets ``AWS_ENDPOINT_URL`` win over the
    host it is given; both are set from ``endpoint`` while the session is made, then restored.
    """
    from localstack_client.session import Session

    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"--endpoint {endpoint!r} is not an http(s) URL; e.g. {DEFAULT_ENDPOINT}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    saved = {name: os.environ.get(name) for name in ("USE_SSL", "AWS_ENDPOINT_URL")}
    os.environ["USE_SSL"] = "1" if parts.scheme == "https" else "0"
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        return Session(
            aws_access_key_id="test",
            aws_secret_access_key="test",
            aws_session_token="test",
            region_name=region,
            localstack_host=f"{parts.hostname}:{port}",
        )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def client(session: Any, service: str, *, attempts: int = 3) -> Any:
    """A client of ``session`` with the settings LocalStack needs (no host prefixes) and short retries.

    ``attempts=1`` for calls that must not be sent twice: a retried ``CreateStack`` whose first try
    failed inside LocalStack answers "already exists" and hides the first error."""
    from botocore.config import Config

    config = Config(
        inject_host_prefix=False,
        retries={"total_max_attempts": attempts, "mode": "standard"},
        connect_timeout=5,
        read_timeout=120,
    )
    return session.client(service, config=config)


def target_parameters(info: LocalStackInfo | None) -> tuple[dict[str, str], list[str]]:
    """The template's parameters for this LocalStack, and what each left-out part means for a run."""
    from deploy.template_conditions import FUNCTIONS_PARAMETER, TABLES_PARAMETER

    parameters = {TABLES_PARAMETER: "true", FUNCTIONS_PARAMETER: "true"}
    warnings: list[str] = []
    if info is None:
        return parameters, warnings
    if not info.has("dynamodb"):
        parameters[TABLES_PARAMETER] = "false"
        warnings.append(
            "this LocalStack has no DynamoDB (its host runtime cannot run it): the stack has no "
            f"tables ({TABLES_PARAMETER}=false)"
        )
    if not info.in_docker or not info.has("lambda"):
        parameters[FUNCTIONS_PARAMETER] = "false"
        warnings.append(
            "this LocalStack cannot run Python Lambdas (its host runtime has no Docker): the stack has "
            f"no functions and no REST API ({FUNCTIONS_PARAMETER}=false). The state machine names "
            "their ARNs: a run fails in its first Task, unless its Lambda tasks are answered from an "
            "SFN_MOCK_CONFIG test case (MAOO_STATE_MACHINE_ARN=<machine arn>#<test case>). "
            "localstack-compose.yml deploys everything"
        )
    return parameters, warnings


def _stages(project_dir: Path) -> list[str]:
    config = json.loads((project_dir / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return sorted(config.get("stages", {}))


def _stage_environment(template: dict[str, Any]) -> dict[str, Any]:
    """The environment chalice gave the first function (the stage's variables)."""
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            return dict(resource["Properties"].get("Environment", {}).get("Variables", {}))
    return {}


# ---------------------------------------------------------------- the whole deployment


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """``["DeployTables=true"]`` -> ``{"DeployTables": "true"}``; anything else is a ``DeployError``
    naming what is accepted."""
    from deploy.package import MERGE_TEMPLATE, PROJECT_DIR
    from deploy.template_conditions import PARAMETERS as CONDITIONS

    merged = json.loads((PROJECT_DIR / MERGE_TEMPLATE).read_text(encoding="utf-8")).get("Parameters", {})
    PARAMETERS = {**CONDITIONS, **merged}  # noqa: N806 - the template's parameters, as one table
    chosen: dict[str, str] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        spec = PARAMETERS.get(key.strip())
        if spec is None or value.strip() not in spec["AllowedValues"]:
            accepted = "; ".join(f"{k}={'|'.join(s['AllowedValues'])}" for k, s in PARAMETERS.items())
            raise ParameterError(f"--parameter {pair!r} is not accepted; use one of: {accepted}")
        chosen[key.strip()] = value.strip()
    return chosen


def deploy(
    endpoint: str,
    stage: str = DEFAULT_STAGE,
    out_dir: str | Path = "out/localstack",
    *,
    overrides: dict[str, str] | None = None,
    wheelhouse: str | Path | None = None,
    echo: Callable[[str], None] = lambda line: None,
) -> Deployment:
    """Package ``stage`` and create or update the stack ``maoo-<stage>`` on the LocalStack at ``endpoint``.

    ``overrides`` replace the template parameters chosen from what the LocalStack runs."""
    from botocore.exceptions import BotoCoreError, ClientError

    from deploy import cloudformation
    from deploy.package import DEFAULT_WHEELHOUSE, PROJECT_DIR, PackagingError, package, wheelhouse_is_current

    began = time.monotonic()
    endpoint = endpoint.rstrip("/")
    session = localstack_session(endpoint)
    if not (PROJECT_DIR / ".chalice" / "config.json").is_file():
        raise UnknownStageError(
            f"deploy packages the project with chalice, and {PROJECT_DIR} has no .chalice/config.json: "
            "run it from a source checkout of MAOO (`python -m cli deploy ...` there)"
        )
    known = _stages(PROJECT_DIR)
    if stage not in known:
        raise UnknownStageError(
            f"--stage {stage!r} is not in .chalice/config.json; use one of: {', '.join(known)}"
        )
    info = probe(endpoint)
    missing = [s for s in ALWAYS_NEEDED if info is not None and not info.has(s)]
    if missing:
        raise EndpointError(
            f"LocalStack at {endpoint} does not run {', '.join(missing)}; start it with them, "
            f"e.g. {START_HOST}"
        )
    parameters, warnings = target_parameters(info)
    if overrides:
        parameters.update(overrides)
        warnings.append(
            "parameters set by --parameter: " + ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))
        )

    if wheelhouse is None:
        wheelhouse = os.environ.get("MAOO_WHEELHOUSE") or (
            DEFAULT_WHEELHOUSE if wheelhouse_is_current(DEFAULT_WHEELHOUSE) else None
        )
    echo(f"packaging stage {stage!r} as `make package` does (Lambda wheels from {wheelhouse or 'PyPI'}) ...")
    try:
        template_path = package(stage, out_dir, wheelhouse=wheelhouse)
    except PackagingError as exc:
        raise DeployError(str(exc)) from None
    template = json.loads(template_path.read_text(encoding="utf-8"))
    environment = _stage_environment(template)

    bucket = f"maoo-{stage}-deploy"
    stack_name = f"maoo-{stage}"
    try:
        s3 = client(session, "s3")
        cloudformation.ensure_bucket(s3, bucket)
        echo(f"uploading the code and the template to s3://{bucket} ...")
        template = cloudformation.upload_artifacts(template, template_path.parent, s3, bucket)
        url = cloudformation.upload_template(template, s3, bucket, endpoint)
        result = cloudformation.deploy_stack(
            client(session, "cloudformation", attempts=1), stack_name, url, parameters, echo=echo
        )
    except cloudformation.StackError:
        raise
    except BotoCoreError as exc:
        raise EndpointUnreachableError(f"LocalStack at {endpoint} stopped answering: {exc}") from None
    except ClientError as exc:
        raise DeployError(f"LocalStack at {endpoint} refused {exc.operation_name}: {exc}") from None
    mock_url = environment.get("MAOO_MOCK_API_URL")
    return Deployment(
        endpoint,
        stage,
        result,
        parameters,
        warnings,
        mock_url if isinstance(mock_url, str) else None,
        time.monotonic() - began,
    )


def render(console: Any, deployment: Deployment) -> None:
    """The stack, its parameters and outputs, the warnings, and how to run through it."""
    from rich.table import Table

    stack = deployment.stack
    table = Table(
        title=f"Stack {stack.name} on {deployment.endpoint}: {stack.action} ({stack.status}) "
        f"in {deployment.seconds:.1f} s"
    )
    for column in ("", "name", "value"):
        table.add_column(column, overflow="fold")
    for key, value in sorted(deployment.parameters.items()):
        table.add_row("parameter", key, value)
    for key, value in sorted(stack.outputs.items()):
        table.add_row("output", key, value)
    console.print(table)
    for warning in deployment.warnings:
        console.print(f"[bold yellow]warning:[/bold yellow] {warning}")
    console.print(f"state machine: {deployment.state_machine_arn}")
    if deployment.mock_api_url:
        console.print(
            f"the functions reach the mock API at {deployment.mock_api_url} (the stage's MAOO_MOCK_API_URL)"
        )
    console.print(
        f"run through it: MAOO_LOCALSTACK_URL={deployment.endpoint} python -m cli run --engine localstack "
        '--request "Fetch mock data, calculate 2 + 2, and summarize the result"'
    )
