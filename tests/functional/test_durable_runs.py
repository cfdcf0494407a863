"""Durable runs in one process: checkpoints, statuses, refusals, approvals and request keys over HTTP."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from chalice.test import Client
from typer.testing import CliRunner

from chalicelib.config import get_settings, reload_settings
from chalicelib.durable import checkpoints
from chalicelib.memory.store import get_run_store
from chalicelib.trace_history import trace_history
from chalicelib.workflow.sfn_runner import states_entered
from cli.main import app as cli_app

pytestmark = pytest.mark.functional
runner = CliRunner()
SEED = "Fetch mock data, calculate 2 + 2, and summarize the result"
WRITE = "Open an incident for the checkout service with severity high"
TASKS = {"Perceive", "Plan", "NextStep", "Observe", "Finalize"}


@pytest.fixture
def client(maoo):
    from app import app

    with Client(app, stage_name="local") as chalice_client:
        yield chalice_client


def _post(client, body: dict, key: str | None = None):
    headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
    return client.http.post("/runs", headers=headers, body=json.dumps(body))


def test_every_task_state_is_checkpointed_in_order_with_a_sequence_number(maoo, engine):
    doc = maoo.run(SEED)
    rows = checkpoints.rows(doc["run_id"])
    with open(
        doc["trace_file"], encoding="utf-8"
    ) as handle:  # the engine forgets the execution once this is written
        history = states_entered(trace_history(json.load(handle)))
    tasks = [s for s in history if s in TASKS or s.startswith("Call")]
    assert [r["state"] for r in rows] == tasks
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[-1]["next_state"] == "Done" and rows[-1]["document"]["final_output"] == doc["final_output"]


def test_the_store_keeps_one_wal_connection_per_process(maoo):
    maoo.run("calculate 6 * 7")
    store = get_run_store()
    first = store._connection()
    maoo.run("calculate 6 * 8")
    assert store._connection() is first
    assert first.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert first.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def _orphan(run_id: str, status: str = "running") -> None:
    """A run left as a killed process leaves it: running, owned by a process that is gone."""
    store = get_run_store()
    store.put_run(
        {
            "run_id": run_id,
            "request": SEED,
            "status": status,
            "engine": "embedded",
            "created_at": 1.0,
            "start_state": None,
        }
    )
    store.claim_owner(run_id, 2**22 + 12345, os.uname().nodename, 2.0)


def test_a_run_whose_owner_is_gone_shows_interrupted_everywhere(client):
    _orphan("run-orphan")
    listed = runner.invoke(cli_app, ["runs", "--json"])
    assert json.loads(listed.stdout)["runs"][0] == {
        "run_id": "run-orphan",
        "request": SEED,
        "status": "interrupted",
        "stop_reason": None,
        "created_at": 1.0,
    }
    assert "interrupted" in runner.invoke(cli_app, ["runs"]).stdout
    shown = runner.invoke(cli_app, ["show", "run-orphan", "--json"])
    assert shown.exit_code == 1 and json.loads(shown.stdout)["status"] == "interrupted"
    assert client.http.get("/runs/run-orphan").json_body["status"] == "interrupted"
    assert client.http.get("/runs").json_body["runs"][0]["status"] == "interrupted"


def test_resume_refuses_an_ended_run_and_a_run_still_owned(maoo):
    doc = maoo.run("calculate 6 * 7")
    ended = runner.invoke(cli_app, ["resume", doc["run_id"]])
    assert ended.exit_code == 2 and "already ended succeeded" in ended.output
    get_run_store().put_run({**doc, "status": "running"})
    get_run_store().claim_owner(doc["run_id"], os.getpid(), os.uname().nodename, 9e12)
    live = runner.invoke(cli_app, ["resume", doc["run_id"]])
    assert live.exit_code == 2 and "still running" in live.output
    unknown = runner.invoke(cli_app, ["resume", "run-nope"])
    assert unknown.exit_code == 2 and "no run 'run-nope'" in unknown.output


def test_an_interrupted_run_resumes_over_http_from_its_last_checkpoint(client, maoo, monkeypatch):
    # given a run whose process died after NextStep chose its first call (its checkpoints are kept)
    doc = maoo.run(SEED)
    store = get_run_store()
    rows = checkpoints.rows(doc["run_id"])
    conn = store._connection()
    cut = next(r["seq"] for r in rows if r["state"] == "NextStep")
    conn.execute("DELETE FROM checkpoints WHERE run_id = ? AND seq > ?", (doc["run_id"], cut))
    store.put_run({**doc, "status": "running"})
    store.claim_owner(doc["run_id"], 2**22 + 12345, os.uname().nodename, 2.0)
    # when it is resumed over HTTP
    response = client.http.post(f"/runs/{doc['run_id']}/resume")
    # then it runs from Route, calls every tool once more from there, and ends as before
    assert response.status_code == 200, response.json_body
    resumed = response.json_body
    assert resumed["status"] == "succeeded" and resumed["final_output"] == doc["final_output"]
    assert resumed["states"][:3] == ["ResumeAt", "Route", "CallHttpGet"]
    assert resumed["execution_name"] == f"{doc['run_id']}-r1"
    refused = client.http.post(f"/runs/{doc['run_id']}/resume")
    assert refused.status_code == 409 and "already ended" in refused.json_body["message"]
    assert client.http.post("/runs/run-nope/resume").status_code == 404


def test_approval_over_http_with_the_viewer_shape(client, maoo):
    held = _post(client, {"request": WRITE, "approve": "writes", "use_memory": False}).json_body
    assert held["status"] == "awaiting_approval" and held["pending_approval"]["step_id"] == "s1"
    assert maoo.side_effects() == []
    bad = client.http.post(
        f"/runs/{held['run_id']}/approval",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"decision": "maybe"}),
    )
    assert bad.status_code == 400 and "approve|reject" in bad.json_body["message"]
    done = client.http.post(
        f"/runs/{held['run_id']}/approval",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"decision": "approve"}),
    )
    assert done.status_code == 200 and done.json_body["status"] == "succeeded"
    assert len(maoo.side_effects()) == 1
    again = client.http.post(
        f"/runs/{held['run_id']}/approval",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"decision": "reject", "reason": "late"}),
    )
    assert again.status_code == 409


def test_rejection_over_http_stops_the_run_with_the_reason(client, maoo):
    held = _post(client, {"request": WRITE, "approve": "writes", "use_memory": False}).json_body
    done = client.http.post(
        f"/runs/{held['run_id']}/approval",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"decision": "reject", "reason": "change freeze"}),
    )
    assert done.status_code == 200
    assert (done.json_body["status"], done.json_body["stop_reason"]) == ("stopped", "rejected")
    assert "change freeze" in done.json_body["stop_detail"] and maoo.side_effects() == []
    trace = client.http.get(f"/runs/{held['run_id']}/trace").json_body
    kinds = [e["kind"] for e in trace["events"]]
    assert (
        kinds.index("approval_requested")
        < kinds.index("paused")
        < kinds.index("rejection")
        < kinds.index("resume")
    )


def test_a_retried_post_with_the_same_key_returns_the_same_run(client, maoo):
    first = _post(client, {"request": WRITE, "use_memory": False}, key="incident-42")
    again = _post(client, {"request": WRITE, "use_memory": False}, key="incident-42")
    assert first.status_code == 200 and again.status_code == 200
    assert again.json_body["run_id"] == first.json_body["run_id"]
    assert len(maoo.side_effects()) == 1  # one incident, not two
    other = _post(client, {"request": "calculate 2 + 2"}, key="incident-42")
    assert other.status_code == 409 and "another request" in other.json_body["message"]


def test_cli_run_with_a_key_shows_the_run_it_started(maoo):
    first = runner.invoke(cli_app, ["run", "--request", WRITE, "--no-memory", "--key", "k1", "--json"])
    again = runner.invoke(cli_app, ["run", "--request", WRITE, "--no-memory", "--key", "k1", "--json"])
    assert first.exit_code == 0 and again.exit_code == 0
    assert json.loads(again.stdout)["run_id"] == json.loads(first.stdout)["run_id"]
    assert len(maoo.side_effects()) == 1
    other = runner.invoke(cli_app, ["run", "--request", "calculate 1 + 1", "--key", "k1"])
    assert other.exit_code == 2 and "another request" in other.output


def test_a_store_locked_past_its_timeout_ends_the_cli_with_exit_1_and_no_traceback(maoo, monkeypatch):
    # given another process holds the run store's write lock longer than MAOO_STORE_TIMEOUT_SECONDS
    maoo.run("calculate 1 + 1")  # the store exists
    monkeypatch.setenv("MAOO_STORE_TIMEOUT_SECONDS", "0.2")
    reload_settings()
    from chalicelib.memory import store as store_module

    monkeypatch.setattr(store_module, "_stores", {})
    holder = sqlite3.connect(get_settings().db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = runner.invoke(cli_app, ["run", "--request", "calculate 2 + 2"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert (
        "run store" in result.output
        and "database is locked" in result.output
        and "MAOO_RUNTIME_DIR" in result.output
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_show_of_an_interrupted_run_shows_how_far_its_checkpoints_got(maoo):
    doc = maoo.run(SEED)
    store = get_run_store()
    cut = [r["seq"] for r in checkpoints.rows(doc["run_id"]) if r["state"] == "Observe"][
        1
    ]  # after two tool calls
    store._connection().execute("DELETE FROM checkpoints WHERE run_id = ? AND seq > ?", (doc["run_id"], cut))
    store.put_run(
        {
            "run_id": doc["run_id"],
            "request": SEED,
            "status": "running",
            "engine": "embedded",
            "created_at": doc["created_at"],
        }
    )
    store.claim_owner(doc["run_id"], 2**22 + 12345, os.uname().nodename, 2.0)
    shown = runner.invoke(cli_app, ["show", doc["run_id"], "--json"])
    seen = json.loads(shown.stdout)
    assert shown.exit_code == 1 and seen["status"] == "interrupted" and seen["last_checkpoint"] == "Observe"
    assert [s["tool"] for s in seen["steps"]] == ["http_get", "calc"]
    assert f"python -m cli resume {doc['run_id']}" in seen["final_output"]
    view = runner.invoke(cli_app, ["show", doc["run_id"]])
    assert "INTERRUPTED" in view.stdout and "calc" in view.stdout
    from app import app

    with Client(app, stage_name="local") as http:
        got = http.http.get(f"/runs/{doc['run_id']}").json_body
    assert got["status"] == "interrupted" and [s["tool"] for s in got["steps"]] == ["http_get", "calc"]


def test_an_approval_past_its_ttl_is_ended_by_the_first_listing_and_every_view_agrees(
    client, maoo, monkeypatch
):
    # given a held run whose approval is past its TTL
    held = _post(client, {"request": WRITE, "approve": "writes", "use_memory": False}).json_body
    monkeypatch.setenv("MAOO_APPROVAL_TTL_SECONDS", "0")
    reload_settings()
    # when runs are listed, the listing ends it: Finalize runs and the expiry is in its trace
    assert client.http.get("/runs").json_body["runs"][0]["stop_reason"] == "approval_expired"
    kinds = [e["kind"] for e in get_run_store().events(held["run_id"])]
    assert kinds.count("approval_expired") == 1
    stored = get_run_store().get_run(held["run_id"])
    assert (stored["status"], stored["stop_reason"]) == ("stopped", "approval_expired")
    # then every other view shows the same end, and none ends it again
    listed = json.loads(runner.invoke(cli_app, ["runs", "--json"]).stdout)["runs"][0]
    assert (listed["status"], listed["stop_reason"]) == ("stopped", "approval_expired")
    seen = client.http.get(f"/runs/{held['run_id']}").json_body
    assert (seen["status"], seen["stop_reason"]) == ("stopped", "approval_expired")
    assert seen["states"][-2:] == ["Finalize", "Done"]
    kinds = [e["kind"] for e in get_run_store().events(held["run_id"])]
    assert kinds.count("approval_expired") == 1 and kinds.count("resume") == 1
    # and a late decision is refused, with nothing written
    late = runner.invoke(cli_app, ["approve", held["run_id"], "--json"])
    assert late.exit_code == 2 and "is stopped, not waiting for an approval" in late.output
    assert maoo.side_effects() == []


def test_cli_runs_ends_an_expired_hold_as_get_runs_does(maoo, monkeypatch):
    # given a held run whose approval is past its TTL
    from chalicelib.workflow.runs import execute, initial_state

    state = initial_state(WRITE, maoo.session.settings, use_memory=False, approve="writes")
    doc = execute(maoo.session.runner(), maoo.session.settings, state, "embedded")
    assert doc["status"] == "awaiting_approval"
    monkeypatch.setenv("MAOO_APPROVAL_TTL_SECONDS", "0")
    reload_settings()
    # when `cli runs` lists it
    listed = runner.invoke(cli_app, ["runs"])
    # then it shows expired, and it is ended in the store, its trace holding the expiry once
    assert listed.exit_code == 0 and "approval_expired" in listed.stdout
    assert get_run_store().get_run(doc["run_id"])["stop_reason"] == "approval_expired"
    kinds = [e["kind"] for e in get_run_store().events(doc["run_id"])]
    assert kinds.count("approval_expired") == 1
    assert maoo.side_effects() == []


def test_cli_show_of_an_expired_hold_ends_it_once(maoo, monkeypatch):
    # given a held run whose approval is past its TTL
    from chalicelib.workflow.runs import execute, initial_state

    state = initial_state(WRITE, maoo.session.settings, use_memory=False, approve="writes")
    doc = execute(maoo.session.runner(), maoo.session.settings, state, "embedded")
    assert doc["status"] == "awaiting_approval"
    monkeypatch.setenv("MAOO_APPROVAL_TTL_SECONDS", "0")
    reload_settings()
    # when it is shown twice
    first = runner.invoke(cli_app, ["show", doc["run_id"], "--json"])
    second = runner.invoke(cli_app, ["show", doc["run_id"], "--json"])
    # then the first look ended it (exit 1: stopped), the second shows the same end, and the
    # expiry is in the trace once, with nothing written
    assert first.exit_code == 1 and json.loads(first.stdout)["stop_reason"] == "approval_expired"
    assert second.exit_code == 1 and json.loads(second.stdout)["stop_reason"] == "approval_expired"
    kinds = [e["kind"] for e in get_run_store().events(doc["run_id"])]
    assert kinds.count("approval_expired") == 1 and kinds.count("resume") == 1
    assert maoo.side_effects() == []


def test_metrics_are_emitted_by_the_adapter_once_per_checkpointed_state(maoo):
    doc = maoo.run(SEED)
    lines = (get_settings().logs_dir / "metrics.jsonl").read_text().splitlines()
    documents = [json.loads(line) for line in lines]
    tool_calls = [d for d in documents if "ToolCalls" in d]
    runs = [d for d in documents if "Runs" in d]
    assert len(tool_calls) == len(doc["steps"]) == 3
    assert sorted(d["tool"] for d in tool_calls) == ["calc", "http_get", "summarize"]
    assert len(runs) == 1 and runs[0]["RunsSucceeded"] == [1.0]


def test_an_approval_on_a_server_that_no_longer_serves_the_planned_api_is_refused_and_kept(
    client, maoo, monkeypatch
):
    """Given a run held for approval, planned against the mock API at one origin, when the server
    answering the approval allows another origin only, the approval is refused (409) naming the
    stranded step and origin, nothing is written, and the run still waits; served there again, the
    same approval goes through."""
    held = _post(client, {"request": WRITE, "approve": "writes", "use_memory": False}).json_body
    assert held["status"] == "awaiting_approval"
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:9")  # a restarted server, elsewhere
    reload_settings()
    approve = {"headers": {"Content-Type": "application/json"}, "body": json.dumps({"decision": "approve"})}
    refused = client.http.post(f"/runs/{held['run_id']}/approval", **approve)
    assert refused.status_code == 409
    message = refused.json_body["message"]
    assert "s1 (" + maoo.url.replace("localhost", "127.0.0.1") in message and "allowed here" in message
    assert client.http.get(f"/runs/{held['run_id']}").json_body["status"] == "awaiting_approval"
    assert maoo.side_effects() == []
    monkeypatch.setenv("MAOO_MOCK_API_URL", maoo.url)
    reload_settings()
    done = client.http.post(f"/runs/{held['run_id']}/approval", **approve)
    assert done.status_code == 200 and done.json_body["status"] == "succeeded"
    assert len(maoo.side_effects()) == 1


def test_a_resume_on_a_server_that_no_longer_serves_the_planned_api_is_refused_and_kept(
    client, maoo, monkeypatch
):
    # given an interrupted run whose fetch is still to run, planned against the mock API here
    doc = maoo.run(SEED)
    store = get_run_store()
    rows = checkpoints.rows(doc["run_id"])
    cut = next(r["seq"] for r in rows if r["state"] == "NextStep")
    store._connection().execute("DELETE FROM checkpoints WHERE run_id = ? AND seq > ?", (doc["run_id"], cut))
    store.put_run({**doc, "status": "running"})
    store.claim_owner(doc["run_id"], 2**22 + 12346, os.uname().nodename, 2.0)
    # when a server that allows another origin only resumes it
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:9")
    reload_settings()
    refused = client.http.post(f"/runs/{doc['run_id']}/resume")
    # then it is refused, naming the stranded step, and the run is still interrupted
    assert refused.status_code == 409 and "s1 (" in refused.json_body["message"]
    assert client.http.get(f"/runs/{doc['run_id']}").json_body["status"] == "interrupted"
    monkeypatch.setenv("MAOO_MOCK_API_URL", maoo.url)
    reload_settings()
    resumed = client.http.post(f"/runs/{doc['run_id']}/resume")
    assert resumed.status_code == 200 and resumed.json_body["status"] == "succeeded"


def _store_fails_once_at(monkeypatch, state_name: str) -> dict[str, int]:
    """The run store refuses the first checkpoint of ``state_name``, as a database locked past its timeout would."""
    from chalicelib.errors import StoreError
    from chalicelib.memory.store import SqliteRunStore

    real = SqliteRunStore.record_transition
    failed = {"n": 0}

    def locked_once(self, run_id, kind, state, *args, **kwargs):
        if state == state_name and not failed["n"]:
            failed["n"] += 1
            raise StoreError(f"the run store {self.path} could not be written: database is locked")
        return real(self, run_id, kind, state, *args, **kwargs)

    monkeypatch.setattr(SqliteRunStore, "record_transition", locked_once)
    return failed


@pytest.mark.parametrize("state_name", ["Observe", "CallCalc"])
def test_a_store_that_fails_once_on_a_server_leaves_the_run_interrupted_and_resume_finishes_it(
    client, maoo, monkeypatch, state_name
):
    # given a server whose store refuses one checkpoint mid-run (a layer's, or a tool's)
    failed = _store_fails_once_at(monkeypatch, state_name)
    # when a run is posted
    response = _post(client, {"request": SEED})
    # then the answer names the store and the run, and the run reads interrupted, not running
    assert failed["n"] == 1
    assert response.status_code == 503 and response.json_body["error"] == "store_unavailable"
    assert "database is locked" in response.json_body["message"]
    run_id = client.http.get("/runs").json_body["runs"][0]["run_id"]
    assert run_id in response.json_body["message"]
    shown = client.http.get(f"/runs/{run_id}").json_body
    assert shown["status"] == "interrupted"
    # and no state after the failed checkpoint ran: the execution stopped at StoreFailed
    with open(get_settings().traces_dir / f"{run_id}.trace.json", encoding="utf-8") as handle:
        kept = json.load(handle)  # the interrupted execution's history is kept, and the engine lets it go
    assert kept["run"]["status"] == "interrupted"
    assert states_entered(trace_history(kept))[-1] == "StoreFailed"
    from embedded_engine import get_embedded_engine

    assert get_embedded_engine(None, {}).held()["executions"] == 0
    states = [r["state"] for r in checkpoints.rows(run_id)]
    assert "Finalize" not in states and states[-1] == (
        "CallHttpGet" if state_name == "Observe" else "NextStep"
    )
    # when the store works again, a resume finishes it once, to the end an uninterrupted run reaches
    resumed = client.http.post(f"/runs/{run_id}/resume").json_body
    assert resumed["status"] == "succeeded" and "2 + 2 = 4" in resumed["final_output"]
    assert [s["tool"] for s in resumed["steps"]] == ["http_get", "calc", "summarize"]
    assert sum(1 for r in maoo.requests_seen() if r["path"].startswith("/data")) == 1
