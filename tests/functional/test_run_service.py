"""One run service for every front end: the CLI and the HTTP API show, key and refuse runs alike."""

from __future__ import annotations

import json

import pytest
from chalice.test import Client
from typer.testing import CliRunner

from chalicelib.memory.store import get_run_store
from chalicelib.trace_history import trace_history
from chalicelib.workflow.sfn_runner import states_entered
from cli.main import app as cli_app

pytestmark = pytest.mark.functional
runner = CliRunner()
WRITE = "Open an incident for the checkout service with severity high"


@pytest.fixture
def client(maoo):
    from app import app

    with Client(app, stage_name="local") as chalice_client:
        yield chalice_client


def test_a_run_started_on_the_command_line_reads_the_same_over_http(maoo, client):
    started = runner.invoke(cli_app, ["run", "--request", "calculate 6 * 7", "--json"])
    run_id = json.loads(started.stdout)["run_id"]

    shown = json.loads(runner.invoke(cli_app, ["show", run_id, "--json"]).stdout)
    over_http = client.http.get(f"/runs/{run_id}").json_body

    assert shown == over_http
    assert shown["status"] == "succeeded" and "42" in shown["final_output"]


def test_a_request_key_used_on_the_command_line_answers_the_same_run_over_http(maoo, client):
    # given a write run started with a key on the command line (held for approval)
    first = runner.invoke(
        cli_app, ["run", "--request", WRITE, "--approve", "writes", "--key", "k1", "--json"]
    )
    assert first.exit_code == 3, first.output
    run_id = json.loads(first.stdout)["run_id"]
    # when the same request is posted with the same key
    again = client.http.post(
        "/runs",
        headers={"Content-Type": "application/json", "Idempotency-Key": "k1"},
        body=json.dumps({"request": WRITE, "approve": "writes"}),
    )
    # then it answers that run, and no second execution started
    assert again.status_code == 200 and again.json_body["run_id"] == run_id
    assert [row["run_id"] for row in get_run_store().list_runs()] == [run_id]
    assert again.json_body["status"] == "awaiting_approval"
    # and the same key with another request is refused on either front end
    other = client.http.post(
        "/runs",
        headers={"Content-Type": "application/json", "Idempotency-Key": "k1"},
        body=json.dumps({"request": "calculate 1 + 1"}),
    )
    assert other.status_code == 409 and other.json_body["error"] == "idempotency_key_reused"


def test_an_unknown_run_is_refused_by_each_front_end_in_its_own_words(maoo, client):
    for command in (["resume", "run-nope"], ["approve", "run-nope"], ["show", "run-nope"]):
        refused = runner.invoke(cli_app, command)
        assert refused.exit_code == 2, command
        assert "no run 'run-nope'; list runs with `python -m cli runs`" in refused.output, command
    for path in ("/runs/run-nope/resume", "/runs/run-nope/approval"):
        answer = client.http.post(
            path, headers={"Content-Type": "application/json"}, body=json.dumps({"decision": "approve"})
        )
        assert answer.status_code == 404, path
        assert answer.json_body["message"] == "no run 'run-nope'; GET /runs lists recent runs"


def test_an_approval_through_the_service_runs_the_held_write_once_through_the_state_machine(maoo):
    held = runner.invoke(cli_app, ["run", "--request", WRITE, "--approve", "writes", "--json"])
    run_id = json.loads(held.stdout)["run_id"]

    approved = runner.invoke(cli_app, ["approve", run_id, "--json"])

    doc = json.loads(approved.stdout)
    assert approved.exit_code == 0 and doc["status"] == "succeeded"
    with open(doc["trace_file"], encoding="utf-8") as handle:
        entered = states_entered(trace_history(json.load(handle)))
    assert entered.count("CallHttpPost") == 1  # the held write, sent once after the approval
