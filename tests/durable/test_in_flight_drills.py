"""A ``SIGKILL`` while a write is in flight, then a resume in a new process.

The CLI runs a request with three writes (an incident and a notification through ``http_post``,
then ``report.md`` through ``file_write``). The mock API holds one POST (its ``slow`` fault), or
the CLI holds itself between ``file_write``'s rename and the checkpoint of its result; the test
kills the CLI there with ``SIGKILL``, so the call's idempotency record is left ``INPROGRESS`` by a
process that is gone. The resume must take the call over: the run ends ``succeeded``, every side
effect exists once (by key, in the mock API's log), and the report is written once.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.durable.conftest import Cli

pytestmark = pytest.mark.functional

OPS_REQUEST = (
    "If the error rate of search is above 5 %, open a sev2 incident for search and notify the ops channel, "
    "then write a summary to report.md"
)
LONG_HOLD = 60.0  # the held POST is answered only after the resume (it then replays the stored reply)
WRITES = {"incident_created": "/incidents", "notification_sent": "/notifications"}


def _until(done: Callable[[], bool], what: str, seconds: float = 120.0) -> None:
    limit = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < limit, f"gave up waiting for {what}"
        time.sleep(0.02)


def _posted(cli: Cli, path: str) -> list[dict[str, Any]]:
    seen = requests.get(f"{cli.mock_url}/_admin/requests", timeout=5).json()["requests"]
    return [r for r in seen if r["method"] == "POST" and r["path"] == path]


def _kill(process: Any) -> None:
    assert process.poll() is None, "the CLI ended before the drill could kill it"
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def _records(cli: Cli) -> list[str]:
    """The statuses of the idempotency records the runs left (as the killed process left them)."""
    path = cli.runtime / "idempotency.sqlite3"
    if not path.exists():  # no write was started
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        try:
            return [status for (status,) in conn.execute("SELECT status FROM idempotency ORDER BY id")]
        except sqlite3.OperationalError:  # created, its table not yet
            return []


def _report(cli: Cli) -> Path:
    return cli.runtime / "files" / "report.md"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict[str, Any]:
    from mock_api.server import start_in_thread

    with start_in_thread() as mock:
        cli = Cli(tmp_path_factory.mktemp("ops-baseline"), mock.url)
        code, doc = cli.doc("run", "--request", OPS_REQUEST, "--no-memory")
        assert code == 0 and doc["status"] == "succeeded", doc.get("stop_detail")
        assert sorted(e["kind"] for e in cli.side_effects()) == sorted(WRITES)
        return {**doc, "report": _report(cli).read_text(encoding="utf-8")}


def assert_finished_once(cli: Cli, resumed: dict[str, Any], uninterrupted: dict[str, Any]) -> None:
    """The resumed run ends as an uninterrupted one does, with every write made exactly once."""
    assert resumed["status"] == "succeeded", resumed.get("stop_detail")
    assert resumed["final_output"] == uninterrupted["final_output"]
    effects = cli.side_effects()
    assert sorted(e["kind"] for e in effects) == sorted(WRITES), effects  # one incident, one notification
    keys = [e["idempotency_key"] for e in effects]
    assert len(set(keys)) == len(keys) and all(k.startswith(resumed["run_id"] + ":") for k in keys)
    assert _report(cli).read_text(encoding="utf-8") == uninterrupted["report"]
    assert [p.name for p in _report(cli).parent.iterdir()] == ["report.md"]  # no half-written copy left


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_a_run_killed_while_the_api_holds_its_post_resumes_with_the_write_made_once(cli, uninterrupted, kind):
    # given a run killed while the mock API holds one of its POSTs (sent, no answer yet)
    path = WRITES[kind]
    cli.arm([{"path": path, "method": "POST", "fault": "slow", "count": 1, "params": {"delay": LONG_HOLD}}])
    process = cli.spawn("run", "--request", OPS_REQUEST, "--no-memory")
    _until(lambda: _posted(cli, path) or process.poll() is not None, f"the POST {path}")
    _kill(process)
    assert "INPROGRESS" in _records(cli)  # the killed call's record, left in progress by a gone owner
    listed = cli.only_run()
    assert listed["status"] == "interrupted"
    # when a new process resumes it
    code, resumed = cli.doc("resume", listed["run_id"])
    # then the call is made again with the same key, and the run finishes with every write made once
    assert code == 0, resumed.get("stop_detail")
    assert_finished_once(cli, resumed, uninterrupted)
    [first, again] = _posted(cli, path)
    assert first["headers"]["idempotency-key"] == again["headers"]["idempotency-key"]
    assert "unknown_outcome" not in [s["signal"] for s in resumed["steps"]]  # never blocked by the record
    assert _records(cli).count("INPROGRESS") == 0


def test_a_run_killed_after_the_api_answered_but_before_the_answer_was_recorded_posts_nothing_again(
    cli, uninterrupted
):
    # given a run killed once its incident POST was answered, before the run recorded the answer
    marker = cli.runtime.parent / "held"
    process = cli.spawn(
        "run",
        "--request",
        OPS_REQUEST,
        "--no-memory",
        MAOO_TEST_HOLD_AT="CallHttpPost:after",
        MAOO_TEST_HOLD_MARKER=str(marker),
    )
    _until(lambda: marker.exists() or process.poll() is not None, "the hold after the incident POST")
    _kill(process)
    assert [e["kind"] for e in cli.side_effects()] == ["incident_created"]
    # when the run is resumed
    code, resumed = cli.doc("resume", cli.only_run()["run_id"])
    # then the call's idempotency record answers it: the incident is not posted again
    assert code == 0, resumed.get("stop_detail")
    assert_finished_once(cli, resumed, uninterrupted)
    assert len(_posted(cli, "/incidents")) == 1
    incident = next(s for s in resumed["steps"] if s["tool"] == "http_post")
    made = next(e for e in cli.side_effects() if e["kind"] == "incident_created")
    assert made["object"]["id"] in str(incident["output_preview"])


def test_a_run_killed_between_writing_the_report_and_recording_it_writes_it_once(cli, uninterrupted):
    # given a run killed after file_write renamed report.md into place, before its result was recorded
    marker = cli.runtime.parent / "held"
    process = cli.spawn(
        "run",
        "--request",
        OPS_REQUEST,
        "--no-memory",
        MAOO_TEST_HOLD_AT="CallFileWrite:applied",
        MAOO_TEST_HOLD_MARKER=str(marker),
    )
    _until(lambda: marker.exists() or process.poll() is not None, "the hold once file_write wrote")
    _kill(process)
    assert _report(cli).read_text(encoding="utf-8") == uninterrupted["report"]
    assert "INPROGRESS" in _records(cli)
    # when the run is resumed
    code, resumed = cli.doc("resume", cli.only_run()["run_id"])
    # then file_write runs again with the same key, finds the same bytes and leaves them: one report
    assert code == 0, resumed.get("stop_detail")
    assert_finished_once(cli, resumed, uninterrupted)
    written = next(s for s in resumed["steps"] if s["tool"] == "file_write")
    assert "'replayed': True" in str(written["output_preview"])


def test_a_chalice_local_server_killed_while_the_api_holds_a_post_leaves_runs_that_resume_over_http(
    cli, uninterrupted
):
    from tests import chalice_local

    # given `chalice local` running a request whose incident POST the mock API holds
    cli.arm(
        [
            {
                "path": "/incidents",
                "method": "POST",
                "fault": "slow",
                "count": 1,
                "params": {"delay": LONG_HOLD},
            }
        ]
    )
    env = cli.environment()
    port = chalice_local.free_port()
    server, log = chalice_local.start(env, port=port)
    base = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _answers(base) or server.poll() is not None, "chalice local to answer")
        started = requests.post(
            f"{base}/runs", json={"request": OPS_REQUEST, "use_memory": False, "wait": False}, timeout=60
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        _until(lambda: _posted(cli, "/incidents") or server.poll() is not None, "the POST /incidents")
        # when the server is killed
        _kill(server)
    finally:
        if server.poll() is None:
            server.kill()
        log.unlink(missing_ok=True)
    # then, served again, it shows the run interrupted, and POST /runs/{id}/resume finishes it
    with chalice_local.serving(env) as again:
        assert requests.get(f"{again}/runs/{run_id}", timeout=30).json()["status"] == "interrupted"
        listed = requests.get(f"{again}/runs", timeout=30).json()["runs"]
        assert [(r["run_id"], r["status"]) for r in listed] == [(run_id, "interrupted")]
        resumed = requests.post(f"{again}/runs/{run_id}/resume", timeout=120)
        assert resumed.status_code == 200, resumed.text
        assert_finished_once(cli, resumed.json(), uninterrupted)


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_a_plain_write_killed_in_flight_and_approved_again_by_a_person_is_sent_once_more(cli):
    # given a run that asks for approvals, whose approved plain write was killed while the API held it
    plain = {"MAOO_IDEMPOTENT_ORIGINS": "http://127.0.0.1:9"}  # its origin is not known to honour keys
    request = "Open an incident for the checkout service with severity high"
    cli.arm(
        [
            {
                "path": "/incidents",
                "method": "POST",
                "fault": "slow",
                "count": 1,
                "params": {"delay": LONG_HOLD},
            }
        ]
    )
    code, held = cli.doc("run", "--request", request, "--no-memory", "--approve", "writes", **plain)
    assert code == 3
    process = cli.spawn("approve", held["run_id"], **plain)
    _until(lambda: _posted(cli, "/incidents") or process.poll() is not None, "the POST /incidents")
    _kill(process)
    assert "INPROGRESS" in _records(cli)
    # when it is resumed, a person is asked again (the write may or may not have been applied)
    code, doubt = cli.doc("resume", held["run_id"], **plain)
    assert code == 3 and "was in flight when the run was interrupted" in doubt["pending_approval"]["reason"]
    # then their approval takes the call over: it is sent again, not refused as in progress
    code, approved = cli.doc("approve", held["run_id"], **plain)
    assert code == 0 and approved["status"] == "succeeded", approved.get("stop_detail")
    assert [e["kind"] for e in cli.side_effects()] == ["incident_created"]
    assert len(_posted(cli, "/incidents")) == 2
