"""Continuing a run in a new process serves the in-process mock API where the run planned it.

Unlike the other drills, these set no ``MAOO_MOCK_API_URL``: each CLI process serves the mock API
itself, as a user's does on the default set-up. The run that starts it records the loopback
origin; approve, reject and resume in a new process serve the mock API on that origin again, so
the planned URLs and the allowlist still match.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from chalicelib.durable.drills import CRASH_EXIT_CODE
from tests.durable.conftest import WRITE_REQUEST, Cli

pytestmark = pytest.mark.functional


@pytest.fixture
def own_mock_cli(tmp_path):
    """A CLI whose every process serves its own in-process mock API (MAOO_MOCK_API_URL unset)."""
    return Cli(tmp_path / "own-mock-runtime", mock_url="")


def _held(cli: Cli) -> dict:
    code, doc = cli.doc("run", "--request", WRITE_REQUEST, "--no-memory", "--approve", "writes")
    assert code == 3 and doc["status"] == "awaiting_approval", doc.get("stop_detail")
    return doc


def _planned_port(doc: dict) -> int:
    url = urlsplit(doc["pending_approval"]["args"]["url"])
    assert url.hostname == "127.0.0.1" and url.port
    return url.port


def _incident_written(doc: dict) -> None:
    assert doc["status"] == "succeeded", doc.get("stop_detail")
    assert [s["signal"] for s in doc["steps"] if s["tool"] == "http_post"] == ["ok"]
    assert "INC-" in doc["final_output"], doc["final_output"]


def test_an_approval_in_a_new_process_reaches_the_mock_api_the_run_planned(own_mock_cli):
    # given a run held before its write, by a process that served the mock API and is gone now
    held = _held(own_mock_cli)
    # when a new process approves it, with no MAOO_MOCK_API_URL
    code, doc = own_mock_cli.doc("approve", held["run_id"])
    # then the write is made on the origin it was planned against, and the run succeeds
    assert code == 0
    _incident_written(doc)


def test_a_resume_in_a_new_process_reaches_the_mock_api_the_run_planned(own_mock_cli):
    # given a run killed just before its planned write
    killed = own_mock_cli("run", "--request", WRITE_REQUEST, "--no-memory", MAOO_TEST_CRASH_AT="CallHttpPost")
    assert killed.returncode == CRASH_EXIT_CODE, killed.stderr[-2000:]
    run_id = own_mock_cli.only_run()["run_id"]
    # when a new process resumes it, with no MAOO_MOCK_API_URL
    code, doc = own_mock_cli.doc("resume", run_id)
    # then the write goes through instead of being refused by the HTTP allowlist
    assert code == 0
    _incident_written(doc)
    assert doc["execution_name"] == f"{run_id}-r1"


def test_a_taken_port_is_named_with_what_to_do_and_the_run_still_waits(own_mock_cli):
    # given a held run whose mock API port something else listens on now
    held = _held(own_mock_cli)
    port = _planned_port(held)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen(1)
        # when a new process approves it
        done = own_mock_cli("approve", held["run_id"])
    # then it is refused with the port and the two ways out, no traceback, exit 2
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    said = " ".join(done.stderr.split())
    assert f"port {port} is in use" in said and "MAOO_MOCK_API_URL" in said and "free port" in said
    assert "Traceback" not in done.stderr + done.stdout
    # and the decision was not spent: the run still waits, and approving once the port is free works
    assert own_mock_cli.only_run()["status"] == "awaiting_approval"
    code, doc = own_mock_cli.doc("approve", held["run_id"])
    assert code == 0
    _incident_written(doc)


def test_a_mock_api_url_that_is_set_is_still_the_one_used_and_a_stranded_plan_is_refused(own_mock_cli):
    # given a held run, continued with MAOO_MOCK_API_URL set to an address nothing serves
    held = _held(own_mock_cli)
    port = _planned_port(held)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", port))  # the recorded port is taken: it must not matter
        squatter.listen(1)
        done = own_mock_cli("approve", held["run_id"], "--json", MAOO_MOCK_API_URL="http://127.0.0.1:9")
    # then the set URL wins (no port clash is reported), and since the planned origin is not allowed
    # there, the approval is refused before anything runs: the run still waits, nothing was written
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    said = " ".join(done.stderr.split())
    assert f"s1 (http://127.0.0.1:{port})" in said and "allowed here: http://127.0.0.1:9" in said
    assert "in use" not in said and "Traceback" not in done.stderr + done.stdout
    assert own_mock_cli.only_run()["status"] == "awaiting_approval"
    code, doc = own_mock_cli.doc("approve", held["run_id"])  # served where it was planned: it goes through
    assert code == 0 and doc["status"] == "succeeded"
