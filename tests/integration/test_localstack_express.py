"""The Express variant on LocalStack: ``python -m cli deploy --target localstack --parameter
WorkflowType=EXPRESS`` deploys the packaged template with an Express state machine, and an
execution of that deployed definition runs to its end, read as Express allows it
(``StartSyncExecution``: its status and output, no history).

LocalStack's host runtime cannot run our Python Lambdas, so the execution's Lambda Tasks are
answered from the SFN mock config of ``test_localstack_sfn.py`` (the ``Happy`` case). A MAOO run
through ``cli run`` needs the Lambdas themselves on Express (the run store's checkpoints, which
they write, say how it ended), which the host runtime cannot give; ``test_express.py`` drives that
through the embedded engine. Skipped as ``test_localstack_deploy.py`` is.
"""

from __future__ import annotations

import json
import os

import pytest

from deploy.package import DEFAULT_WHEELHOUSE, PackagingError, ensure_wheelhouse
from tests.integration.localstack import DEPLOY_SERVICES, running_for_tests
from tests.integration.test_localstack_deploy import REGION, STACK, cli
from tests.integration.test_localstack_sfn import _state, mock_config

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wheelhouse() -> str:
    try:
        return str(ensure_wheelhouse(os.environ.get("MAOO_WHEELHOUSE") or DEFAULT_WHEELHOUSE))
    except PackagingError as exc:
        pytest.skip(f"no Lambda wheels to package with: {exc}")


@pytest.fixture(scope="module")
def localstack(tmp_path_factory, wheelhouse):
    with running_for_tests(
        tmp_path_factory.mktemp("localstack-express"), mock_config(), services=DEPLOY_SERVICES
    ) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def aws(localstack):
    from botocore.config import Config

    from deploy.localstack import client, localstack_session

    session = localstack_session(localstack.url)
    clients = {name: client(session, name) for name in ("cloudformation", "stepfunctions")}
    # StartSyncExecution goes to a "sync-" host: keep the endpoint as it is (see ARCHITECTURE)
    clients["sync"] = session.client("stepfunctions", config=Config(inject_host_prefix=False))
    return clients


@pytest.fixture(scope="module")
def deployed(localstack, wheelhouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("package-express")
    return cli(
        "deploy",
        "--target",
        "localstack",
        "--endpoint",
        localstack.url,
        "--out",
        str(out),
        "--parameter",
        "WorkflowType=EXPRESS",
        env={"MAOO_WHEELHOUSE": wheelhouse, "MAOO_RUNTIME_DIR": str(out / "runtime")},
    )


def _machine(aws) -> dict:
    machines = [m for m in aws["stepfunctions"].list_state_machines()["stateMachines"] if m["name"] == "maoo"]
    assert len(machines) == 1
    return aws["stepfunctions"].describe_state_machine(stateMachineArn=machines[0]["stateMachineArn"])


def test_the_express_variant_deploys(deployed, aws):
    assert deployed.returncode == 0, deployed.stderr + deployed.stdout
    stack = aws["cloudformation"].describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["WorkflowType"] == "EXPRESS"
    assert _machine(aws)["type"] == "EXPRESS"


def test_an_execution_of_the_deployed_express_machine_runs_to_its_end(deployed, aws):
    machine = _machine(aws)

    done = aws["sync"].start_sync_execution(
        stateMachineArn=f"{machine['stateMachineArn']}#Happy",
        name=f"express-{os.urandom(3).hex()}",
        input=json.dumps(_state()),
    )

    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["status"] == "succeeded" and output["final_output"] == "2 + 2 = 4"
    assert done["stateMachineArn"].startswith(f"arn:aws:states:{REGION}:")
