"""A resume and an approval through the real definition on LocalStack's Step Functions runtime.

The Lambda answers come from an ``SFN_MOCK_CONFIG`` file (LocalStack's host runtime cannot run our
Python Lambdas). Under test is the definition: its entry Choice ``ResumeAt`` sends a resumed run
to the state its checkpoint was saved before, and a held write ends the execution in
``AwaitingApproval``; the approval's execution then runs the write.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.contracts import ApprovalRequest, Plan, RunState, Step, ToolCall, ToolOutcome, ToolResult
from chalicelib.workflow.definition import load_definition, substitute
from chalicelib.workflow.sfn_runner import Execution, WorkflowRunner, states_entered
from tests.integration.localstack import running_for_tests
from tests.integration.test_localstack_sfn import ACCOUNT, REGION, fake_function_arns

pytestmark = pytest.mark.integration
MACHINE = "maoo-durable"
RUN_ID = "run-durable"
PLAN = Plan(
    steps=[Step(id="s1", tool="http_post", args={"url": "/incidents", "json_body": {"service": "checkout"}})]
)
POST = ToolCall(
    run_id=RUN_ID, step_id="s1", tool="http_post", args=PLAN.steps[0].args, idempotency_key=f"{RUN_ID}:s1:abc"
)


def _state(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"plan": PLAN, "plan_ok": True, **fields}
    return RunState(
        run_id=RUN_ID, request="Open an incident for checkout", started_at=0.0, approve="writes", **values
    ).model_dump(mode="json")


def _returns(*payloads: dict[str, Any]) -> dict[str, Any]:
    return {str(i): {"Return": {"StatusCode": 200, "Payload": p}} for i, p in enumerate(payloads)}


HELD = _state(
    route="await_approval",
    status="awaiting_approval",
    call=POST,
    pending_approval=ApprovalRequest(
        step_id="s1",
        tool="http_post",
        args=POST.args,
        side_effect="write-idempotent",
        reason="approval of writes",
        requested_at=0.0,
    ),
)
MOCKED = {
    "Perceived": _returns(_state(plan=None, plan_ok=False)),
    "Planned": _returns(_state()),
    "Holds": _returns(HELD),
    "PostThenFinish": _returns(_state(route="call", call=POST), _state(route="finish")),
    "PostOk": _returns(ToolResult(ok=True, tool="http_post", output={"id": "INC-1"}).model_dump(mode="json")),
    "ObservedContinue": _returns(
        _state(decision="continue", outcome=ToolOutcome(result=ToolResult(ok=True, tool="http_post")))
    ),
    "Finalized": _returns(_state(status="succeeded", final_output="INC-1 opened")),
}
CASES = {
    # the first execution: the write is held, the execution ends in AwaitingApproval
    "Held": {"Perceive": "Perceived", "Plan": "Planned", "NextStep": "Holds"},
    # the approval's execution (RUN_ID-r1): resumed at NextStep, which now routes the call
    "Approved": {
        "NextStep": "PostThenFinish",
        "CallHttpPost": "PostOk",
        "Observe": "ObservedContinue",
        "Finalize": "Finalized",
    },
    # a run resumed after a crash between the tool and Observe: its checkpointed result goes to Observe
    "ResumedAtObserve": {
        "Observe": "ObservedContinue",
        "NextStep": "PostThenFinish",
        "CallHttpPost": "PostOk",
        "Finalize": "Finalized",
    },
}


@pytest.fixture(scope="module")
def sfn_machine(tmp_path_factory):
    import boto3

    config = {"StateMachines": {MACHINE: {"TestCases": CASES}}, "MockedResponses": MOCKED}
    with running_for_tests(tmp_path_factory.mktemp("localstack-durable"), config) as runtime:
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=runtime.url,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        definition = substitute(load_definition(), fake_function_arns())
        arn = sfn.create_state_machine(
            name=MACHINE,
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/maoo-state-machine",
        )["stateMachineArn"]
        yield sfn, arn


def _run(sfn_machine, case: str, name: str, payload: dict[str, Any]) -> Execution:
    sfn, arn = sfn_machine
    return WorkflowRunner(sfn, f"{arn}#{case}", poll_seconds=0.05).run(name, payload, timeout_seconds=60)


def test_a_held_write_ends_the_execution_in_awaiting_approval_and_the_approval_runs_it(sfn_machine):
    held = _run(sfn_machine, "Held", RUN_ID, _state(plan=None, plan_ok=False))
    assert held.status == "SUCCEEDED"
    assert states_entered(held.history) == [
        "ResumeAt",
        "Perceive",
        "Plan",
        "PlanOK?",
        "NextStep",
        "Route",
        "AwaitingApproval",
    ]
    assert held.output["status"] == "awaiting_approval" and held.output["pending_approval"]["step_id"] == "s1"

    approved = RunState.model_validate(held.output).model_copy(
        update={
            "status": "running",
            "route": None,
            "call": None,
            "pending_approval": None,
            "approved": ["s1:http_post"],
            "resume_at": "NextStep",
        }
    )
    after = _run(sfn_machine, "Approved", f"{RUN_ID}-r1", approved.model_dump(mode="json"))
    assert after.status == "SUCCEEDED"
    assert states_entered(after.history) == [
        "ResumeAt",
        "NextStep",
        "Route",
        "CallHttpPost",
        "Observe",
        "Decide",
        "NextStep",
        "Route",
        "Finalize",
        "Done",
    ]


def test_a_resumed_run_starts_at_its_checkpointed_state(sfn_machine):
    checkpoint = _state(
        route="call",
        call=POST,
        outcome=ToolOutcome(result=ToolResult(ok=True, tool="http_post")),
        resume_at="Observe",
    )
    resumed = _run(sfn_machine, "ResumedAtObserve", f"{RUN_ID}-r2", checkpoint)
    assert resumed.status == "SUCCEEDED"
    assert states_entered(resumed.history)[:3] == ["ResumeAt", "Observe", "Decide"]
    assert resumed.output["final_output"] == "INC-1 opened"
