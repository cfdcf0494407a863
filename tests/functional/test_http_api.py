"""The HTTP API: through Chalice's test client, and through a real `chalice local` process."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import requests
from chalice.test import Client

from chalicelib.tools.names import TOOL_NAMES
from chalicelib.trace_history import trace_history
from tests import chalice_local

ROOT = Path(__file__).resolve().parents[2]
SEED = "Fetch mock data, calculate 2 + 2, and summarize the result"


@pytest.fixture
def client(maoo):
    from app import app

    with Client(app, stage_name="local") as chalice_client:
        yield chalice_client


def _post(client, body, raw=None):
    return client.http.post(
        "/runs",
        headers={"Content-Type": "application/json"},
        body=raw if raw is not None else json.dumps(body),
    )


def test_post_runs_waits_and_returns_the_cli_document(client):
    response = _post(client, {"request": SEED})

    assert response.status_code == 200
    doc = response.json_body
    assert doc["status"] == "succeeded" and "4" in doc["final_output"]
    again = client.http.get(f"/runs/{doc['run_id']}")
    assert again.status_code == 200 and again.json_body["final_output"] == doc["final_output"]
    trace = client.http.get(f"/runs/{doc['run_id']}/trace").json_body
    assert [e["kind"] for e in trace["events"]][0] == "start" and trace_history(trace)
    listed = client.http.get("/runs").json_body["runs"]
    assert listed[0]["run_id"] == doc["run_id"]


def test_post_runs_without_waiting_answers_202_and_the_run_finishes(client):
    response = _post(client, {"request": "calculate 6 * 7", "wait": False})

    assert response.status_code == 202
    run_id = response.json_body["run_id"]
    for _ in range(400):  # bounded: at most ~20 s of polling, normally a few
        doc = client.http.get(f"/runs/{run_id}").json_body
        if doc["status"] != "running":
            break
        time.sleep(0.05)
    assert doc["status"] == "succeeded" and "42" in doc["final_output"]


@pytest.mark.parametrize(
    "raw, needle",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"requets": "typo"}), "request"),
        (json.dumps({"request": ""}), "request"),
        (json.dumps({"request": "calculate 1 + 1", "guards": {"max_steps": "many"}}), "guards.max_steps"),
        (json.dumps({"request": "calculate 1 + 1", "guards": {"speed": 3}}), "speed"),
    ],
)
def test_bad_input_is_a_400_with_a_json_error_naming_the_field(client, raw, needle):
    response = _post(client, None, raw=raw)

    assert response.status_code == 400
    assert response.json_body["error"] == "bad_request" and needle in response.json_body["message"]


def test_unknown_run_is_a_404_with_a_json_error(client):
    for path in ("/runs/run-missing", "/runs/run-missing/trace"):
        response = client.http.get(path)
        assert response.status_code == 404 and response.json_body["error"] == "not_found"


def test_tools_and_health(client):
    tools = client.http.get("/tools").json_body["tools"]
    assert {t["name"] for t in tools} == set(TOOL_NAMES)
    assert all(
        "args_schema" in t and t["side_effect"] in ("read", "write-idempotent", "write") for t in tools
    )
    assert client.http.get("/health").json_body["status"] == "ok"
    bad = client.http.get("/runs?limit=0")
    assert bad.status_code == 400 and "limit" in bad.json_body["message"]


def test_chalice_local_serves_the_api_over_http(mock_api, isolated_runtime):
    env = {**os.environ, "MAOO_MOCK_API_URL": mock_api.url, "MAOO_RUNTIME_DIR": str(isolated_runtime)}
    with chalice_local.serving(env) as base:
        response = requests.post(f"{base}/runs", json={"request": SEED}, timeout=120)
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["status"] == "succeeded" and "4" in doc["final_output"]
        assert requests.get(f"{base}/runs/{doc['run_id']}", timeout=10).json()["run_id"] == doc["run_id"]
        missing = requests.get(f"{base}/runs/nope", timeout=10)
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
