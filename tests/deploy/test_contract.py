"""The ASL file, ``app.py``, ``chalicelib/errors.py`` and ``.chalice/`` agree with each other.

No packaging here: these read the files and run in milliseconds.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

import chalicelib.errors as errors
from chalicelib.workflow.definition import function_name_for, load_definition, placeholders
from deploy.package import MERGE_TEMPLATE, PROJECT_DIR, STATE_MACHINE_ID, logical_id

pytestmark = pytest.mark.deploy

# Errors Step Functions itself raises (ASL spec, "Error names") and those of the Lambda service
# integration (arn:aws:states:::lambda:invoke).
STATES_ERRORS = {
    "States.ALL",
    "States.DataLimitExceeded",
    "States.ExceedToleratedFailureThreshold",
    "States.HeartbeatTimeout",
    "States.Http.Socket",
    "States.IntrinsicFailure",
    "States.ItemReaderFailed",
    "States.NoChoiceMatched",
    "States.ParameterPathFailure",
    "States.Permissions",
    "States.QueryEvaluationError",
    "States.ResultPathMatchFailure",
    "States.ResultWriterFailed",
    "States.Runtime",
    "States.TaskFailed",
    "States.Timeout",
    "States.BranchFailed",
}
LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
    # a function that ran past its timeout (the Lambda runtime's error type, passed on by Step Functions)
    "Sandbox.Timedout",
}
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
}
PATH_IN_TEXT = re.compile(
    r"\b((?:chalicelib|cli|deploy|docs|embedded_engine|localrun|tests|eval|mock_api|scripts|\.chalice)/[\w./-]*[\w/]|[\w-]+\.(?:md|py))\b"
)


def _states() -> dict[str, dict[str, Any]]:
    return load_definition()["States"]


def _tasks() -> Iterator[tuple[str, dict[str, Any]]]:
    return ((name, state) for name, state in _states().items() if state["Type"] == "Task")


def _declared_functions() -> set[str]:
    from app import app

    return {function.name for function in app.pure_lambda_functions}


def _deployed_functions() -> set[str]:
    """What chalice deploys: the declared functions, plus ``api_handler`` once there are routes."""
    from app import app

    return _declared_functions() | ({"api_handler"} if app.routes else set())


def _logical_id(function: str) -> str:
    return "APIHandler" if function == "api_handler" else logical_id(function)


def _chalice_config() -> dict[str, Any]:
    return json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())


def _merge_template() -> dict[str, Any]:
    return json.loads((PROJECT_DIR / MERGE_TEMPLATE).read_text())


# ---------------------------------------------------------------- ASL <-> app.py


def test_every_placeholder_maps_to_a_function_declared_in_app_py():
    declared = _declared_functions()

    unbound = {name for name in placeholders() if function_name_for(name) not in declared}

    assert unbound == set()


def test_state_placeholder_and_function_names_line_up():
    for name, state in _tasks():
        placeholder = state["Parameters"]["FunctionName"]
        stem = placeholder.removeprefix("${").removesuffix("FunctionArn}")
        expected = "Tool" + name.removeprefix("Call") if name.startswith("Call") else name
        assert stem == expected, f"{name} calls {placeholder}"
        assert logical_id(function_name_for(stem + "FunctionArn")) == stem


def test_every_error_named_in_retry_or_catch_exists():
    ours = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, Exception)
    }
    known = STATES_ERRORS | LAMBDA_ERRORS | ours

    named = {
        error
        for _, state in _tasks()
        for rule in state.get("Retry", []) + state.get("Catch", [])
        for error in rule["ErrorEquals"]
    }

    assert named - known == set()


def test_every_task_retries_lambda_service_errors():
    for name, state in _tasks():
        retried = {e for rule in state.get("Retry", []) for e in rule["ErrorEquals"]}
        assert LAMBDA_SERVICE_ERRORS <= retried, name


def test_every_retry_has_full_jitter_and_a_cap():
    for name, state in _tasks():
        for rule in state["Retry"]:
            assert rule.get("JitterStrategy") == "FULL", name
            assert 0 < rule.get("MaxDelaySeconds", 0) <= 60, name
            assert rule["MaxAttempts"] >= 1 and rule["BackoffRate"] >= 1, name


def test_each_catch_names_its_errors_and_states_all_is_only_the_commented_last_fallback():
    for name, state in _tasks():
        catches = state["Catch"]
        assert all(rule["ErrorEquals"] for rule in catches), name
        named = [rule for rule in catches if "States.ALL" not in rule["ErrorEquals"]]
        assert named and catches[: len(named)] == named, f"{name}: States.ALL comes before a named catcher"
        # a checkpoint the store refused ends the execution at once: no later state runs on it
        assert (named[0]["ErrorEquals"], named[0]["Next"]) == (["StoreError"], "StoreFailed"), name
        assert "StateContractError" in named[1]["ErrorEquals"], name
        assert LAMBDA_SERVICE_ERRORS <= {e for rule in named for e in rule["ErrorEquals"]}, name
        fallback = catches[len(named) :]
        assert [rule["ErrorEquals"] for rule in fallback] in ([], [["States.ALL"]]), name
        if fallback:
            assert "States.ALL" in state.get("Comment", ""), (
                f"{name}: its Comment must say why it falls back to States.ALL"
            )


def test_every_path_a_comment_names_exists():
    definition = load_definition()
    comments = [definition["Comment"]] + [state.get("Comment", "") for state in definition["States"].values()]

    named = {match for comment in comments for match in PATH_IN_TEXT.findall(comment)}

    assert named, "the comments point at no file"
    missing = sorted(path for path in named if not (PROJECT_DIR / path).exists())
    assert missing == []


def test_platform_errors_are_not_retried_as_if_transient():
    """A contract violation is a bug: a Retry on it would only repeat the failure."""
    retried = {e for _, state in _tasks() for rule in state.get("Retry", []) for e in rule["ErrorEquals"]}

    assert {"StateContractError", "PlatformError", "States.ALL"} & retried == set()


# ---------------------------------------------------------------- .chalice/


def test_every_declared_function_has_its_own_timeout_and_memory():
    settings = _chalice_config()["lambda_functions"]

    for function in _deployed_functions():
        assert {"lambda_timeout", "lambda_memory_size"} <= set(settings.get(function, {})), function


def test_stages_choose_engine_store_and_logs():
    stages = _chalice_config()["stages"]

    assert set(stages) == {"local", "localstack", "prod"}
    chosen = {
        name: {
            k: stage["environment_variables"][k]
            for k in ("MAOO_ENGINE", "MAOO_STORE", "MAOO_LOG_DESTINATION")
        }
        for name, stage in stages.items()
    }
    assert chosen == {
        "local": {"MAOO_ENGINE": "embedded", "MAOO_STORE": "sqlite", "MAOO_LOG_DESTINATION": "file"},
        "localstack": {
            "MAOO_ENGINE": "localstack",
            "MAOO_STORE": "dynamodb",
            "MAOO_LOG_DESTINATION": "stdout",
        },
        "prod": {"MAOO_ENGINE": "aws", "MAOO_STORE": "dynamodb", "MAOO_LOG_DESTINATION": "stdout"},
    }
    assert _chalice_config()["environment_variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert stages["prod"]["environment_variables"]["POWERTOOLS_TRACE_DISABLED"] == "false"


def test_localstack_stage_gives_each_function_the_same_tables_as_prod():
    """The LocalStack stage names its tables in config.json; prod binds them in the merge template."""
    localstack = _chalice_config()["stages"]["localstack"]["lambda_functions"]
    merge = _merge_template()["Resources"]

    def tables(variables: dict[str, Any]) -> set[str]:
        return {name for name in variables if name.endswith("_TABLE")}

    for function in _deployed_functions():
        local_tables = tables(localstack[function]["environment_variables"])
        prod_tables = tables(merge[_logical_id(function)]["Properties"]["Environment"]["Variables"])
        assert local_tables == prod_tables, function


def test_merge_template_gives_every_declared_function_a_role():
    merge = _merge_template()["Resources"]

    for function in _deployed_functions():
        assert "Fn::GetAtt" in merge[_logical_id(function)]["Properties"]["Role"], function
    assert merge[STATE_MACHINE_ID]["Type"] == "AWS::StepFunctions::StateMachine"
    assert "Definition" not in merge[STATE_MACHINE_ID]["Properties"], "the definition comes from the ASL file"


def test_every_function_handler_string_names_an_attribute_of_app():
    """Lambda loads ``app.<handler>``: a handler string that names nothing fails every cold start."""
    import app as app_module

    functions = app_module.app.pure_lambda_functions
    assert len(functions) == 11
    for function in functions:
        module, _, attribute = function.handler_string.partition(".")
        assert module == "app" and attribute == function.name and hasattr(app_module, attribute), (
            function.handler_string
        )


def test_state_machine_logging_and_tracing_are_set_on_purpose_with_their_cost():
    machine = _merge_template()["Resources"][STATE_MACHINE_ID]
    logging = machine["Properties"]["LoggingConfiguration"]

    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ERROR", False)
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}
    comment = machine["Metadata"]["Comment"]
    assert "LoggingConfiguration" in comment and "TracingConfiguration" in comment and "$" in comment
