"""The packaged template's ``WorkflowType``: Standard by default, Express on request, and the API
function told which one it starts (it then reads a run's end from the run store)."""

from __future__ import annotations

from chalicelib.config import WORKFLOW_TYPES


def test_the_template_takes_a_workflow_type_standard_by_default(packaged):
    parameter = packaged.template["Parameters"]["WorkflowType"]

    assert parameter["Default"] == "STANDARD"
    assert parameter["AllowedValues"] == ["STANDARD", "EXPRESS"]
    assert [v.lower() for v in parameter["AllowedValues"]] == list(WORKFLOW_TYPES)
    machine = packaged.resources["MaooStateMachine"]["Properties"]
    assert machine["StateMachineType"] == {"Ref": "WorkflowType"}


def test_the_api_function_knows_the_workflow_type_it_starts(packaged):
    variables = packaged.resources["APIHandler"]["Properties"]["Environment"]["Variables"]

    assert variables["MAOO_WORKFLOW_TYPE"] == {"Ref": "WorkflowType"}
