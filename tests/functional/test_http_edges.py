"""The HTTP API at its edges: a burst of concurrent clients, loopback only, and the cloud's 202.

``chalice local`` is started as a user starts it (a separate process); the cloud engine's answer is
checked through Chalice's test client with the engine's runner replaced by one that records starts.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from chalice.test import Client

from chalicelib.config import reload_settings
from chalicelib.memory.store import get_run_store
from tests import chalice_local

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 50


@pytest.fixture
def local_server(mock_api, isolated_runtime):
    env = {**os.environ, "MAOO_MOCK_API_URL": mock_api.url, "MAOO_RUNTIME_DIR": str(isolated_runtime)}
    with chalice_local.serving(env) as base:
        yield base


def test_fifty_concurrent_posts_to_chalice_local_get_fifty_answers(local_server):
    barrier = threading.Barrier(CLIENTS)

    def post(index: int) -> tuple[int, str]:
        barrier.wait(timeout=30)  # every client connects at the same moment
        try:
            response = requests.post(
                f"{local_server}/runs", json={"request": f"calculate {index} + 1"}, timeout=300
            )
        except requests.RequestException as exc:
            return -1, type(exc).__name__
        return response.status_code, response.json().get("final_output", "")

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = list(pool.map(post, range(CLIENTS)))

    assert [status for status, _ in answers] == [200] * CLIENTS, [a for a in answers if a[0] != 200][:5]
    assert all(str(index + 1) in output for index, (_, output) in enumerate(answers))


def test_chalice_local_refuses_to_listen_beyond_loopback(isolated_runtime):
    process, log = chalice_local.start(
        {**os.environ, "MAOO_RUNTIME_DIR": str(isolated_runtime)}, host="0.0.0.0"
    )
    try:
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    output = log.read_text()
    log.unlink()

    assert process.returncode != 0
    assert "loopback only" in output and "--host 0.0.0.0 is refused" in output


class _RecordingRunner:
    """Stands in for the aws engine's runner: records what was started, never waits."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, name: str, payload: dict) -> str:
        self.started.append(name)
        return f"arn:aws:states:us-east-1:123456789012:execution:maoo:{name}"


def test_on_the_cloud_engine_post_runs_answers_202_with_the_run_url_even_when_asked_to_wait(monkeypatch):
    monkeypatch.setenv("MAOO_ENGINE", "aws")
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:8765")
    reload_settings()
    from app import _runs, app

    runner = _RecordingRunner()
    monkeypatch.setattr(_runs().runs, "_runner", runner)  # the run service behind the HTTP API

    with Client(app, stage_name="local") as client:
        response = client.http.post(
            "/runs",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"request": "calculate 2 + 2", "wait": True}),
        )

    assert response.status_code == 202
    body = json.loads(response.body)
    assert body["status"] == "running" and body["links"]["run"] == f"/runs/{body['run_id']}"
    assert runner.started == [body["run_id"]]
    assert get_run_store().get_run(body["run_id"])["status"] == "running"
