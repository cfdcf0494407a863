"""The definition's decision states, one at a time, through Step Functions' TestState API on LocalStack.

TestState runs a single state on a given input and answers with the state it would go to next,
without a state machine or an execution. Each Choice state (``ResumeAt``, ``PlanOK?``, ``Route``, ``Decide``)
gets one ``RunState`` input per branch, built from ``chalicelib.contracts``; a test checks that the
inputs cover every ``Next`` and the ``Default`` of that Choice, so a branch added to the definition
without an input here fails.

The ``Backoff`` Wait state cannot go through TestState here: LocalStack 2026.3.0 answers a Wait
with an InternalError ("unsupported ProgramState ... ProgramRunning"). A strict xfail records that,
and fails once LocalStack serves it. ``Backoff`` itself runs instead as the only state of an
execution, where the history shows it read ``$.wait_seconds`` and passed its input on unchanged.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib.tools.names import TOOL_NAMES
from chalicelib.workflow.definition import load_definition
from deploy import generate
from tests.integration.localstack import running_for_tests
from tests.integration.test_localstack_sfn import ACCOUNT, _call, _state

pytestmark = pytest.mark.integration

ROLE = f"arn:aws:iam::{ACCOUNT}:role/maoo-state-machine"
STATES = load_definition()["States"]
TOOLS = {tool: generate.state_name(tool) for tool in TOOL_NAMES}

BRANCHES: dict[str, list[tuple[str, dict[str, Any], str]]] = {
    "PlanOK?": [
        ("plan accepted", _state(plan_ok=True), "NextStep"),
        ("plan rejected", _state(plan_ok=False), "Finalize"),
    ],
    "Route": [
        ("finish", _state(plan_ok=True, route="finish"), "Finalize"),
        *[(f"call {tool}", _call(tool), state) for tool, state in TOOLS.items()],
        ("call a tool that is not a state", _call("rm_rf"), "Unroutable"),
        ("hold a write for approval", _state(plan_ok=True, route="await_approval"), "AwaitingApproval"),
        ("go on as a new execution (Express)", _state(plan_ok=True, route="continue"), "ContinueAsNew"),
    ],
    # the entry: a new run goes to Perceive; a resumed one to the state its checkpoint was saved before
    "ResumeAt": [
        ("a new run", _state(), "Perceive"),
        (
            "a new run whose input has no resume_at",
            {k: v for k, v in _state().items() if k != "resume_at"},
            "Perceive",
        ),
        *[
            (f"resumed at {target}", _state(resume_at=target), target)
            for target in ("Plan", "PlanOK?", "NextStep", "Route", "Observe", "Decide", "Finalize", "Done")
        ],
    ],
    "Decide": [
        (decision, _state(plan_ok=True, decision=decision), target)
        for decision, target in (
            ("continue", "NextStep"),
            ("patch_args", "NextStep"),
            ("retry", "Backoff"),
            ("replan", "Plan"),
            ("abort", "Finalize"),
        )
    ]
    + [
        (
            "a decision Decide does not know",
            {**_state(plan_ok=True), "decision": "improvise"},
            "UnknownDecision",
        )
    ],
}
CASES = [
    pytest.param(name, given, expected, id=f"{name}: {label}")
    for name, rows in BRANCHES.items()
    for label, given, expected in rows
]


@pytest.fixture(scope="module")
def localstack(tmp_path_factory):
    with running_for_tests(tmp_path_factory.mktemp("localstack-teststate"), {}) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def sfn(localstack):
    from deploy.localstack import client, localstack_session

    return client(localstack_session(localstack.url), "stepfunctions")


def _choice_targets(state: dict[str, Any]) -> set[str]:
    return {rule["Next"] for rule in state["Choices"]} | {state["Default"]}


@pytest.mark.parametrize("name", sorted(BRANCHES))
def test_the_inputs_cover_every_branch_of_the_choice(name):
    assert STATES[name]["Type"] == "Choice"
    assert {expected for _, _, expected in BRANCHES[name]} == _choice_targets(STATES[name])


@pytest.mark.parametrize(("name", "given", "expected"), CASES)
def test_a_choice_state_sends_each_input_to_its_branch(sfn, name, given, expected):
    answer = sfn.test_state(definition=json.dumps(STATES[name]), roleArn=ROLE, input=json.dumps(given))

    assert answer["status"] == "SUCCEEDED", answer
    assert answer["nextState"] == expected
    assert json.loads(answer["output"]) == given  # a Choice decides, it changes nothing


@pytest.mark.xfail(
    strict=True, reason="LocalStack 2026.3.0's TestState cannot run a Wait state (InternalError)"
)
def test_backoff_through_test_state(sfn):
    answer = sfn.test_state(
        definition=json.dumps(STATES["Backoff"]),
        roleArn=ROLE,
        input=json.dumps(_state(plan_ok=True, decision="retry", wait_seconds=0)),
    )

    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", "NextStep")


def _run_alone(sfn, state_name: str, given: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Run ``state_name`` from the definition as the only state of a machine whose ``Next`` is a Succeed
    state of the same name; returns the execution's status and history."""
    state = STATES[state_name]
    definition = {"StartAt": state_name, "States": {state_name: state, state["Next"]: {"Type": "Succeed"}}}
    machine = sfn.create_state_machine(
        name=f"alone-{state_name.lower()}-{time.monotonic_ns()}",
        definition=json.dumps(definition),
        roleArn=ROLE,
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(given))["executionArn"]
    deadline = time.monotonic() + 60
    while (
        status := sfn.describe_execution(executionArn=arn)["status"]
    ) == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    return status, sfn.get_execution_history(executionArn=arn)["events"]


def test_backoff_waits_the_seconds_observe_chose_then_passes_the_state_on_unchanged(sfn):
    given = _state(plan_ok=True, decision="retry", wait_seconds=1)

    status, history = _run_alone(sfn, "Backoff", given)

    assert status == "SUCCEEDED"
    kinds = [e["type"] for e in history]
    assert (
        kinds.index("WaitStateEntered") < kinds.index("WaitStateExited") < kinds.index("SucceedStateEntered")
    )
    next_input = next(e["stateEnteredEventDetails"] for e in history if e["type"] == "SucceedStateEntered")
    assert next_input["name"] == "NextStep" and json.loads(next_input["input"]) == given


def test_backoff_without_a_number_of_seconds_fails_the_execution(sfn):
    given = {**_state(plan_ok=True, decision="retry"), "wait_seconds": "soon"}

    status, history = _run_alone(sfn, "Backoff", given)

    assert status == "FAILED"
    failed = next(e["executionFailedEventDetails"] for e in history if e["type"] == "ExecutionFailed")
    assert failed["error"] == "States.Runtime" and "wait_seconds" in failed.get("cause", "")
