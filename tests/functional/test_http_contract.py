"""The HTTP API against its OpenAPI document: served, written, and fuzzed by schemathesis.

The fuzz test starts ``chalice local`` on a free loopback port (its runs reach a mock API started
here), loads the document the server itself serves at ``GET /openapi.json``, and lets schemathesis
send generated requests to every operation: valid ones and ones that break the schema. No answer
may be a 5xx, and every answer must have a status code, a content type and a body that the
document declares for that operation. Each operation gets a bounded number of examples.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from deploy.package import PROJECT_DIR
from tests import chalice_local

EXAMPLES_PER_OPERATION = int(os.environ.get("MAOO_FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _routes() -> list[tuple[str, str]]:
    from app import app

    return [(path, method) for path, methods in app.routes.items() for method in methods]


def test_the_api_serves_the_document_the_command_writes():
    from chalice.test import Client

    from app import app
    from chalicelib.http_contract import openapi_document

    with Client(app) as client:
        served = client.http.get("/openapi.json")

    assert served.status_code == 200
    assert json.loads(served.body) == openapi_document(_routes())


def test_every_route_is_in_the_document_with_its_models():
    from chalicelib.http_contract import openapi_document, undescribed_routes

    document = openapi_document(_routes())

    assert {(path, method.upper()) for path, ops in document["paths"].items() for method in ops} == set(
        _routes()
    )
    assert undescribed_routes(_routes()) == []
    run = document["paths"]["/runs"]["post"]
    assert run["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RunRequest"
    }
    assert {"200", "202", "400"} <= set(run["responses"])


def test_the_committed_document_is_what_the_command_writes(tmp_path):
    written = tmp_path / "openapi.json"

    done = subprocess.run(
        [sys.executable, "-m", "cli", "openapi", "--out", str(written)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    committed = PROJECT_DIR / "examples" / "openapi.json"
    assert json.loads(written.read_text()) == json.loads(committed.read_text()), (
        "examples/openapi.json is stale: python -m cli openapi --out examples/openapi.json"
    )


# ---------------------------------------------------------------- fuzzing chalice local


@pytest.fixture(scope="module")
def api_url(tmp_path_factory) -> Iterator[str]:
    from mock_api.server import start_in_thread

    folder = tmp_path_factory.mktemp("chalice-local")
    with start_in_thread() as mock:
        env = {
            **os.environ,
            "MAOO_MOCK_API_URL": mock.url,
            "MAOO_RUNTIME_DIR": str(folder / "runtime"),
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        with chalice_local.serving(env) as url:
            yield url


def _document() -> dict:
    from chalicelib.http_contract import openapi_document

    return openapi_document(_routes())


# chalice local is Python's http.server, which answers a method it has no handler for (TRACE, QUERY)
# with its own 501 page before our app sees the request; API Gateway answers those itself. The
# other methods an operation does not declare still reach the app and are probed.
CONFIG = SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"unexpected-methods": ["get", "put", "post", "delete", "options", "patch"]}}}
)
# the document the server serves (test_the_api_serves_the_document_the_command_writes checks they are equal)
schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_fuzzed_requests_get_no_server_error_and_no_answer_outside_the_document(case, api_url):
    case.call_and_validate(base_url=api_url, checks=CHECKS, timeout=60)
