"""``python -m cli deploy --target localstack`` and ``python -m cli run --engine localstack``, as a user runs them.

The deploy packages the stage as ``make package`` does and creates the CloudFormation stack
``maoo-localstack`` from that template. LocalStack's host runtime (``localstack.py``, started with
CloudFormation and S3) cannot run DynamoDB or a Python Lambda, so the deploy sets the template's
``DeployTables`` and ``DeployFunctions`` to ``false``: the stack holds the roles, the log group and
the state machine, whose ``${XxxFunctionArn}`` still name each function. The runtime starts with the
SFN mock config of ``test_localstack_sfn.py``:

- a run started on ``<deployed machine ARN>#Happy`` (``MAOO_STATE_MACHINE_ARN``) has its Lambda
  Tasks answered from the mock, and completes: the CLI drives the deployed definition end to end;
- a run started on the deployed machine itself reaches functions that are not there, and fails
  naming them: what a user sees on the host runtime.

The first run installs LocalStack (see ``localstack.py``). Skipped, with the reason, when there is
no Python 3.13, the install fails, or there are no Lambda wheels to package with;
``MAOO_LOCALSTACK_TESTS=0`` skips on purpose. The unreachable-endpoint tests need none of that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.trace_history import trace_history
from chalicelib.workflow.definition import load_definition
from deploy.package import DEFAULT_WHEELHOUSE, PROJECT_DIR, PackagingError, ensure_wheelhouse
from tests.integration.localstack import DEPLOY_SERVICES, free_port, running_for_tests
from tests.integration.test_localstack_sfn import mock_config

pytestmark = pytest.mark.integration

REGION = "us-east-1"
STACK = "maoo-localstack"
REQUEST = "Fetch mock data, calculate 2 + 2, and summarize the result"


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m cli ARGS`` in a fresh process, as from a shell in the project folder."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MAOO_", "AWS_"))}
    base.update(MAOO_RUNTIME_DIR=os.environ.get("MAOO_RUNTIME_DIR", ""), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=PROJECT_DIR,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ---------------------------------------------------------------- LocalStack with CloudFormation, and the deployment


@pytest.fixture(scope="module")
def wheelhouse() -> str:
    """Lambda wheels, so that packaging needs no package index (filled from PyPI once)."""
    try:
        return str(ensure_wheelhouse(os.environ.get("MAOO_WHEELHOUSE") or DEFAULT_WHEELHOUSE))
    except PackagingError as exc:
        pytest.skip(
            f"no Lambda wheels to package with: the wheelhouse is empty and PyPI cannot be reached: {exc}"
        )


@pytest.fixture(scope="module")
def localstack(tmp_path_factory, wheelhouse):
    with running_for_tests(
        tmp_path_factory.mktemp("localstack-deploy"), mock_config(), services=DEPLOY_SERVICES
    ) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def aws(localstack):
    from deploy.localstack import client, localstack_session

    session = localstack_session(localstack.url)
    return {name: client(session, name) for name in ("cloudformation", "iam", "lambda", "stepfunctions")}


def _deploy(localstack, wheelhouse, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return cli(
        "deploy",
        "--target",
        "localstack",
        "--endpoint",
        localstack.url,
        "--out",
        str(out),
        *extra,
        env={"MAOO_WHEELHOUSE": wheelhouse, "MAOO_RUNTIME_DIR": str(out / "runtime")},
    )


@pytest.fixture(scope="module")
def failed_first(localstack, wheelhouse, tmp_path_factory):
    """A first attempt that asks the host runtime for the DynamoDB tables it cannot make."""
    return _deploy(
        localstack, wheelhouse, tmp_path_factory.mktemp("package-failed"), "--parameter", "DeployTables=true"
    )


@pytest.fixture(scope="module")
def deployed(failed_first, localstack, wheelhouse, tmp_path_factory):
    return _deploy(localstack, wheelhouse, tmp_path_factory.mktemp("package"))


def _machine(aws) -> dict:
    machines = [m for m in aws["stepfunctions"].list_state_machines()["stateMachines"] if m["name"] == "maoo"]
    assert len(machines) == 1
    return aws["stepfunctions"].describe_state_machine(stateMachineArn=machines[0]["stateMachineArn"])


def _task_functions(definition: dict) -> set[str]:
    return {
        s["Parameters"]["FunctionName"]
        for s in definition["States"].values()
        if s["Type"] == "Task" and "FunctionName" in s.get("Parameters", {})
    }


def _stack(aws) -> dict:
    return aws["cloudformation"].describe_stacks(StackName=STACK)["Stacks"][0]


# ---------------------------------------------------------------- deploy


def test_deploy_creates_the_stack_from_the_packaged_template_without_what_the_host_cannot_run(deployed, aws):
    assert deployed.returncode == 0, deployed.stderr + deployed.stdout
    stack = _stack(aws)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters == {"DeployTables": "false", "DeployFunctions": "false", "WorkflowType": "STANDARD"}
    resources = {
        r["LogicalResourceId"]: r["ResourceType"]
        for r in aws["cloudformation"].describe_stack_resources(StackName=STACK)["StackResources"]
    }
    assert resources["MaooStateMachine"] == "AWS::StepFunctions::StateMachine"
    assert {"LayerRole", "ReadToolRole", "WriteToolRole", "ApiRole", "StateMachineRole"} <= set(resources)
    assert not {kind for kind in resources.values() if kind.startswith(("AWS::DynamoDB", "AWS::Lambda"))}

    machine = _machine(aws)
    definition = json.loads(machine["definition"])
    assert set(definition["States"]) == set(load_definition()["States"])
    assert "${" not in machine["definition"]
    arns = _task_functions(definition)
    assert len(arns) == 11 and all(
        a.startswith(f"arn:aws:lambda:{REGION}:000000000000:function:{STACK}-") for a in arns
    )
    assert "StateMachineRole" in machine["roleArn"]
    assert machine["loggingConfiguration"]["level"] == "ERROR"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["StateMachineArn"] == machine["stateMachineArn"]


def test_deploy_on_the_host_runtime_says_what_it_left_out(deployed):
    output = " ".join((deployed.stdout + deployed.stderr).split())

    assert "has no DynamoDB" in output and "DeployTables=false" in output
    assert "cannot run Python Lambdas" in output and "DeployFunctions=false" in output
    assert "Traceback" not in output


def test_a_stack_that_fails_prints_its_failed_events_and_the_next_deploy_replaces_it(
    failed_first, deployed, aws
):
    assert failed_first.returncode == 1
    message = " ".join(failed_first.stderr.split())
    assert (
        f"stack {STACK} ended CREATE_FAILED" in message or f"stack {STACK} ended ROLLBACK_COMPLETE" in message
    )
    assert "RunsTable" in message and "dynamodb" in message.lower()
    assert "Traceback" not in failed_first.stderr
    # the failed stack could not be updated: the next deploy deleted and recreated it
    assert "deleting it first" in " ".join(deployed.stderr.split())
    assert _stack(aws)["StackStatus"] == "CREATE_COMPLETE"


def test_deploying_again_updates_the_stack_instead_of_failing(
    deployed, localstack, wheelhouse, aws, tmp_path
):
    again = _deploy(localstack, wheelhouse, tmp_path / "out")

    assert again.returncode == 0, again.stderr + again.stdout
    assert _stack(aws)["StackStatus"] in ("UPDATE_COMPLETE", "CREATE_COMPLETE")
    assert "updated" in again.stdout or "unchanged" in again.stdout
    assert len(aws["stepfunctions"].list_state_machines()["stateMachines"]) == 1


def test_a_parameter_that_is_not_the_templates_exits_2_and_names_the_accepted_ones(localstack, tmp_path):
    done = cli(
        "deploy",
        "--target",
        "localstack",
        "--endpoint",
        localstack.url,
        "--out",
        str(tmp_path),
        "--parameter",
        "DeployTables=maybe",
        timeout=60,
    )

    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert "--parameter 'DeployTables=maybe' is not accepted" in message
    assert "DeployTables=true|false" in message and "DeployFunctions=true|false" in message


# ---------------------------------------------------------------- run --engine localstack


def test_run_on_the_localstack_engine_completes_with_mocked_lambda_answers(deployed, localstack):
    machine_arn = f"arn:aws:states:{REGION}:000000000000:stateMachine:maoo"

    done = cli(
        "run",
        "--engine",
        "localstack",
        "--json",
        "--request",
        REQUEST,
        env={"MAOO_LOCALSTACK_URL": localstack.url, "MAOO_STATE_MACHINE_ARN": f"{machine_arn}#Happy"},
    )

    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["engine"], doc["status"], doc["final_output"]) == ("localstack", "succeeded", "2 + 2 = 4")
    assert doc["states"] == [
        "ResumeAt",
        "Perceive",
        "Plan",
        "PlanOK?",
        "NextStep",
        "Route",
        "CallCalc",
        "Observe",
        "Decide",
        "NextStep",
        "Route",
        "Finalize",
        "Done",
    ]
    assert doc["execution_arn"].startswith(f"arn:aws:states:{REGION}:000000000000:execution:maoo:")


def test_run_on_the_host_runtime_fails_naming_the_lambda_problem(deployed, localstack):
    done = cli(
        "run",
        "--engine",
        "localstack",
        "--json",
        "--request",
        REQUEST,
        env={"MAOO_LOCALSTACK_URL": localstack.url},
    )

    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["engine"], doc["status"], doc["stop_reason"]) == ("localstack", "failed", "execution_failed")
    assert doc["states"] == ["ResumeAt", "Perceive", "Finalize", "FinalizeFailed"]
    history = trace_history(json.loads(Path(doc["trace_file"]).read_text()))
    failures = [e["taskFailedEventDetails"] for e in history if e["type"] == "TaskFailed"]
    assert failures[0]["error"] == "Lambda.ResourceNotFoundException"
    assert f"{STACK}-Perceive" in failures[0]["cause"]  # the function DeployFunctions=false left out


def test_run_without_a_deployed_state_machine_exits_2_and_says_deploy_first(localstack):
    done = cli(
        "run",
        "--engine",
        "localstack",
        "--request",
        REQUEST,
        env={"MAOO_LOCALSTACK_URL": localstack.url, "MAOO_STATE_MACHINE_NAME": "never-deployed"},
    )

    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert "no state machine named 'never-deployed'" in message
    assert "deploy it first: python -m cli deploy --target localstack" in message
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------- nothing listening (no LocalStack needed)


def test_deploy_to_an_unreachable_endpoint_exits_2_with_a_clear_message():
    url = f"http://127.0.0.1:{free_port()}"

    done = cli("deploy", "--target", "localstack", "--endpoint", url, timeout=60)

    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert f"nothing answers at {url}" in message and "Start LocalStack first" in message
    assert "Traceback" not in done.stderr


def test_run_on_an_unreachable_localstack_exits_2_with_a_clear_message():
    url = f"http://127.0.0.1:{free_port()}"

    done = cli(
        "run", "--engine", "localstack", "--request", REQUEST, env={"MAOO_LOCALSTACK_URL": url}, timeout=60
    )

    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert f"cannot reach Step Functions at {url}" in message and "start LocalStack first" in message
    assert "Traceback" not in done.stderr


def test_unknown_engine_exits_2_and_names_the_choices():
    done = cli("demo", "happy", "--engine", "lambda", timeout=60)

    assert done.returncode == 2
    assert "--engine 'lambda' is not accepted; use one of: embedded, localstack, aws" in " ".join(
        done.stderr.split()
    )
