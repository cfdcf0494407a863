"""The two template parameters: what they leave out and how what stays still refers to it."""

from __future__ import annotations

from typing import Any

import pytest

from deploy.template_conditions import ConditionError, add_conditions


def _template(**extra: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "RunsTable": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "ToolCalc": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Environment": {"Variables": {"MAOO_RUNS_TABLE": {"Ref": "RunsTable"}}}},
            },
            "ToolCalcLogGroup": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${ToolCalc}"}},
            },
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [
                        {
                            "Resource": [
                                {"Fn::GetAtt": ["RunsTable", "Arn"]},
                                {"Fn::GetAtt": ["ToolCalc", "Arn"]},
                            ]
                        }
                    ]
                },
            },
            **extra,
        },
        "Outputs": {
            "Calc": {"Value": {"Fn::GetAtt": ["ToolCalc", "Arn"]}},
            "RoleArn": {"Value": {"Fn::GetAtt": ["Role", "Arn"]}},
        },
    }


def test_tables_functions_and_what_is_attached_to_them_get_a_condition():
    resources = add_conditions(_template())["Resources"]

    assert resources["RunsTable"]["Condition"] == "WithTables"
    assert resources["ToolCalc"]["Condition"] == "WithFunctions"
    assert resources["ToolCalcLogGroup"]["Condition"] == "WithFunctions"
    assert "Condition" not in resources["Role"]


def test_a_left_out_table_drops_out_of_the_environment_and_an_arn_falls_back_to_a_name():
    result = add_conditions(_template())
    variables = result["Resources"]["ToolCalc"]["Properties"]["Environment"]["Variables"]
    table_arn, function_arn = result["Resources"]["Role"]["Properties"]["Policies"][0]["Resource"]

    assert variables["MAOO_RUNS_TABLE"] == {
        "Fn::If": ["WithTables", {"Ref": "RunsTable"}, {"Ref": "AWS::NoValue"}]
    }
    assert table_arn["Fn::If"][0] == "WithTables" and table_arn["Fn::If"][2]["Fn::Sub"].endswith(
        ":table/${AWS::StackName}-RunsTable"
    )
    assert function_arn["Fn::If"][0] == "WithFunctions"
    assert function_arn["Fn::If"][1] == {"Fn::GetAtt": ["ToolCalc", "Arn"]}
    assert result["Outputs"]["Calc"]["Condition"] == "WithFunctions"
    assert "Condition" not in result["Outputs"]["RoleArn"]


def test_a_sub_that_names_a_left_out_resource_is_refused_with_its_name():
    extra = {
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {"AlarmName": {"Fn::Sub": "${ToolCalc}-errors"}},
        }
    }

    with pytest.raises(ConditionError, match=r"Alarm names ToolCalc inside Fn::Sub"):
        add_conditions(_template(**extra))


def test_the_defaults_deploy_everything():
    parameters = add_conditions(_template())["Parameters"]

    assert (
        parameters["DeployTables"]["Default"] == "true" and parameters["DeployFunctions"]["Default"] == "true"
    )
