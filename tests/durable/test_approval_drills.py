"""Approvals that survive a restart: every decision is made by a new process."""

from __future__ import annotations

import pytest

from chalicelib.durable.drills import CRASH_EXIT_CODE
from tests.durable.conftest import WRITE_REQUEST

pytestmark = pytest.mark.functional


def _held(cli, **env: str) -> dict:
    code, doc = cli.doc("run", "--request", WRITE_REQUEST, "--no-memory", "--approve", "writes", **env)
    assert code == 3, doc.get("stop_detail")
    assert doc["status"] == "awaiting_approval" and doc["states"][-1] == "AwaitingApproval"
    assert (
        doc["pending_approval"]["tool"] == "http_post"
        and doc["pending_approval"]["side_effect"] == "write-idempotent"
    )
    assert cli.side_effects() == []  # nothing is written before the approval
    return doc


def test_an_approval_from_a_new_process_runs_the_write_once(cli):
    held = _held(cli)
    code, doc = cli.doc("approve", held["run_id"])
    assert code == 0 and doc["status"] == "succeeded"
    assert [e["kind"] for e in doc["lifecycle"]] == ["approval_requested", "paused", "approval", "resume"]
    assert len(cli.side_effects()) == 1
    again = cli("approve", held["run_id"])
    assert again.returncode == 2 and "not waiting for an approval" in again.stderr


def test_a_rejection_from_a_new_process_ends_the_run_with_nothing_written(cli):
    held = _held(cli)
    code, doc = cli.doc("reject", held["run_id"], "--reason", "not during the freeze")
    assert code == 1
    assert (doc["status"], doc["stop_reason"]) == ("stopped", "rejected")
    assert "not during the freeze" in doc["stop_detail"] and "nothing was written" in doc["stop_detail"]
    assert "rejection" in [e["kind"] for e in doc["lifecycle"]]
    assert cli.side_effects() == []


def test_an_approval_given_too_late_expires_the_run(cli):
    held = _held(cli)
    code, doc = cli.doc("approve", held["run_id"], MAOO_APPROVAL_TTL_SECONDS="0")
    assert code == 1
    assert (doc["status"], doc["stop_reason"]) == ("stopped", "approval_expired")
    assert "MAOO_APPROVAL_TTL_SECONDS" in doc["stop_detail"]
    assert cli.side_effects() == []


def test_a_run_resumed_after_a_crash_still_asks_and_then_writes_once(cli):
    killed = cli(
        "run", "--request", WRITE_REQUEST, "--no-memory", "--approve", "writes", MAOO_TEST_CRASH_AT="NextStep"
    )
    assert killed.returncode == CRASH_EXIT_CODE
    run_id = cli.only_run()["run_id"]
    code, doc = cli.doc("resume", run_id)
    assert code == 3 and doc["status"] == "awaiting_approval"
    assert cli.side_effects() == []
    code, doc = cli.doc("approve", run_id)
    assert code == 0 and doc["status"] == "succeeded"
    assert doc["execution_name"] == f"{run_id}-r2"
    assert len(cli.side_effects()) == 1


def test_a_bad_approval_policy_is_refused_with_what_is_accepted(cli):
    done = cli("run", "--request", WRITE_REQUEST, "--approve", "everything")
    assert done.returncode == 2 and "none, writes" in done.stderr and "Traceback" not in done.stderr
