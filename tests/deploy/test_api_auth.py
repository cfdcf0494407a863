"""The deployed API is not public: every method requires IAM (SigV4), and the stage is throttled."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.deploy

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _api(packaged) -> dict:
    apis = [r for r in packaged.resources.values() if r["Type"] == "AWS::Serverless::Api"]
    assert len(apis) == 1, "one REST API"
    return apis[0]["Properties"]


def test_every_method_of_the_packaged_api_requires_sigv4(packaged):
    body = _api(packaged)["DefinitionBody"]
    scheme = body["securityDefinitions"]["sigv4"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4" and scheme["name"] == "Authorization"
    methods = [
        (path, method, spec)
        for path, item in body["paths"].items()
        for method, spec in item.items()
        if method in HTTP_METHODS
    ]
    assert {path for path, _, _ in methods} >= {"/runs", "/runs/{run_id}", "/health", "/tools"}
    open_methods = [
        f"{method.upper()} {path}"
        for path, method, spec in methods
        if {"sigv4": []} not in spec.get("security", []) and method != "options"
    ]
    assert open_methods == [], f"methods anyone may call: {open_methods}"


def test_the_api_stage_is_throttled(packaged):
    settings = _api(packaged).get("MethodSettings", [])
    everything = [s for s in settings if s.get("ResourcePath") == "/*" and s.get("HttpMethod") == "*"]
    assert everything, "no throttling for every method of the stage"
    assert 0 < everything[0]["ThrottlingRateLimit"] and 0 < everything[0]["ThrottlingBurstLimit"]
