"""The ``prod`` stage starts: every function runs from the packaged ``deployment.zip`` alone.

Lambda runs a function from its deployment package, with the stage's environment, in a fresh
interpreter that has nothing else installed. This test does the same: it unzips the package that
``python -m deploy package --stage prod`` builds into an empty folder and, for every function
in the template, starts ``python -S`` (no site-packages: only the standard library and the zip's
contents), imports ``app`` from that folder and calls the function's handler with its sample event
from ``tests/events/`` and a Lambda-like context. The environment is the template's own for that
function (``prod`` turns tracing on), with DynamoDB served by moto on loopback. A module missing
from the package (the X-Ray SDK behind Powertools' Tracer, for one) fails the invocation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.deploy

EVENTS = Path(__file__).resolve().parents[1] / "events"
TABLES = {"RunsTable": "maoo-runs", "MemoryTable": "maoo-memory", "IdempotencyTable": "maoo-idempotency"}
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:maoo"

_INVOKE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
name, event = sys.argv[2], json.loads(sys.argv[3])

class Context:
    function_name = "maoo-prod-" + name
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:maoo-prod-" + name
    aws_request_id = "req-" + name
    def get_remaining_time_in_millis(self):
        return 10_000

import app
handler = app.app if name == "api_handler" else getattr(app, name)
result = handler(event, Context())
outside = [m.__file__ for m in list(sys.modules.values())
           if getattr(m, "__file__", None) and "site-packages" in m.__file__]
print("MAOO-RESULT " + json.dumps({"result": result, "tracer_loaded": "aws_xray_sdk" in sys.modules,
                                   "outside_package": outside}, default=str))
"""


class _DynamoDBOnLoopback:
    """moto's DynamoDB behind a plain loopback HTTP server (moto's own server needs Flask).

    Each request is handed, as botocore would send it to AWS, to moto's request matcher while
    ``mock_aws`` is active in this process; the answer goes back as it came.
    """

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from botocore.awsrequest import AWSPreparedRequest, HTTPHeaders
        from moto.core.models import botocore_stubber

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = HTTPHeaders()
                for key, value in self.headers.items():
                    headers[key] = value
                request = AWSPreparedRequest(
                    "POST", "https://dynamodb.us-east-1.amazonaws.com/", headers, body, False
                )
                status, answer_headers, answer = botocore_stubber.process_request(request) or (404, {}, b"")
                data = answer.encode() if isinstance(answer, str) else answer
                self.send_response(status)
                for key, value in answer_headers.items():
                    if key.lower() not in ("content-length", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def dynamodb_url(packaged):
    """DynamoDB (moto) on loopback, with the template's three tables (their key schemas as declared)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        server = _DynamoDBOnLoopback()
        client = boto3.client(
            "dynamodb", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        for logical_id, name in TABLES.items():
            props = packaged.resources[logical_id]["Properties"]
            indexes = props.get("GlobalSecondaryIndexes")  # the runs table's listing index, as packaged
            client.create_table(
                TableName=name,
                KeySchema=props["KeySchema"],
                AttributeDefinitions=props["AttributeDefinitions"],
                BillingMode="PAY_PER_REQUEST",
                **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
            )
        yield server.url
        server.close()


@pytest.fixture(scope="module")
def unzipped(packaged, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lambda-task")
    assert not any(folder.iterdir())
    with zipfile.ZipFile(packaged.template_path.parent / "deployment.zip") as archive:
        archive.extractall(folder)
    return folder


_PARAMETER_DEFAULTS = {
    name: spec.get("Default")
    for name, spec in json.loads(
        (Path(__file__).resolve().parents[2] / ".chalice" / "merge-template.json").read_text(encoding="utf-8")
    )
    .get("Parameters", {})
    .items()
}


def _resolve(value: Any) -> str:
    """A template environment value as Lambda would see it (a table's Ref is its name; an ``Fn::If``
    on DeployTables/DeployFunctions is its true branch, what the template's defaults deploy)."""
    if isinstance(value, dict) and "Fn::If" in value:
        return _resolve(value["Fn::If"][1])
    if isinstance(value, dict) and "Ref" in value and value["Ref"] in _PARAMETER_DEFAULTS:
        return str(_PARAMETER_DEFAULTS[value["Ref"]])  # a template parameter: what its default deploys
    if isinstance(value, dict) and "Ref" in value:
        return TABLES.get(
            value["Ref"], STATE_MACHINE_ARN if value["Ref"] == "MaooStateMachine" else value["Ref"]
        )
    return str(value)


def _event(name: str) -> dict[str, Any]:
    if name == "api_handler":  # API Gateway's proxy event for GET /health
        return {
            "resource": "/health",
            "path": "/health",
            "httpMethod": "GET",
            "headers": {"Host": "example"},
            "multiValueHeaders": {},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "body": None,
            "isBase64Encoded": False,
            "requestContext": {
                "resourcePath": "/health",
                "httpMethod": "GET",
                "path": "/api/health",
                "stage": "api",
                "requestId": "req-api",
                "identity": {"sourceIp": "127.0.0.1"},
            },
        }
    return json.loads((EVENTS / f"{name}.json").read_text())


def _functions(packaged) -> dict[str, dict[str, Any]]:
    """Handler name (``app.<name>``) -> the function's properties, for every function in the template."""
    found = {}
    for resource in packaged.functions().values():
        handler = resource["Properties"]["Handler"]
        name = "api_handler" if handler == "app.app" else handler.removeprefix("app.")
        found[name] = resource["Properties"]
    return found


def test_the_template_declares_every_function_this_test_invokes(packaged):
    names = set(_functions(packaged))
    assert names == {p.stem for p in EVENTS.glob("*.json")} | {"api_handler"}


@pytest.mark.parametrize("name", sorted({p.stem for p in EVENTS.glob("*.json")} | {"api_handler"}))
def test_every_function_starts_from_the_package_with_the_prod_environment(
    packaged, unzipped, dynamodb_url, tmp_path, name
):
    properties = _functions(packaged)[name]
    variables = {
        key: _resolve(value) for key, value in properties.get("Environment", {}).get("Variables", {}).items()
    }
    assert variables.get("POWERTOOLS_TRACE_DISABLED") == "false"  # prod traces: Tracer() needs aws_xray_sdk
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin"),
        **variables,
        "MAOO_RUNTIME_DIR": str(tmp_path / "lambda-tmp"),  # /tmp/maoo in Lambda; here, this test's own folder
        "AWS_ENDPOINT_URL": dynamodb_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": f"maoo-prod-{name}",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",  # no X-Ray daemon here: segments are dropped, not sent
    }

    done = subprocess.run(
        [sys.executable, "-S", "-c", _INVOKE, str(unzipped), name, json.dumps(_event(name))],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("MAOO-RESULT "))
    outcome = json.loads(line.removeprefix("MAOO-RESULT "))
    assert outcome["outside_package"] == []
    result = outcome["result"]
    if name == "api_handler":  # the routes are not traced, and /health logs nothing
        assert result["statusCode"] == 200 and json.loads(result["body"])["engine"] == "aws"
        return
    assert outcome["tracer_loaded"]
    if name.startswith("tool_"):
        assert result["tool"] == name.removeprefix("tool_")
    else:
        assert result["run_id"] == _event(name)["run_id"]
    logs = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{") and '"level"' in x]
    if not name.startswith(
        "tool_"
    ):  # a layer always logs its state; a tool only when it has something to say
        assert logs, "the function logged nothing to stdout"
    assert all(
        entry.get("function_request_id") == f"req-{name}" and "cold_start" in entry
        for entry in logs
        if entry.get("service") == "maoo"
    ), logs[:3]
