"""The HTTP contract's models, put into the REST API that ``chalice package`` writes.

Chalice describes every route with an ``Empty`` model (its ``generate-models`` yields nothing
more). ``with_models`` gives the packaged API's Swagger 2.0 body the request and response models of
``chalicelib/http_contract.py``, the same ones ``GET /openapi.json`` serves, as ``definitions``:
API Gateway creates a model for each, and a client generated from the stage sees real types.
API Gateway's models are JSON Schema draft 4, so the few newer keywords pydantic writes are
rewritten to their draft-4 form.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

_API_TYPE = "AWS::Serverless::Api"


def _draft4(value: Any) -> Any:
    """``const`` -> ``enum``; a numeric ``exclusiveMinimum``/``exclusiveMaximum`` -> the draft-4 pair;
    nulls dropped."""
    if isinstance(value, list):
        return [_draft4(item) for item in value]
    if not isinstance(value, dict):
        return value
    # a null (pydantic writes "default": null) is not a value CloudFormation takes in a template
    result = {key: _draft4(item) for key, item in value.items() if item is not None}
    if "const" in result:
        result["enum"] = [result.pop("const")]
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(result.get(exclusive), (int, float)) and not isinstance(result[exclusive], bool):
            result[bound] = result.pop(exclusive)
            result[exclusive] = True
    return result


def _response(code: int, answer: type[BaseModel] | str) -> dict[str, Any]:
    described: dict[str, Any] = {"description": f"{code} response"}
    if not isinstance(answer, str):
        described["schema"] = {"$ref": f"#/definitions/{answer.__name__}"}
    return described


def with_models(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``template`` whose REST API carries the contract's request and response models."""
    from chalicelib.http_contract import model_schemas, operations

    result = copy.deepcopy(template)
    described = operations()
    for resource in result.get("Resources", {}).values():
        if resource.get("Type") != _API_TYPE:
            continue
        body = resource.get("Properties", {}).get("DefinitionBody")
        if not isinstance(body, dict) or not str(body.get("swagger", "")).startswith("2."):
            continue
        used: set[type[BaseModel]] = set()
        for path, methods in body.get("paths", {}).items():
            for method, swagger_operation in methods.items():
                operation = described.get((path, method.upper()))
                if operation is None or not isinstance(swagger_operation, dict):
                    continue
                swagger_operation["summary"] = operation.summary
                swagger_operation["responses"] = {
                    str(code): _response(code, answer) for code, answer in sorted(operation.responses.items())
                }
                used.update(a for a in operation.responses.values() if not isinstance(a, str))
                if operation.request is not None:
                    used.add(operation.request)
                    swagger_operation["parameters"] = [
                        p for p in swagger_operation.get("parameters", []) if p.get("in") != "body"
                    ] + [
                        {
                            "in": "body",
                            "name": operation.request.__name__,
                            "required": True,
                            "schema": {"$ref": f"#/definitions/{operation.request.__name__}"},
                        }
                    ]
        definitions = body.setdefault("definitions", {})
        schemas = model_schemas(sorted(used, key=lambda m: m.__name__), "#/definitions/{model}")
        definitions.update(_draft4(schemas))
    return result
