"""The real ASL definition, run by LocalStack's Step Functions with mocked Lambda answers.

LocalStack's Python runtime cannot run our Python Lambdas on the host, so every Task state is
answered from an ``SFN_MOCK_CONFIG`` file (the Step Functions Local format: per test case, the
state -> a list of responses, one per invocation). What is under test is the state machine itself:
which states run, in which order, for each answer a layer can give. The answers are built from
``chalicelib.contracts`` models, so they cannot drift from what the Lambdas really return.

The first run installs LocalStack into ``.venv-localstack/`` (about a minute); later runs reuse it.
Skipped, with the reason, when there is no Python 3.13 or the install fails;
``MAOO_LOCALSTACK_TESTS=0`` skips on purpose.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from chalicelib.contracts import Plan, RunState, Step, ToolCall, ToolError, ToolOutcome, ToolResult
from chalicelib.workflow.definition import function_name_for, load_definition, placeholders, substitute
from chalicelib.workflow.sfn_runner import Execution, WorkflowRunner, states_entered
from tests.integration.localstack import running_for_tests

REGION = "us-east-1"
ACCOUNT = "000000000000"
MACHINE = "maoo"
RUN_ID = "run-localstack"

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------- answers the Lambdas give


def _state(**fields: Any) -> dict[str, Any]:
    return RunState(
        run_id=RUN_ID,
        request="Fetch mock data, calculate 2 + 2, and summarize the result",
        started_at=0.0,
        **fields,
    ).model_dump(mode="json")


def _returns(*payloads: dict[str, Any]) -> dict[str, Any]:
    """One lambda:invoke answer per invocation, in order."""
    return {str(i): {"Return": {"StatusCode": 200, "Payload": p}} for i, p in enumerate(payloads)}


def _call(tool: str, step_id: str = "s1", attempt: int = 1, **args: Any) -> dict[str, Any]:
    call = ToolCall(run_id=RUN_ID, step_id=step_id, tool=tool, args=args, attempt=attempt)
    return _state(plan_ok=True, route="call", call=call)


def _result(tool: str, ok: bool = True, output: Any = None, error: ToolError | None = None) -> dict[str, Any]:
    return ToolResult(ok=ok, tool=tool, output=output, error=error).model_dump(mode="json")


def _observed(decision: str, tool: str, ok: bool = True, wait_seconds: int = 0) -> dict[str, Any]:
    outcome = ToolOutcome(result=ToolResult(ok=ok, tool=tool))
    return _state(plan_ok=True, decision=decision, wait_seconds=wait_seconds, outcome=outcome)


def _planned(*steps: tuple[str, str], revision: int = 0) -> dict[str, Any]:
    plan = Plan(steps=[Step(id=sid, tool=tool, args={}) for sid, tool in steps], revision=revision)
    return _state(plan=plan, plan_ok=True)


FINISH = _state(plan_ok=True, route="finish")
PERCEIVED = _returns(_state())
FINALIZED = _returns(_state(status="succeeded", final_output="2 + 2 = 4"))

MOCKED_RESPONSES: dict[str, dict[str, Any]] = {
    "Perceived": PERCEIVED,
    "Finalized": FINALIZED,
    "PlannedCalc": _returns(_planned(("s1", "calc"))),
    "PlanRejected": _returns(_state(plan_ok=False, plan_notes=["policy: no tool may delete data"])),
    "CalcThenFinish": _returns(_call("calc", expression="2 + 2"), FINISH),
    "CalcOk": _returns(_result("calc", output=4)),
    "ObservedContinue": _returns(_observed("continue", "calc")),
    # a retried tool: the first GET answers 503, Observe says retry, the second GET succeeds
    "PlannedGet": _returns(_planned(("s1", "http_get"))),
    "GetTwiceThenFinish": _returns(
        _call("http_get", url="/data"), _call("http_get", attempt=2, url="/data"), FINISH
    ),
    "Get503ThenOk": _returns(
        _result("http_get", ok=False, error=ToolError(kind="http_status", message="503", status_code=503)),
        _result("http_get", output={"items": [1, 2]}),
    ),
    "ObservedRetryThenContinue": _returns(
        _observed("retry", "http_get", ok=False), _observed("continue", "http_get")
    ),
    # a replan: GET answers 404, Observe says replan, the new plan queries the database instead
    "PlannedGetThenQuery": _returns(_planned(("s1", "http_get")), _planned(("s1b", "db_query"), revision=1)),
    "GetThenQueryThenFinish": _returns(
        _call("http_get", url="/gone"), _call("db_query", step_id="s1b", sql="SELECT 1"), FINISH
    ),
    "Get404": _returns(
        _result("http_get", ok=False, error=ToolError(kind="http_status", message="404", status_code=404))
    ),
    "QueryOk": _returns(_result("db_query", output=[{"1": 1}])),
    "ObservedReplanThenContinue": _returns(
        _observed("replan", "http_get", ok=False), _observed("continue", "db_query")
    ),
    # a stop guard: after one call NextStep finds max_steps reached and finishes the run as stopped
    "CalcThenStopped": _returns(
        _call("calc", expression="2 + 2"),
        _state(plan_ok=True, route="finish", status="stopped", stop_reason="max_steps"),
    ),
    "FinalizedStopped": _returns(_state(status="stopped", stop_reason="max_steps")),
    # platform faults: the Lambda service fails once (native Retry), or a layer raises (Catch)
    "ServiceErrorThenCalcOk": {
        "0": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "the Lambda service is unavailable"}},
        "1": {"Return": {"StatusCode": 200, "Payload": _result("calc", output=4)}},
    },
    "PerceiveContractError": {
        "0": {"Throw": {"Error": "StateContractError", "Cause": "Perceive: input is not a RunState"}}
    },
    "CallOfUnknownTool": _returns(_call("rm_rf", path="/")),
}

TEST_CASES: dict[str, dict[str, str]] = {
    "Happy": {
        "Perceive": "Perceived",
        "Plan": "PlannedCalc",
        "NextStep": "CalcThenFinish",
        "CallCalc": "CalcOk",
        "Observe": "ObservedContinue",
        "Finalize": "Finalized",
    },
    "RetriedTool": {
        "Perceive": "Perceived",
        "Plan": "PlannedGet",
        "NextStep": "GetTwiceThenFinish",
        "CallHttpGet": "Get503ThenOk",
        "Observe": "ObservedRetryThenContinue",
        "Finalize": "Finalized",
    },
    "Replan": {
        "Perceive": "Perceived",
        "Plan": "PlannedGetThenQuery",
        "NextStep": "GetThenQueryThenFinish",
        "CallHttpGet": "Get404",
        "CallDbQuery": "QueryOk",
        "Observe": "ObservedReplanThenContinue",
        "Finalize": "Finalized",
    },
    "StopGuard": {
        "Perceive": "Perceived",
        "Plan": "PlannedCalc",
        "NextStep": "CalcThenStopped",
        "CallCalc": "CalcOk",
        "Observe": "ObservedContinue",
        "Finalize": "FinalizedStopped",
    },
    "PlanRejected": {"Perceive": "Perceived", "Plan": "PlanRejected", "Finalize": "Finalized"},
    "LambdaServiceError": {
        "Perceive": "Perceived",
        "Plan": "PlannedCalc",
        "NextStep": "CalcThenFinish",
        "CallCalc": "ServiceErrorThenCalcOk",
        "Observe": "ObservedContinue",
        "Finalize": "Finalized",
    },
    "LayerCrash": {"Perceive": "PerceiveContractError", "Finalize": "Finalized"},
    "Unroutable": {"Perceive": "Perceived", "Plan": "PlannedCalc", "NextStep": "CallOfUnknownTool"},
}


def mock_config() -> dict[str, Any]:
    return {"StateMachines": {MACHINE: {"TestCases": TEST_CASES}}, "MockedResponses": MOCKED_RESPONSES}


# ---------------------------------------------------------------- LocalStack and the machine


@pytest.fixture(scope="module")
def localstack(tmp_path_factory):
    with running_for_tests(tmp_path_factory.mktemp("localstack"), mock_config()) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def sfn(localstack):
    import boto3

    return boto3.client(
        "stepfunctions",
        endpoint_url=localstack.url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def fake_function_arns() -> dict[str, str]:
    return {
        name: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:maoo-localstack-{function_name_for(name)}"
        for name in placeholders()
    }


@pytest.fixture(scope="module")
def machine_arn(sfn) -> str:
    definition = substitute(load_definition(), fake_function_arns())
    created = sfn.create_state_machine(
        name=MACHINE,
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/maoo-state-machine",
    )
    return created["stateMachineArn"]


@pytest.fixture
def run_case(sfn, machine_arn):
    """Run one mock test case through the project's own boto3 runner."""

    def run(case: str) -> Execution:
        runner = WorkflowRunner(sfn, f"{machine_arn}#{case}", poll_seconds=0.05)
        return runner.run(f"{case.lower()}-{os.urandom(3).hex()}", _state(), timeout_seconds=60)

    return run


# ---------------------------------------------------------------- behaviour


def test_happy_path_calls_the_tool_once_and_finalizes(run_case):
    execution = run_case("Happy")

    assert execution.status == "SUCCEEDED"
    assert states_entered(execution.history) == [
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
    assert execution.output["status"] == "succeeded"


def test_retry_decision_waits_in_backoff_then_calls_the_tool_again(run_case):
    execution = run_case("RetriedTool")

    assert execution.status == "SUCCEEDED"
    assert states_entered(execution.history) == [
        "ResumeAt",
        "Perceive",
        "Plan",
        "PlanOK?",
        "NextStep",
        "Route",
        "CallHttpGet",
        "Observe",
        "Decide",
        "Backoff",
        "NextStep",
        "Route",
        "CallHttpGet",
        "Observe",
        "Decide",
        "NextStep",
        "Route",
        "Finalize",
        "Done",
    ]


def test_replan_decision_goes_back_to_plan_and_runs_the_new_plan(run_case):
    execution = run_case("Replan")

    assert execution.status == "SUCCEEDED"
    assert states_entered(execution.history) == [
        "ResumeAt",
        "Perceive",
        "Plan",
        "PlanOK?",
        "NextStep",
        "Route",
        "CallHttpGet",
        "Observe",
        "Decide",
        "Plan",
        "PlanOK?",
        "NextStep",
        "Route",
        "CallDbQuery",
        "Observe",
        "Decide",
        "NextStep",
        "Route",
        "Finalize",
        "Done",
    ]


def test_stop_guard_finishes_the_run_as_stopped_without_another_call(run_case):
    execution = run_case("StopGuard")

    assert execution.status == "SUCCEEDED"
    assert states_entered(execution.history) == [
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
    assert execution.output["status"] == "stopped"
    assert execution.output["stop_reason"] == "max_steps"


def test_rejected_plan_never_reaches_a_tool(run_case):
    execution = run_case("PlanRejected")

    assert states_entered(execution.history) == [
        "ResumeAt",
        "Perceive",
        "Plan",
        "PlanOK?",
        "Finalize",
        "Done",
    ]


def test_lambda_service_error_is_retried_by_the_task_state_itself(run_case):
    execution = run_case("LambdaServiceError")

    assert execution.status == "SUCCEEDED"
    assert states_entered(execution.history).count("CallCalc") == 1
    failures = [e["taskFailedEventDetails"]["error"] for e in execution.history if e["type"] == "TaskFailed"]
    assert failures == ["Lambda.ServiceException"]


def test_contract_error_in_a_layer_is_caught_and_the_run_still_finalizes(run_case):
    execution = run_case("LayerCrash")

    assert execution.status == "SUCCEEDED"
    assert states_entered(execution.history) == ["ResumeAt", "Perceive", "Finalize", "Done"]
    finalize_input = next(
        json.loads(e["stateEnteredEventDetails"]["input"])
        for e in execution.history
        if e.get("stateEnteredEventDetails", {}).get("name") == "Finalize"
    )
    assert finalize_input["crash"]["Error"] == "StateContractError"


def test_a_tool_that_is_not_a_state_fails_the_execution(run_case):
    execution = run_case("Unroutable")

    assert execution.status == "FAILED"
    assert execution.error == "MAOO.Unroutable"
    assert states_entered(execution.history)[-2:] == ["Route", "Unroutable"]


def test_localstack_engine_finds_the_machine_by_name(localstack, machine_arn, monkeypatch):
    from chalicelib.config import reload_settings
    from chalicelib.workflow.engines import open_runner

    monkeypatch.setenv("MAOO_ENGINE", "localstack")
    monkeypatch.setenv("MAOO_LOCALSTACK_URL", localstack.url)
    monkeypatch.delenv("MAOO_STATE_MACHINE_ARN", raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    monkeypatch.setenv("MAOO_REGION", REGION)

    runner = open_runner(reload_settings(), handlers=dict)

    assert runner.state_machine_arn == machine_arn
