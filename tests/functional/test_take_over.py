"""Two deciders at once: of two approvals (or resumes) of the same run, one goes on and the other is
refused, and the held write is sent once.

The race is made deterministic: the first decider's take-over of the run lets a second decider
act in full first, as a second process would between the first one's read and its write.
"""

from __future__ import annotations

import json
import os

import pytest
from chalice.test import Client
from typer.testing import CliRunner

from chalicelib.durable import checkpoints
from chalicelib.memory.store import get_run_store
from chalicelib.workflow.resume import decide, resume
from cli.main import app as cli_app

pytestmark = pytest.mark.functional
runner = CliRunner()
SEED = "Fetch mock data, calculate 2 + 2, and summarize the result"
WRITE = "Open an incident for the checkout service with severity high"


@pytest.fixture
def client(maoo):
    from app import app

    with Client(app, stage_name="local") as chalice_client:
        yield chalice_client


def _overtaken_by(monkeypatch, rival) -> list[str]:
    """The next take-over of a run first lets ``rival`` act on it in full; returns what the rival got."""
    store = get_run_store()
    take_over = store.take_over
    rivals: list[str] = []

    def first_the_rival(*args, **kwargs):
        if not rivals:
            rivals.append("acting")
            rivals[0] = rival()["status"]
        return take_over(*args, **kwargs)

    monkeypatch.setattr(store, "take_over", first_the_rival)
    return rivals


def test_two_approvals_at_once_send_the_held_write_once(client, maoo, monkeypatch):
    # given a run held before its write
    held = client.http.post(
        "/runs",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"request": WRITE, "approve": "writes", "use_memory": False}),
    ).json_body
    run_id = held["run_id"]
    assert held["status"] == "awaiting_approval" and maoo.side_effects() == []
    # when an approval over HTTP is overtaken by another one from the CLI
    rivals = _overtaken_by(
        monkeypatch, lambda: decide(maoo.session.runner(), maoo.session.settings, run_id, "approve")
    )
    late = client.http.post(
        f"/runs/{run_id}/approval",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"decision": "approve"}),
    )
    # then the first to take the run finished it, the late one is refused, and the write went once
    assert rivals == ["succeeded"]
    assert late.status_code == 409 and "taken up by another approval or resume" in late.json_body["message"]
    assert len(maoo.side_effects()) == 1
    kinds = [e["kind"] for e in get_run_store().events(run_id)]
    assert kinds.count("approval") == 1 and kinds.count("resume") == 1


def test_a_rejection_overtaken_by_an_approval_is_refused_and_records_nothing(maoo, monkeypatch):
    # given a run held before its write
    maoo.session.arm_faults([])
    from chalicelib.workflow.runs import execute, initial_state

    state = initial_state(WRITE, maoo.session.settings, use_memory=False, approve="writes")
    doc = execute(maoo.session.runner(), maoo.session.settings, state, "embedded")
    assert doc["status"] == "awaiting_approval"
    # when `cli reject` is overtaken by an approval
    _overtaken_by(
        monkeypatch, lambda: decide(maoo.session.runner(), maoo.session.settings, doc["run_id"], "approve")
    )
    late = runner.invoke(cli_app, ["reject", doc["run_id"], "--reason", "too late"])
    # then the rejection is refused with exit 2 and leaves no trace event; the approval's write stands
    assert late.exit_code == 2 and "taken up by another approval or resume" in late.output
    kinds = [e["kind"] for e in get_run_store().events(doc["run_id"])]
    assert "rejection" not in kinds and kinds.count("approval") == 1
    assert get_run_store().get_run(doc["run_id"])["status"] == "succeeded"
    assert len(maoo.side_effects()) == 1


def test_two_resumes_at_once_run_the_rest_of_the_run_once(maoo, monkeypatch):
    # given a run whose process died after NextStep chose its first call
    doc = maoo.run(SEED)
    store = get_run_store()
    cut = next(r["seq"] for r in checkpoints.rows(doc["run_id"]) if r["state"] == "NextStep")
    store._connection().execute("DELETE FROM checkpoints WHERE run_id = ? AND seq > ?", (doc["run_id"], cut))
    store.put_run({**doc, "status": "running"})
    store.claim_owner(doc["run_id"], 2**22 + 12345, os.uname().nodename, 2.0)
    seen_before = len(maoo.requests_seen())
    # when `cli resume` is overtaken by another resume
    rivals = _overtaken_by(
        monkeypatch, lambda: resume(maoo.session.runner(), maoo.session.settings, doc["run_id"])
    )
    late = runner.invoke(cli_app, ["resume", doc["run_id"]])
    # then the rival finished it, the late one is refused, and the fetch went out once more, not twice
    assert rivals == ["succeeded"]
    assert late.exit_code == 2 and "taken up by another approval or resume" in late.output
    assert len(maoo.requests_seen()) - seen_before == 1
    resumes = [e for e in store.events(doc["run_id"]) if e["kind"] == "resume"]
    assert [e["data"]["execution"] for e in resumes] == [f"{doc['run_id']}-r1"]


def test_an_approval_the_store_cuts_short_leaves_the_run_interrupted_and_resume_finishes_it(
    client, maoo, monkeypatch
):
    # given a run held before its write, on a server whose store refuses the approval's trace event
    from chalicelib.errors import StoreError
    from chalicelib.memory.store import SqliteRunStore

    held = client.http.post(
        "/runs",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"request": WRITE, "approve": "writes", "use_memory": False}),
    ).json_body
    real = SqliteRunStore.append_event

    def locked_on_approval(self, run_id, kind, state, data):
        if kind == "approval":
            raise StoreError(f"the run store {self.path} could not be written: database is locked")
        return real(self, run_id, kind, state, data)

    monkeypatch.setattr(SqliteRunStore, "append_event", locked_on_approval)
    # when it is approved over HTTP
    cut = client.http.post(
        f"/runs/{held['run_id']}/approval",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"decision": "approve"}),
    )
    # then the answer names the store, nothing was sent, and the run reads interrupted while the server lives
    assert cut.status_code == 503 and "database is locked" in cut.json_body["message"]
    assert maoo.side_effects() == []
    assert client.http.get(f"/runs/{held['run_id']}").json_body["status"] == "interrupted"
    # and once the store works, a resume holds the write for a person again, who approves it once
    monkeypatch.setattr(SqliteRunStore, "append_event", real)
    again = client.http.post(f"/runs/{held['run_id']}/resume").json_body
    assert again["status"] == "awaiting_approval" and maoo.side_effects() == []
    done = client.http.post(
        f"/runs/{held['run_id']}/approval",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"decision": "approve"}),
    ).json_body
    assert done["status"] == "succeeded" and len(maoo.side_effects()) == 1
