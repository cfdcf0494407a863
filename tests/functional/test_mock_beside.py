"""A cold CLI run whose plan calls the mock API starts it beside the engine, in a child process
serving the CLI's own socket; the child never outlives the command, and a child that cannot serve
is replaced by a server in the CLI's process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from chalicelib.workflow.forecast import calls_origin, planned_urls
from localrun import mock_on_demand
from localrun.mock_on_demand import MockApiOnDemand

ROOT = Path(__file__).resolve().parents[2]
SEED = "Fetch mock data, calculate 2 + 2, and summarize the result"


def _children_serving() -> list[int]:
    """Pids of mock API child processes alive on this machine."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"mock_api.child" in command:
                found.append(int(entry.name))
    return found


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _until(check, seconds: float = 20.0) -> bool:
    """Poll ``check`` until true or ``seconds`` pass (generous: a correctness wait, not a timing claim)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _cli(*args: str, runtime: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MAOO_RUNTIME_DIR": str(runtime)}
    env.pop("MAOO_MOCK_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_forecast_names_the_urls_a_request_will_call_and_none_for_one_it_cannot_plan(monkeypatch):
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:4567")
    from chalicelib.config import reload_settings

    reload_settings()
    try:
        assert planned_urls("calculate 2 + 2") == []
        assert calls_origin(SEED, "http://127.0.0.1:4567")
        assert not calls_origin(SEED, "http://127.0.0.1:4568") and not calls_origin(
            SEED, "http://127.0.0.1:456"
        )
        assert planned_urls("do the same as last time") == []  # resolved by the run, from memory
        assert planned_urls("zzzz qqqq") == []
    finally:
        monkeypatch.delenv("MAOO_MOCK_API_URL")
        reload_settings()


def test_a_cold_cli_run_that_fetches_succeeds_and_leaves_no_child_nor_port_behind(tmp_path):
    before = set(_children_serving())
    done = _cli("run", "--request", SEED, "--json", "--no-memory", runtime=tmp_path)

    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    fetched = [step for step in doc["steps"] if step["tool"] == "http_get"]
    assert doc["status"] == "succeeded" and fetched and fetched[0]["ok"] is True
    port = urlsplit(fetched[0]["args"]["url"]).port
    assert set(_children_serving()) <= before  # the child ended with the command
    assert _refused(port)  # and nothing serves its port any more


def test_the_child_ends_when_the_process_that_started_it_is_killed(tmp_path):
    # given a process serving the mock API from a child, which then dies without stopping it
    script = (
        "from localrun.mock_on_demand import MockApiOnDemand\n"
        "import sys, time\n"
        "mock = MockApiOnDemand()\n"
        "mock.start_beside()\n"
        "mock.ensure_started()\n"
        "print(mock.url, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        url = parent.stdout.readline().strip()
        port = urlsplit(url).port
        assert port and not _refused(port)  # served, by the child
        parent.send_signal(signal.SIGKILL)
        parent.wait(30)
        # then the child goes too, and the port is free
        assert _until(lambda: _refused(port))
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_a_child_that_cannot_serve_is_replaced_by_a_server_in_this_process(monkeypatch):
    monkeypatch.setattr(mock_on_demand.sys, "executable", "/bin/false")  # the child exits at once
    mock = MockApiOnDemand()
    try:
        mock.start_beside()
        mock.ensure_started()  # /health answers on the socket only this process holds: served from here

        assert mock.started
    finally:
        mock.stop()
    assert _refused(urlsplit(mock.url).port)


@pytest.mark.parametrize("request_text", [SEED, "calculate 2 + 2"])
def test_a_session_starts_the_mock_api_ahead_only_for_a_plan_that_calls_it(request_text):
    from localrun.session import Session

    with Session() as session:
        session._serve_ahead(request_text)
        assert session.mock.started is (request_text == SEED)
        doc = session.run(request_text, use_memory=False)
        assert doc["status"] == "succeeded"
