"""What ``python -m deploy package --stage prod`` produces is deployable as it is.

cfn-lint checks the template's schema but not a ``GetAtt`` inside ``DefinitionSubstitutions`` nor
the ASL's own transitions (both were checked by breaking them on purpose), so those have tests of
their own here, and asl-validator reads the definition.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from importlib.util import find_spec
from typing import Any

import pytest

from chalicelib.tools.registry import TOOLS
from chalicelib.workflow.definition import load_definition, placeholders, substitute, walk
from deploy import generate
from deploy.package import STATE_MACHINE_ID, PackagingError, bind_definition, logical_id

pytestmark = pytest.mark.deploy

LAYERS = {"Perceive", "Plan", "NextStep", "Observe", "Finalize"}
# from the tool registry: a read tool runs under the read role, any other under the write role
READ_TOOLS = {generate.logical_id(spec.name) for spec in TOOLS.values() if spec.side_effect == "read"}
WRITE_TOOLS = {generate.logical_id(spec.name) for spec in TOOLS.values() if spec.side_effect != "read"}
API = {"APIHandler"}
SUB_VARIABLE = re.compile(r"\$\{(?!!)([A-Za-z0-9_:]+)(?:\.[A-Za-z0-9_.]+)?\}")


def _references(template: dict[str, Any]) -> set[str]:
    """Every logical id or parameter named by ``Ref``, ``Fn::GetAtt`` or a ``Fn::Sub`` variable."""
    names: set[str] = set()
    for node in walk(template):
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("Ref"), str):
            names.add(node["Ref"])
        get_att = node.get("Fn::GetAtt")
        if get_att is not None:
            names.add(get_att[0] if isinstance(get_att, list) else get_att.split(".", 1)[0])
        sub = node.get("Fn::Sub")
        if sub is not None:
            text, local = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
            names.update(n for n in SUB_VARIABLE.findall(text) if n not in local)
    return names


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _tables_in(value: Any, tables: set[str]) -> set[str]:
    return {name for name in _references({"v": value}) if name in tables}


# ---------------------------------------------------------------- the package


def test_package_writes_a_template_and_a_lambda_zip_with_linux_wheels(packaged):
    zip_path = packaged.template_path.parent / "deployment.zip"

    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())

    assert {"app.py", "chalicelib/statemachine/maoo.asl.json", "chalicelib/workflow/definition.py"} <= names
    assert any(n.startswith("pydantic_core/") and n.endswith("x86_64-linux-gnu.so") for n in names)
    assert not any(n.startswith(("tests/", "cli/", "mock_api/")) for n in names)


def test_the_lambda_zip_holds_no_embedded_engine_and_no_moto_patches(packaged):
    with zipfile.ZipFile(packaged.template_path.parent / "deployment.zip") as archive:
        ours = {
            n: archive.read(n).decode("utf-8", "replace")
            for n in archive.namelist()
            if n == "app.py" or n.startswith("chalicelib/")
        }

    assert not any(n.startswith("embedded_engine/") for n in ours)
    assert not [
        n
        for n in ours
        if n.endswith((".py", ".pyc"))
        and n.rsplit("/", 1)[-1].startswith(("embedded", "interpreter_speedups", "deferred_imports"))
    ]
    patching = [
        n for n, text in ours.items() if "mock.patch" in text or "from moto" in text or "import moto" in text
    ]
    assert patching == []


def test_state_machine_definition_is_the_asl_file_unchanged(packaged):
    properties = packaged.resources[STATE_MACHINE_ID]["Properties"]

    assert properties["Definition"] == load_definition()
    assert "DefinitionString" not in properties


def _deployed(value: Any) -> Any:
    """What an ``Fn::If`` on ``DeployFunctions``/``DeployTables`` gives with the defaults (AWS): its true branch."""
    if isinstance(value, dict) and "Fn::If" in value:
        assert value["Fn::If"][0] in ("WithFunctions", "WithTables")
        return value["Fn::If"][1]
    return value


def test_every_placeholder_is_bound_to_its_function_arn(packaged):
    substitutions = packaged.resources[STATE_MACHINE_ID]["Properties"]["DefinitionSubstitutions"]

    assert set(substitutions) == placeholders()
    for name, value in substitutions.items():
        target = name.removesuffix("FunctionArn")
        assert _deployed(value) == {"Fn::GetAtt": [target, "Arn"]}
        assert packaged.resources[target]["Type"] == "AWS::Serverless::Function"


def test_the_parameters_leave_out_tables_and_functions_and_default_to_deploying_them(packaged):
    parameters = packaged.template["Parameters"]
    assert {name: p["Default"] for name, p in parameters.items() if name.startswith("Deploy")} == {
        "DeployTables": "true",
        "DeployFunctions": "true",
    }

    for rid, resource in packaged.resources.items():
        if resource["Type"] == "AWS::DynamoDB::Table":
            assert resource.get("Condition") == "WithTables", rid
        if resource["Type"] in (
            "AWS::Serverless::Function",
            "AWS::Serverless::Api",
            "AWS::Lambda::Permission",
        ):
            assert resource.get("Condition") == "WithFunctions", rid
    for rid in ("MaooStateMachine", "StateMachineRole", "LayerRole", "StateMachineLogGroup"):
        assert "Condition" not in packaged.resources[rid], f"{rid} must deploy on every target"


def test_without_functions_the_state_machine_still_names_an_arn_for_each(packaged):
    substitutions = packaged.resources[STATE_MACHINE_ID]["Properties"]["DefinitionSubstitutions"]

    for name, value in substitutions.items():
        condition, _, fallback = value["Fn::If"]
        assert condition == "WithFunctions"
        assert fallback["Fn::Sub"].endswith(
            f":function:${{AWS::StackName}}-{name.removesuffix('FunctionArn')}"
        )


def test_every_ref_and_getatt_names_a_resource_that_exists(packaged):
    known = set(packaged.resources) | set(packaged.template.get("Parameters", {}))

    dangling = {
        name for name in _references(packaged.template) if name not in known and not name.startswith("AWS::")
    }

    assert dangling == set()


def test_every_function_runs_under_a_role_of_the_template(packaged):
    roles = {rid for rid, r in packaged.resources.items() if r["Type"] == "AWS::IAM::Role"}

    for function_id, function in packaged.functions().items():
        role = function["Properties"]["Role"]
        assert isinstance(role, dict) and role["Fn::GetAtt"][0] in roles, function_id


def test_the_packaged_api_carries_the_request_and_response_models_of_the_openapi_document(packaged):
    from chalicelib.http_contract import operations

    body = packaged.resources["RestAPI"]["Properties"]["DefinitionBody"]
    definitions = body["definitions"]

    run = body["paths"]["/runs"]["post"]
    assert [p["schema"] for p in run["parameters"] if p["in"] == "body"] == [
        {"$ref": "#/definitions/RunRequest"}
    ]
    assert run["responses"]["200"]["schema"] == {"$ref": "#/definitions/RunDocument"}
    assert body["paths"]["/health"]["get"]["responses"]["200"]["schema"] == {"$ref": "#/definitions/Health"}
    for path, methods in body["paths"].items():
        for method in methods:
            assert (path, method.upper()) in operations(), f"{method} {path} has no models"
    refs = {
        node["$ref"] for node in walk(body) if isinstance(node, dict) and isinstance(node.get("$ref"), str)
    }
    assert {ref.removeprefix("#/definitions/") for ref in refs} <= set(definitions)
    assert "const" not in json.dumps(definitions)  # API Gateway's models are JSON Schema draft 4


def test_the_template_holds_no_null(packaged):
    """CloudFormation takes no null value (LocalStack's engine answers an InternalError)."""
    assert not [node for node in walk(packaged.template) if node is None]


# ---------------------------------------------------------------- least privilege


def test_state_machine_role_may_invoke_exactly_its_functions(packaged):
    machine = packaged.resources[STATE_MACHINE_ID]["Properties"]
    role = packaged.resources[machine["RoleArn"]["Fn::GetAtt"][0]]
    invoke = [s for s in _statements(role) if any(a.startswith("lambda:") for a in _as_list(s["Action"]))]

    assert len(invoke) == 1 and _as_list(invoke[0]["Action"]) == ["lambda:InvokeFunction"]
    granted = sorted(json.dumps(r, sort_keys=True) for r in _as_list(invoke[0]["Resource"]))
    needed = sorted(json.dumps(v, sort_keys=True) for v in machine["DefinitionSubstitutions"].values())
    assert granted == needed


def test_each_function_reaches_only_the_tables_its_environment_names(packaged):
    tables = {rid for rid, r in packaged.resources.items() if r["Type"] == "AWS::DynamoDB::Table"}

    for function_id, function in packaged.functions().items():
        role = packaged.resources[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        reachable = _tables_in(_statements(role), tables)
        named = _tables_in(function["Properties"]["Environment"]["Variables"], tables)
        assert reachable == named, function_id


def test_tools_only_store_large_outputs_and_only_writes_keep_idempotency_records(packaged):
    functions = packaged.functions()
    assert set(functions) - API == LAYERS | READ_TOOLS | WRITE_TOOLS

    for function_id in READ_TOOLS | WRITE_TOOLS:
        role = packaged.resources[functions[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]]
        for statement in _statements(role):
            if _tables_in(statement, {"RunsTable"}):
                assert _as_list(statement["Action"]) == ["dynamodb:PutItem"], function_id
            if _tables_in(statement, {"IdempotencyTable"}):
                assert function_id in WRITE_TOOLS
            assert not _tables_in(statement, {"MemoryTable"}), function_id


def test_api_may_start_and_follow_only_its_own_state_machine(packaged):
    api = packaged.resources["APIHandler"]["Properties"]
    role = packaged.resources[api["Role"]["Fn::GetAtt"][0]]
    states = [s for s in _statements(role) if any(a.startswith("states:") for a in _as_list(s["Action"]))]

    assert api["Environment"]["Variables"]["MAOO_STATE_MACHINE_ARN"] == {"Ref": STATE_MACHINE_ID}
    assert states, "the API role grants no Step Functions action"
    for statement in states:
        named = {n for n in _references({"r": statement["Resource"]}) if not n.startswith("AWS::")}
        assert named == {STATE_MACHINE_ID}, statement["Sid"]
        assert not any(a.endswith("*") for a in _as_list(statement["Action"])), statement["Sid"]


def test_idempotency_records_and_trace_items_expire(packaged):
    ttl = {
        rid: r["Properties"].get("TimeToLiveSpecification")
        for rid, r in packaged.resources.items()
        if r["Type"] == "AWS::DynamoDB::Table"
    }

    assert ttl["IdempotencyTable"] == {"AttributeName": "expiration", "Enabled": True}
    assert ttl["RunsTable"] == {"AttributeName": "expires_at", "Enabled": True}
    assert ttl["MemoryTable"] is None


def test_prod_functions_log_to_stdout_trace_with_xray_and_use_dynamodb(packaged):
    for function_id, function in packaged.functions().items():
        properties = function["Properties"]
        variables = properties["Environment"]["Variables"]
        assert variables["MAOO_STORE"] == "dynamodb", function_id
        assert variables["MAOO_LOG_DESTINATION"] == "stdout", function_id
        assert variables["POWERTOOLS_TRACE_DISABLED"] == "false", function_id
        assert variables["POWERTOOLS_SERVICE_NAME"] == "maoo", function_id
        assert properties["Tracing"] == "Active", function_id
    memory = {fid: f["Properties"]["MemorySize"] for fid, f in packaged.functions().items()}
    assert max(memory[f] for f in READ_TOOLS | WRITE_TOOLS) < min(memory[f] for f in LAYERS)


# ---------------------------------------------------------------- validators


def test_cfn_lint_accepts_the_template(packaged):
    if find_spec("cfnlint") is None:
        pytest.skip("cfn-lint is not installed (pip install cfn-lint)")

    cfn_lint = "import sys; from cfnlint.runner import main; sys.exit(main())"
    done = subprocess.run(
        [sys.executable, "-c", cfn_lint, str(packaged.template_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr


def _validate(command: list[str], definition: dict[str, Any], path) -> subprocess.CompletedProcess:
    path.write_text(json.dumps(definition))
    return subprocess.run(command + ["--json-path", str(path)], capture_output=True, text=True, timeout=120)


def test_asl_validator_accepts_the_definition_as_deployed(packaged, node_tool, tmp_path):
    validator = node_tool("asl-validator")
    properties = packaged.resources[STATE_MACHINE_ID]["Properties"]
    arns = {
        name: f"arn:aws:lambda:us-east-1:123456789012:function:maoo-prod-{_deployed(value)['Fn::GetAtt'][0]}"
        for name, value in properties["DefinitionSubstitutions"].items()
    }

    as_file = _validate(validator, properties["Definition"], tmp_path / "maoo.asl.json")
    as_deployed = _validate(
        validator, substitute(properties["Definition"], arns), tmp_path / "bound.asl.json"
    )

    assert as_file.returncode == 0, as_file.stdout + as_file.stderr
    assert as_deployed.returncode == 0, as_deployed.stdout + as_deployed.stderr


def test_asl_validator_rejects_a_transition_to_a_missing_state(node_tool, tmp_path):
    validator = node_tool("asl-validator")
    broken = json.loads(json.dumps(load_definition()))
    broken["States"]["Decide"]["Default"] = "NoSuchState"

    done = _validate(validator, broken, tmp_path / "broken.asl.json")

    assert done.returncode != 0
    assert "NoSuchState" in done.stdout + done.stderr


# ---------------------------------------------------------------- binding, without chalice


def _template_with(*function_ids: str) -> dict[str, Any]:
    resources: dict[str, Any] = {
        fid: {"Type": "AWS::Serverless::Function", "Properties": {}} for fid in function_ids
    }
    resources[STATE_MACHINE_ID] = {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"RoleArn": "r"}}
    return {"Resources": resources}


def test_binding_names_every_placeholder_that_has_no_function():
    every = {name.removesuffix("FunctionArn") for name in placeholders()}
    template = _template_with(*(every - {"ToolCalc", "Observe"}))

    with pytest.raises(PackagingError, match=r"ObserveFunctionArn.*ToolCalcFunctionArn"):
        bind_definition(template, load_definition())


def test_logical_ids_follow_chalice_naming():
    assert logical_id("tool_http_get") == "ToolHttpGet"
    assert logical_id("next_step") == "NextStep"
