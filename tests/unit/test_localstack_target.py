"""What the LocalStack deploy decides before CloudFormation runs: session, parameters, overrides."""

from __future__ import annotations

import os

import pytest

from deploy.localstack import (
    EndpointError,
    LocalStackInfo,
    ParameterError,
    client,
    localstack_session,
    parse_overrides,
    target_parameters,
)

HOST_RUNTIME = LocalStackInfo(
    {"cloudformation": "running", "lambda": "running", "dynamodb": "disabled"}, in_docker=False
)
IN_DOCKER = LocalStackInfo(
    {"cloudformation": "running", "lambda": "running", "dynamodb": "available"}, in_docker=True
)


def test_the_session_talks_to_the_endpoint_given_even_when_aws_endpoint_url_names_another(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")

    sfn = client(localstack_session("http://127.0.0.1:45999"), "stepfunctions")

    assert sfn.meta.endpoint_url == "http://127.0.0.1:45999"
    assert sfn.meta.config.inject_host_prefix is False  # TestState's sync- prefix cannot resolve on an IP
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"  # restored


def test_an_endpoint_that_is_not_a_url_is_refused():
    with pytest.raises(EndpointError, match="is not an http"):
        localstack_session("127.0.0.1:4566")


def test_the_host_runtime_leaves_out_tables_and_functions_and_says_why():
    parameters, warnings = target_parameters(HOST_RUNTIME)

    assert parameters == {"DeployTables": "false", "DeployFunctions": "false"}
    assert any("no DynamoDB" in w for w in warnings) and any(
        "cannot run Python Lambdas" in w for w in warnings
    )


def test_localstack_in_docker_deploys_the_whole_template():
    assert target_parameters(IN_DOCKER) == ({"DeployTables": "true", "DeployFunctions": "true"}, [])


def test_overrides_take_only_the_templates_parameters_and_values():
    assert parse_overrides(["DeployTables=true", " DeployFunctions = false "]) == {
        "DeployTables": "true",
        "DeployFunctions": "false",
    }
    with pytest.raises(ParameterError, match="DeployTables=true\\|false"):
        parse_overrides(["Tables=yes"])
