"""Deploy MAOO to a LocalStack endpoint: ``python -m cli deploy --target localstack``.

On AWS, CloudFormation creates the stack from ``out/sam.json`` (README "Deploy"). LocalStack's
host runtime has no CloudFormation, so this module makes the same pieces with plain API calls,
each one create-or-update, so that running it again updates rather than fails:

1. ``chalice package --stage <stage>`` in a scratch copy of the project (nothing is written into
   the work tree): ``deployment.zip`` and, per function, its timeout, memory and the stage's
   environment variables. The merge template is left out: its tables, roles and state machine are
   what steps 2-5 create here.
2. Two IAM roles: the one the stage names (``iam_role_arn``) for the Lambdas, and ``<it>-states``
   for the state machine.
3. The DynamoDB tables (runs, idempotency, memory), skipped with a warning when the endpoint has
   no DynamoDB (LocalStack's host runtime).
4. The 11 Lambda functions the state machine names, ``<MAOO_FUNCTION_PREFIX><name>``, handler
   ``app.<name>``, runtime python3.11, ``MAOO_STORE=dynamodb`` and the table names added.
5. The state machine (``MAOO_STATE_MACHINE_NAME``, default ``maoo``), its placeholders bound to
   the functions' ARNs structurally (``definition.substitute``).

The host runtime accepts every one of these calls but cannot run a Python Lambda (no Docker):
the functions end up ``Failed`` and the deployment says so. The Docker compose LocalStack runs them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from chalicelib.errors import MaooError
from chalicelib.workflow.definition import function_name_for, load_definition, placeholders, substitute
from cli.deploy import DEFAULT_WHEELHOUSE, PROJECT_DIR, logical_id, wheelhouse_is_current

TARGETS = ("localstack",)
DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
DEFAULT_STAGE = "localstack"
RUNTIME = "python3.11"
ACCOUNT = "000000000000"  # LocalStack's default account
TABLE_VARS = {"runs": ("MAOO_RUNS_TABLE", "maoo-runs"),
              "idempotency": ("MAOO_IDEMPOTENCY_TABLE", "maoo-idempotency"),
              "memory": ("MAOO_MEMORY_TABLE", "maoo-memory")}
_PROJECT_FILES = ("app.py", "requirements.txt", "chalicelib", ".chalice/config.json")
_NEEDED_SERVICES = ("iam", "lambda", "stepfunctions")
_ABSENT = ("disabled", "error")
SETTLE_SECONDS = 120.0
START_HOST = "`scripts/localstack_runtime.sh start --services stepfunctions,iam,sts,lambda`"


class DeployError(MaooError, RuntimeError):
    """The deployment could not be made; the message says what and what to do."""


class EndpointError(DeployError):
    """The endpoint cannot take the deployment: nothing answers, or it lacks a service."""


class EndpointUnreachableError(EndpointError):
    """Nothing answers at the endpoint."""


class UnknownStageError(DeployError):
    """The stage is not in ``.chalice/config.json``."""


@dataclass
class FunctionSpec:
    name: str
    timeout: int
    memory: int
    environment: dict[str, str]
    role_arn: str

    @property
    def handler(self) -> str:
        # the module attribute app.py declares; the template's Handler names the wrapped
        # function's __name__ instead, which app.py does not export
        return f"app.{self.name}"


@dataclass
class Packaged:
    zip_path: Path
    functions: dict[str, FunctionSpec]  # by the name declared in app.py


@dataclass
class Deployment:
    endpoint: str
    stage: str
    actions: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, what happened)
    warnings: list[str] = field(default_factory=list)
    state_machine_arn: str | None = None
    mock_api_url: str | None = None
    seconds: float = 0.0

    def did(self, kind: str, name: str, what: str) -> None:
        self.actions.append((kind, name, what))


# ---------------------------------------------------------------- the endpoint


def probe(endpoint: str, timeout: float = 5.0) -> dict[str, str] | None:
    """LocalStack's services and their state; ``None`` when the endpoint answers but is not LocalStack.

    Raises ``EndpointUnreachableError`` when nothing answers.
    """
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/_localstack/health", timeout=timeout) as response:
            return dict(json.load(response).get("services", {}))
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EndpointUnreachableError(
            f"nothing answers at {endpoint} ({reason}). Start LocalStack first: {START_HOST} (the host runtime) "
            "or `docker compose -f localstack-compose.yml up -d localstack`, or pass --endpoint"
        ) from None
    except (ValueError, AttributeError):  # an answer, but not LocalStack's health document
        return None


def _has(services: dict[str, str] | None, name: str) -> bool | None:
    if services is None:
        return None
    return name in services and services[name] not in _ABSENT


def _clients(endpoint: str, region: str) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=120)
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=region)
    return {name: session.client(name, endpoint_url=endpoint, config=config)
            for name in ("iam", "lambda", "stepfunctions", "dynamodb")}


# ---------------------------------------------------------------- packaging


def _copy_project(project: Path, dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in _PROJECT_FILES:
        source, target = project / name, dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)


def _wheel_env(wheelhouse: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))  # chalice refuses to package without one
    if wheelhouse is None and os.environ.get("MAOO_WHEELHOUSE"):
        wheelhouse = Path(os.environ["MAOO_WHEELHOUSE"])
    if wheelhouse is None and wheelhouse_is_current(DEFAULT_WHEELHOUSE):
        wheelhouse = DEFAULT_WHEELHOUSE
    if wheelhouse is not None:
        env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(Path(wheelhouse).resolve()))
    return env


def package(stage: str, out_dir: str | Path, *, project_dir: str | Path = PROJECT_DIR,
            wheelhouse: str | Path | None = None) -> Packaged:
    """``chalice package`` the stage into ``out_dir``; the functions the state machine names, with their settings."""
    out = Path(out_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="maoo-build-") as scratch:
        build = Path(scratch)
        _copy_project(Path(project_dir).resolve(), build)
        command = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())",
                   "package", "--stage", stage, "--pkg-format", "cloudformation", str(out)]
        done = subprocess.run(command, cwd=build, env=_wheel_env(Path(wheelhouse) if wheelhouse else None),
                              capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise DeployError(f"chalice package --stage {stage} failed (exit {done.returncode}):\n{detail}")
    resources = json.loads((out / "sam.json").read_text(encoding="utf-8")).get("Resources", {})
    functions: dict[str, FunctionSpec] = {}
    for placeholder in sorted(placeholders()):
        name = function_name_for(placeholder)
        resource = resources.get(logical_id(name))
        if resource is None:
            raise DeployError(f"the state machine names ${{{placeholder}}}, but chalice packaged no function "
                              f"{name!r}; declare it in app.py with @app.lambda_function(name={name!r})")
        props = resource["Properties"]
        functions[name] = FunctionSpec(name=name, timeout=int(props.get("Timeout", 30)),
                                       memory=int(props.get("MemorySize", 512)),
                                       environment=dict(props.get("Environment", {}).get("Variables", {})),
                                       role_arn=props["Role"] if isinstance(props.get("Role"), str) else "")
    return Packaged(out / "deployment.zip", functions)


def stages(project_dir: str | Path = PROJECT_DIR) -> list[str]:
    """The stages ``.chalice/config.json`` declares."""
    config = json.loads((Path(project_dir) / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return sorted(config.get("stages", {}))


def table_names(functions: dict[str, FunctionSpec]) -> dict[str, str]:
    """Each table's name: the one the stage gives a function, else ``MAOO_*_TABLE``, else the default."""
    names = {}
    for kind, (var, default) in TABLE_VARS.items():
        given = [f.environment[var] for f in functions.values() if f.environment.get(var)]
        names[kind] = given[0] if given else os.environ.get(var, "").strip() or default
    return names


# ---------------------------------------------------------------- the resources


def _trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _put_role(iam: Any, name: str, service: str, policy: str, deployment: Deployment) -> str:
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=_trust(service))
        what = "updated"
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(service),
                              Description=f"MAOO on LocalStack: assumed by {service}")["Role"]["Arn"]
        what = "created"
    iam.put_role_policy(RoleName=name, PolicyName="maoo", PolicyDocument=policy)
    deployment.did("IAM role", name, what)
    return arn


def _put_tables(ddb: Any, names: dict[str, str], deployment: Deployment) -> None:
    from chalicelib.memory.dynamodb_store import DynamoRunStore
    from chalicelib.memory.idempotency import ensure_dynamodb_table
    from chalicelib.memory.longterm import DynamoDBLongTermMemory

    create = {
        "runs": lambda name: DynamoRunStore(name, ddb).ensure_table(),
        "idempotency": lambda name: ensure_dynamodb_table(ddb, name),
        "memory": lambda name: DynamoDBLongTermMemory(name, ddb).create_table(),
    }
    ttl = {"runs": "expires_at", "idempotency": "expiration"}  # as in .chalice/merge-template.json
    existing = set(ddb.list_tables().get("TableNames", []))
    for kind, name in names.items():
        if name in existing:
            deployment.did("DynamoDB table", name, "exists")
            continue
        create[kind](name)
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        if kind in ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl[kind]})
        deployment.did("DynamoDB table", name, "created")


def _configuration(lam: Any, name: str) -> dict[str, Any] | None:
    try:
        return lam.get_function_configuration(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException:
        return None


def _settled(config: dict[str, Any]) -> bool:
    if config.get("State") == "Failed":
        return True
    return config.get("State") != "Pending" and config.get("LastUpdateStatus") != "InProgress"


def _wait_settled(lam: Any, names: list[str], timeout: float = SETTLE_SECONDS) -> dict[str, dict[str, Any]]:
    """Each function's configuration once it is no longer being created or updated (or at ``timeout``)."""
    deadline = time.monotonic() + timeout
    pending = list(names)
    final: dict[str, dict[str, Any]] = {}
    while pending:
        for name in list(pending):
            config = _configuration(lam, name) or {}
            if _settled(config) or time.monotonic() > deadline:
                final[name] = config
                pending.remove(name)
        if pending:
            time.sleep(0.25)
    return final


def _put_function(lam: Any, function_name: str, spec: FunctionSpec, role_arn: str, code: bytes, code_sha: str) -> str:
    settings = dict(Role=role_arn, Handler=spec.handler, Runtime=RUNTIME, Timeout=spec.timeout,
                    MemorySize=spec.memory, Environment={"Variables": spec.environment})
    current = _configuration(lam, function_name)
    if current is not None and current.get("State") == "Failed":
        # LocalStack refuses to update a function whose creation failed; there is nothing to keep, so
        # replace it. The host runtime refuses to delete one too: then it stays as it is.
        from botocore.exceptions import ClientError

        try:
            lam.delete_function(FunctionName=function_name)
        except ClientError as exc:
            return f"left as it is (Failed; this LocalStack can neither update nor delete it: {exc.response['Error']['Code']})"
        lam.create_function(FunctionName=function_name, Code={"ZipFile": code}, **settings)
        return "recreated (was Failed)"
    if current is None:
        lam.create_function(FunctionName=function_name, Code={"ZipFile": code}, **settings)
        return "created"
    _wait_settled(lam, [function_name])
    what = "updated configuration"
    if current.get("CodeSha256") != code_sha:
        lam.update_function_code(FunctionName=function_name, ZipFile=code)
        _wait_settled(lam, [function_name])
        what = "updated code and configuration"
    lam.update_function_configuration(FunctionName=function_name, **settings)
    return what


def _put_state_machine(sfn: Any, name: str, definition: dict[str, Any], role_arn: str, deployment: Deployment) -> str:
    text = json.dumps(definition)
    arn = None
    for page in sfn.get_paginator("list_state_machines").paginate():
        arn = next((m["stateMachineArn"] for m in page["stateMachines"] if m["name"] == name), arn)
    if arn is None:
        arn = sfn.create_state_machine(name=name, definition=text, roleArn=role_arn, type="STANDARD")["stateMachineArn"]
        what = "created"
    elif json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == definition:
        what = "unchanged"
    else:
        sfn.update_state_machine(stateMachineArn=arn, definition=text, roleArn=role_arn)
        what = "updated"
    deployment.did("state machine", name, what)
    return arn


# ---------------------------------------------------------------- the whole deployment


def deploy(endpoint: str, stage: str = DEFAULT_STAGE, out_dir: str | Path = "out/localstack", *,
           project_dir: str | Path = PROJECT_DIR, wheelhouse: str | Path | None = None,
           echo: Callable[[str], None] = lambda line: None) -> Deployment:
    """Create or update MAOO on the LocalStack at ``endpoint``; returns what was done."""
    import base64
    import hashlib

    from botocore.exceptions import BotoCoreError, ClientError

    began = time.monotonic()
    endpoint = endpoint.rstrip("/")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"--endpoint {endpoint!r} is not an http(s) URL; e.g. {DEFAULT_ENDPOINT}")
    known = stages(project_dir)
    if stage not in known:
        raise UnknownStageError(f"--stage {stage!r} is not in .chalice/config.json; use one of: {', '.join(known)}")
    services = probe(endpoint)
    missing = [s for s in _NEEDED_SERVICES if _has(services, s) is False]
    if missing:
        raise EndpointError(f"LocalStack at {endpoint} does not run {', '.join(missing)}; start it with them, "
                            f"e.g. {START_HOST}")
    deployment = Deployment(endpoint, stage)

    echo(f"packaging stage {stage!r} with chalice ...")
    packaged = package(stage, out_dir, project_dir=project_dir, wheelhouse=wheelhouse)
    code = packaged.zip_path.read_bytes()
    code_sha = base64.b64encode(hashlib.sha256(code).digest()).decode()
    deployment.did("package", str(packaged.zip_path), f"{len(code) / 1e6:.1f} MB, {len(packaged.functions)} functions")

    tables = table_names(packaged.functions)
    env_any = next(iter(packaged.functions.values())).environment
    region = env_any.get("MAOO_REGION") or os.environ.get("MAOO_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    prefix = env_any.get("MAOO_FUNCTION_PREFIX") or f"maoo-{stage}-"
    machine_name = env_any.get("MAOO_STATE_MACHINE_NAME") or "maoo"
    deployment.mock_api_url = env_any.get("MAOO_MOCK_API_URL")
    role_arns = {f.role_arn for f in packaged.functions.values() if f.role_arn}
    lambda_role = (sorted(role_arns)[0].rsplit("/", 1)[-1] if role_arns else f"maoo-{stage}")
    function_arns = {name: f"arn:aws:lambda:{region}:{ACCOUNT}:function:{prefix}{name}" for name in packaged.functions}
    table_arns = [f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}" for name in tables.values()]

    clients = _clients(endpoint, region)
    try:
        lambda_role_arn = _put_role(clients["iam"], lambda_role, "lambda.amazonaws.com", _policy(
            {"Sid": "Tables", "Effect": "Allow", "Resource": table_arns + [f"{a}/index/*" for a in table_arns],
             "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                        "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable"]},
            {"Sid": "Logs", "Effect": "Allow", "Resource": "*",
             "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]},
        ), deployment)
        states_role_arn = _put_role(clients["iam"], f"{lambda_role}-states", "states.amazonaws.com", _policy(
            {"Sid": "InvokeMaooFunctions", "Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Resource": sorted(function_arns.values())},
        ), deployment)

        if _has(services, "dynamodb") is False:
            deployment.warnings.append(
                f"{endpoint} has no DynamoDB (LocalStack's host runtime cannot run it): tables "
                f"{', '.join(tables.values())} were not created; the Docker compose LocalStack has it")
        else:
            try:
                _put_tables(clients["dynamodb"], tables, deployment)
            except (BotoCoreError, ClientError) as exc:
                deployment.warnings.append(f"DynamoDB at {endpoint} did not answer ({exc}); tables not created")

        echo(f"uploading {len(packaged.functions)} functions ...")
        for name, spec in packaged.functions.items():
            spec.environment.update(MAOO_STORE="dynamodb")
            for kind, (var, _default) in TABLE_VARS.items():
                spec.environment.setdefault(var, tables[kind])
            what = _put_function(clients["lambda"], f"{prefix}{name}", spec, lambda_role_arn, code, code_sha)
            deployment.did("Lambda function", f"{prefix}{name}", what)
        settled = _wait_settled(clients["lambda"], [f"{prefix}{name}" for name in packaged.functions])
        failed = {n: c.get("StateReason", "") for n, c in settled.items() if c.get("State") == "Failed"}
        if failed:
            reason = next(iter(failed.values()))
            deployment.warnings.append(
                f"{len(failed)} of {len(settled)} functions are Failed on this LocalStack ({reason}). LocalStack's "
                "host runtime cannot run Python Lambdas (they need Docker): executions reach the state machine, but "
                "its Lambda tasks fail; the Docker compose LocalStack runs them")

        definition = substitute(load_definition(), {p: function_arns[function_name_for(p)] for p in placeholders()})
        deployment.state_machine_arn = _put_state_machine(clients["stepfunctions"], machine_name, definition,
                                                          states_role_arn, deployment)
    except BotoCoreError as exc:
        raise EndpointUnreachableError(f"LocalStack at {endpoint} stopped answering: {exc}") from None
    except ClientError as exc:
        raise DeployError(f"LocalStack at {endpoint} refused {exc.operation_name}: {exc}") from None
    deployment.seconds = time.monotonic() - began
    return deployment


def render(console: Any, deployment: Deployment) -> None:
    """What was created or updated, the warnings, and how to run through it."""
    from rich.table import Table

    table = Table(title=f"Deployed to {deployment.endpoint} (stage {deployment.stage}) in {deployment.seconds:.1f} s")
    for column in ("kind", "name", "result"):
        table.add_column(column, overflow="fold")
    for row in deployment.actions:
        table.add_row(*row)
    console.print(table)
    for warning in deployment.warnings:
        console.print(f"[bold yellow]warning:[/bold yellow] {warning}")
    console.print(f"state machine: {deployment.state_machine_arn}")
    if deployment.mock_api_url:
        console.print(f"the functions reach the mock API at {deployment.mock_api_url} (the stage's MAOO_MOCK_API_URL)")
    console.print(f"run through it: MAOO_LOCALSTACK_URL={deployment.endpoint} python -m cli run --engine localstack "
                  "--request \"Fetch mock data, calculate 2 + 2, and summarize the result\"")
