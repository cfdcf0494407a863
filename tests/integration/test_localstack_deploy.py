"""``python -m cli deploy --target localstack`` and ``python -m cli run --engine localstack``, as a user runs them.

LocalStack's host runtime (``localstack.py``) takes every call the deployment makes (IAM, Lambda's
control plane, Step Functions) but cannot run a Python Lambda without Docker: each function ends
``Failed``. So the runtime starts with the SFN mock config of ``test_localstack_sfn.py``:

- a run started on ``<deployed machine ARN>#Happy`` (``MAOO_STATE_MACHINE_ARN``) has its Lambda
  Tasks answered from the mock, and completes: the CLI drives the deployed definition end to end;
- a run started on the deployed machine itself reaches the real functions, and fails naming them:
  what a user sees on the host runtime.

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

from chalicelib.workflow.definition import function_name_for, load_definition, placeholders
from cli.deploy import DEFAULT_WHEELHOUSE, PROJECT_DIR, PackagingError, ensure_wheelhouse
from tests.integration.localstack import free_port, running_for_tests
from tests.integration.test_localstack_sfn import mock_config

pytestmark = pytest.mark.integration

REGION = "us-east-1"
PREFIX = "maoo-localstack-"  # the localstack stage's MAOO_FUNCTION_PREFIX
FUNCTIONS = {function_name_for(p) for p in placeholders()}
REQUEST = "Fetch mock data, calculate 2 + 2, and summarize the result"


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m cli ARGS`` in a fresh process, as from a shell in the project folder."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MAOO_", "AWS_"))}
    base.update(MAOO_RUNTIME_DIR=os.environ.get("MAOO_RUNTIME_DIR", ""), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=PROJECT_DIR, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------- LocalStack with Lambda, and the deployment


@pytest.fixture(scope="module")
def wheelhouse() -> str:
    """Lambda wheels, so that packaging needs no package index (filled from PyPI once)."""
    try:
        return str(ensure_wheelhouse(os.environ.get("MAOO_WHEELHOUSE") or DEFAULT_WHEELHOUSE))
    except PackagingError as exc:
        pytest.skip(f"no Lambda wheels to package with: the wheelhouse is empty and PyPI cannot be reached: {exc}")


@pytest.fixture(scope="module")
def localstack(tmp_path_factory, wheelhouse):
    with running_for_tests(tmp_path_factory.mktemp("localstack-deploy"), mock_config()) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def aws(localstack):
    import boto3

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    return {name: session.client(name, endpoint_url=localstack.url) for name in ("iam", "lambda", "stepfunctions")}


@pytest.fixture(scope="module")
def deployed(localstack, wheelhouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("package")
    return cli("deploy", "--target", "localstack", "--endpoint", localstack.url, "--out", str(out),
               env={"MAOO_WHEELHOUSE": wheelhouse, "MAOO_RUNTIME_DIR": str(out / "runtime")})


def _machine(aws) -> dict:
    machines = [m for m in aws["stepfunctions"].list_state_machines()["stateMachines"] if m["name"] == "maoo"]
    assert len(machines) == 1
    return aws["stepfunctions"].describe_state_machine(stateMachineArn=machines[0]["stateMachineArn"])


def _task_functions(definition: dict) -> set[str]:
    return {s["Parameters"]["FunctionName"] for s in definition["States"].values()
            if s["Type"] == "Task" and "FunctionName" in s.get("Parameters", {})}


# ---------------------------------------------------------------- deploy


def test_deploy_creates_the_roles_the_functions_and_the_bound_state_machine(deployed, aws):
    assert deployed.returncode == 0, deployed.stderr + deployed.stdout
    roles = {r["RoleName"] for r in aws["iam"].list_roles()["Roles"]}
    assert {"maoo-localstack", "maoo-localstack-states"} <= roles

    functions = {f["FunctionName"]: f for f in aws["lambda"].list_functions()["Functions"]}
    assert set(functions) == {PREFIX + name for name in FUNCTIONS}
    calc = functions[PREFIX + "tool_calc"]
    assert (calc["Handler"], calc["Runtime"], calc["Timeout"]) == ("app.tool_calc", "python3.11", 5)
    assert calc["Role"].endswith(":role/maoo-localstack")
    variables = calc["Environment"]["Variables"]
    assert variables["MAOO_STORE"] == "dynamodb"
    assert variables["MAOO_RUNS_TABLE"] == "maoo-localstack-runs"
    assert variables["MAOO_IDEMPOTENCY_TABLE"] == "maoo-localstack-idempotency"

    machine = _machine(aws)
    definition = json.loads(machine["definition"])
    assert _task_functions(definition) == {f["FunctionArn"] for f in functions.values()}
    assert set(definition["States"]) == set(load_definition()["States"])
    assert "${" not in machine["definition"]
    assert machine["roleArn"].endswith(":role/maoo-localstack-states")


def test_deploy_on_the_host_runtime_says_what_it_could_not_do(deployed):
    output = " ".join((deployed.stdout + deployed.stderr).split())

    assert "has no DynamoDB" in output and "maoo-localstack-runs" in output
    assert "functions are Failed on this LocalStack" in output
    assert "Traceback" not in output


def test_deploying_again_updates_the_definition_instead_of_failing(deployed, localstack, wheelhouse, aws, tmp_path):
    # given: someone replaced the machine's definition since the first deployment
    machine = _machine(aws)
    drifted = json.loads(machine["definition"])
    drifted["Comment"] = "edited by hand"
    aws["stepfunctions"].update_state_machine(stateMachineArn=machine["stateMachineArn"], definition=json.dumps(drifted))

    again = cli("deploy", "--target", "localstack", "--endpoint", localstack.url, "--out", str(tmp_path / "out"),
                env={"MAOO_WHEELHOUSE": wheelhouse})

    assert again.returncode == 0, again.stderr + again.stdout
    assert json.loads(_machine(aws)["definition"]).get("Comment") == load_definition().get("Comment")
    rows = [line for line in again.stdout.splitlines() if "state machine" in line and "maoo" in line]
    assert rows and "updated" in rows[0]
    assert len(aws["lambda"].list_functions()["Functions"]) == len(FUNCTIONS)


# ---------------------------------------------------------------- run --engine localstack


def test_run_on_the_localstack_engine_completes_with_mocked_lambda_answers(deployed, localstack):
    machine_arn = f"arn:aws:states:{REGION}:000000000000:stateMachine:maoo"

    done = cli("run", "--engine", "localstack", "--json", "--request", REQUEST,
               env={"MAOO_LOCALSTACK_URL": localstack.url, "MAOO_STATE_MACHINE_ARN": f"{machine_arn}#Happy"})

    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["engine"], doc["status"], doc["final_output"]) == ("localstack", "succeeded", "2 + 2 = 4")
    assert doc["states"] == ["ResumeAt", "Perceive", "Plan", "PlanOK?", "NextStep", "Route", "CallCalc", "Observe", "Decide",
                             "NextStep", "Route", "Finalize", "Done"]
    assert doc["execution_arn"].startswith(f"arn:aws:states:{REGION}:000000000000:execution:maoo:")


def test_run_on_the_host_runtime_fails_naming_the_lambda_problem(deployed, localstack):
    done = cli("run", "--engine", "localstack", "--json", "--request", REQUEST, env={"MAOO_LOCALSTACK_URL": localstack.url})

    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["engine"], doc["status"], doc["stop_reason"]) == ("localstack", "failed", "execution_failed")
    assert doc["states"] == ["ResumeAt", "Perceive", "Finalize", "FinalizeFailed"]
    history = json.loads(Path(doc["trace_file"]).read_text())["execution"]["history"]
    failures = [e["taskFailedEventDetails"] for e in history if e["type"] == "TaskFailed"]
    assert failures[0]["error"] == "Lambda.ResourceConflictException"
    assert "in the following state: Failed" in failures[0]["cause"]


def test_run_without_a_deployed_state_machine_exits_2_and_says_deploy_first(localstack):
    done = cli("run", "--engine", "localstack", "--request", REQUEST,
               env={"MAOO_LOCALSTACK_URL": localstack.url, "MAOO_STATE_MACHINE_NAME": "never-deployed"})

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

    done = cli("run", "--engine", "localstack", "--request", REQUEST, env={"MAOO_LOCALSTACK_URL": url}, timeout=60)

    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert f"cannot reach Step Functions at {url}" in message and "start LocalStack first" in message
    assert "Traceback" not in done.stderr


def test_unknown_engine_exits_2_and_names_the_choices():
    done = cli("demo", "happy", "--engine", "lambda", timeout=60)

    assert done.returncode == 2
    assert "--engine 'lambda' is not accepted; use one of: embedded, localstack, aws" in " ".join(done.stderr.split())
