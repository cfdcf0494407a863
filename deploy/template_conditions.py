"""Two template parameters that leave out what a target cannot run, in the one packaged template.

AWS and LocalStack in Docker run every resource. LocalStack's host runtime cannot: DynamoDB needs
Java there and a Python Lambda needs Docker. Rather than a second, trimmed copy of the resources,
``package`` adds two parameters to the template chalice writes:

- ``DeployTables`` (default ``true``): the DynamoDB tables;
- ``DeployFunctions`` (default ``true``): the Lambda functions, with what exists only for them:
  their log groups, the REST API in front of the API handler and its invoke permission.

Each left-out resource carries a ``Condition``. Where a resource that stays names a left-out one,
the reference becomes ``Fn::If``: a table's name is dropped from the environment
(``AWS::NoValue``) and an ARN falls back to the name the resource would have had
(``<stack name>-<logical id>``), so the state machine's ``DefinitionSubstitutions`` still bind
every ``${XxxFunctionArn}``. With the defaults the template deploys exactly what it did before.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from chalicelib.errors import MaooError

TABLES_PARAMETER = "DeployTables"
FUNCTIONS_PARAMETER = "DeployFunctions"
WITH_TABLES = "WithTables"
WITH_FUNCTIONS = "WithFunctions"
PARAMETERS: dict[str, dict[str, Any]] = {
    TABLES_PARAMETER: {
        "Type": "String",
        "AllowedValues": ["true", "false"],
        "Default": "true",
        "Description": "false where DynamoDB cannot run (LocalStack's host runtime): no tables, and the "
        "functions get no table names",
    },
    FUNCTIONS_PARAMETER: {
        "Type": "String",
        "AllowedValues": ["true", "false"],
        "Default": "true",
        "Description": "false where Python Lambdas cannot run (LocalStack's host runtime, no Docker): "
        "no functions and no REST API; the state machine still names each function's ARN",
    },
}
CONDITIONS: dict[str, Any] = {
    WITH_TABLES: {"Fn::Equals": [{"Ref": TABLES_PARAMETER}, "true"]},
    WITH_FUNCTIONS: {"Fn::Equals": [{"Ref": FUNCTIONS_PARAMETER}, "true"]},
}
_SEEDS = {
    "AWS::DynamoDB::Table": WITH_TABLES,
    "AWS::Serverless::Function": WITH_FUNCTIONS,
    "AWS::Lambda::Function": WITH_FUNCTIONS,
}
# resources that exist only for the resource they name: they go when it goes
_ATTACHED = {"AWS::Logs::LogGroup", "AWS::Lambda::Permission", "AWS::Serverless::Api"}
_ARN_PREFIX = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:"
_ARN_FORMATS = {
    WITH_TABLES: _ARN_PREFIX % "dynamodb" + "table/${AWS::StackName}-%s",
    WITH_FUNCTIONS: _ARN_PREFIX % "lambda" + "function:${AWS::StackName}-%s",
}
_SUB_NAME = re.compile(r"\$\{(?!!)([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


class ConditionError(MaooError, ValueError):
    """A resource that stays names a left-out resource in a way that has no fallback."""


def _named(value: Any) -> set[str]:
    """Logical ids ``value`` names through ``Ref``, ``Fn::GetAtt`` or a ``Fn::Sub`` variable."""
    names: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            names.add(value["Ref"])
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att:
            names.add(get_att[0])
        sub = value.get("Fn::Sub")
        if isinstance(sub, str):
            names.update(_SUB_NAME.findall(sub))
        elif isinstance(sub, list) and sub and isinstance(sub[0], str):
            local = sub[1] if len(sub) > 1 and isinstance(sub[1], dict) else {}
            names.update(n for n in _SUB_NAME.findall(sub[0]) if n not in local)
        for item in value.values():
            names |= _named(item)
    elif isinstance(value, list):
        for item in value:
            names |= _named(item)
    return names


def conditions_of(resources: dict[str, Any]) -> dict[str, str]:
    """Which resources each condition leaves out: the seeds, then what is attached to them."""
    chosen = {rid: _SEEDS[r.get("Type", "")] for rid, r in resources.items() if r.get("Type") in _SEEDS}
    changed = True
    while changed:
        changed = False
        for rid, resource in resources.items():
            if rid in chosen or resource.get("Type") not in _ATTACHED:
                continue
            found = {chosen[name] for name in _named(resource) if name in chosen}
            if len(found) == 1:
                chosen[rid] = found.pop()
                changed = True
    return chosen


def _fallback(node: dict[str, Any], target: str, condition: str) -> Any:
    if "Ref" in node:
        return (
            {"Ref": "AWS::NoValue"}
            if condition == WITH_TABLES
            else {"Fn::Sub": f"${{AWS::StackName}}-{target}"}
        )
    attribute = node["Fn::GetAtt"][1] if isinstance(node["Fn::GetAtt"], list) else ""
    if attribute != "Arn":
        raise ConditionError(f"no fallback for Fn::GetAtt {target}.{attribute} when {target} is left out")
    return {"Fn::Sub": _ARN_FORMATS[condition] % target}


def _guard(value: Any, chosen: dict[str, str], own: str | None, where: str) -> Any:
    """``value`` with every reference to a resource left out under another condition made an ``Fn::If``."""
    if isinstance(value, list):
        return [_guard(item, chosen, own, where) for item in value]
    if not isinstance(value, dict):
        return value
    target = value.get("Ref") if isinstance(value.get("Ref"), str) else None
    get_att = value.get("Fn::GetAtt")
    if target is None and isinstance(get_att, list) and get_att:
        target = get_att[0]
    if target in chosen and chosen[target] != own:
        return {"Fn::If": [chosen[target], value, _fallback(value, target, chosen[target])]}
    if "Fn::Sub" in value:
        outside = sorted(n for n in _named(value) if n in chosen and chosen[n] != own)
        if outside:
            raise ConditionError(
                f"{where} names {', '.join(outside)} inside Fn::Sub; use Ref or Fn::GetAtt "
                "so that it can fall back when they are left out"
            )
    return {key: _guard(item, chosen, own, where) for key, item in value.items()}


def add_conditions(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``template`` whose tables and functions can be left out by the two parameters."""
    result = copy.deepcopy(template)
    resources: dict[str, Any] = result.get("Resources", {})
    chosen = conditions_of(resources)
    result.setdefault("Parameters", {}).update(copy.deepcopy(PARAMETERS))
    result.setdefault("Conditions", {}).update(copy.deepcopy(CONDITIONS))
    for rid, resource in resources.items():
        own = chosen.get(rid)
        if own is not None:
            resource["Condition"] = own
        resources[rid] = _guard(resource, chosen, own, rid)
    for name, output in result.get("Outputs", {}).items():
        found = sorted({chosen[n] for n in _named(output) if n in chosen})
        if len(found) > 1:
            raise ConditionError(f"output {name} names resources left out under {' and '.join(found)}")
        if found:
            output["Condition"] = found[0]
    return result
