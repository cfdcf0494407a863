"""The ASL definition's placeholders, and their structural binding."""

from __future__ import annotations

import json

import pytest

from chalicelib.tools.names import TOOL_NAMES
from chalicelib.workflow.definition import function_name_for, load_definition, placeholders, substitute
from deploy import generate

EXPECTED = {
    "PerceiveFunctionArn",
    "PlanFunctionArn",
    "NextStepFunctionArn",
    "ObserveFunctionArn",
    "FinalizeFunctionArn",
    *(f"{generate.logical_id(tool)}FunctionArn" for tool in TOOL_NAMES),
}


def _arn(placeholder: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:maoo-local-{function_name_for(placeholder)}"


def test_definition_has_one_placeholder_per_layer_and_tool():
    assert placeholders(load_definition()) == EXPECTED


@pytest.mark.parametrize(
    "placeholder, name",
    [
        ("ToolHttpGetFunctionArn", "tool_http_get"),
        ("ToolDbQueryFunctionArn", "tool_db_query"),
        ("NextStepFunctionArn", "next_step"),
        ("PlanFunctionArn", "plan"),
    ],
)
def test_function_name_for_placeholder(placeholder, name):
    assert function_name_for(placeholder) == name


def test_substitute_binds_every_placeholder():
    # given a value for every placeholder
    values = {name: _arn(name) for name in EXPECTED}
    # when the definition is bound
    bound = substitute(load_definition(), values)
    text = json.dumps(bound)
    # then no placeholder is left and every ARN is in place
    assert "${" not in text
    assert all(json.dumps(arn) in text for arn in values.values())
    assert placeholders(bound) == set()


def test_substitute_leaves_the_loaded_definition_unchanged():
    substitute(load_definition(), {name: _arn(name) for name in EXPECTED})
    assert placeholders(load_definition()) == EXPECTED


def test_substitute_refuses_a_missing_binding_by_name():
    values = {name: _arn(name) for name in EXPECTED - {"ToolCalcFunctionArn"}}
    with pytest.raises(KeyError) as exc:
        substitute(load_definition(), values)
    assert exc.value.args[0] == "no value for placeholder(s): ToolCalcFunctionArn"


def test_substitute_binds_whole_strings_only():
    # a placeholder inside longer text is not a placeholder: binding is structural, not text replacement
    definition = {
        "States": {
            "Plan": {
                "Type": "Task",
                "Comment": "calls ${PlanFunctionArn}",
                "Parameters": {"FunctionName": "${PlanFunctionArn}"},
                "Next": ["${X}"],
            }
        }
    }
    bound = substitute(definition, {"PlanFunctionArn": "arn:plan", "X": "arn:x"})
    assert bound == {
        "States": {
            "Plan": {
                "Type": "Task",
                "Comment": "calls ${PlanFunctionArn}",
                "Parameters": {"FunctionName": "arn:plan"},
                "Next": ["arn:x"],
            }
        }
    }


def test_empty_definition_has_no_placeholders():
    assert placeholders({}) == set()
