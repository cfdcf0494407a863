"""Kill the CLI inside the handler of each Task state in turn, then resume it in a new process.

Each drill must end ``succeeded`` with the same final output as an uninterrupted run, and the mock
API's side-effect log must show the incident created exactly once. The same for a store that
fails (turns read-only) at a state's checkpoint.
"""

from __future__ import annotations

import pytest

from chalicelib.durable.drills import CRASH_EXIT_CODE
from tests.durable.conftest import FAULTS, REQUEST, WRITE_REQUEST

pytestmark = pytest.mark.functional

# the Task states of the drill run, by entry: Perceive, Plan, NextStep (1: the read, 2: after the 429
# wait, 3: the write, 4: the summary), CallHttpGet (1: 429, 2: ok), Observe, CallHttpPost,
# CallSummarize, Finalize; ":after" dies once the state ran but before its checkpoint was written
CRASH_POINTS = [
    "Perceive",
    "Plan",
    "NextStep#1",
    "CallHttpGet#1",
    "Observe#1",
    "CallHttpGet#2",
    "NextStep#3",
    "CallHttpPost",
    "CallHttpPost:after",
    "Observe#3",
    "CallSummarize",
    "Finalize",
    "Finalize:after",
]
STORE_FAILURES = ["Plan", "CallHttpPost", "Observe#3"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    from mock_api.server import start_in_thread
    from tests.durable.conftest import Cli

    with start_in_thread() as mock:
        cli = Cli(tmp_path_factory.mktemp("baseline"), mock.url)
        cli.arm(FAULTS)
        code, doc = cli.doc("run", "--request", REQUEST, "--no-memory")
        assert code == 0 and doc["status"] == "succeeded", doc.get("stop_detail")
        assert len(cli.side_effects()) == 1
        return doc


def _assert_same_run(cli, resumed: dict, uninterrupted: dict) -> None:
    assert resumed["status"] == "succeeded", resumed.get("stop_detail")
    assert resumed["final_output"] == uninterrupted["final_output"]

    def calls(doc: dict) -> list[tuple]:
        return [(s["step_id"], s["tool"], s["signal"], s["decision"]) for s in doc["steps"]]

    assert calls(resumed) == calls(uninterrupted)  # every step ran as it would have, none twice
    [incident] = cli.side_effects()  # the write was applied exactly once
    assert incident["kind"] == "incident_created" and incident["idempotency_key"].startswith(
        resumed["run_id"] + ":s"
    )


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_run_killed_inside_any_task_state_resumes_to_the_same_end(cli, uninterrupted, point):
    # given a run killed inside the handler of one Task state
    cli.arm(FAULTS)
    killed = cli("run", "--request", REQUEST, "--no-memory", "--json", MAOO_TEST_CRASH_AT=point)
    assert killed.returncode == CRASH_EXIT_CODE, killed.stderr[-2000:]
    listed = cli.only_run()
    assert listed["status"] == "interrupted"
    run_id = listed["run_id"]
    # when it is resumed by a new process
    code, resumed = cli.doc("resume", run_id)
    # then it ends as an uninterrupted run does, with every write made once
    assert code == 0
    _assert_same_run(cli, resumed, uninterrupted)
    assert resumed["execution_name"] == f"{run_id}-r1" and resumed["states"][0] == "ResumeAt"
    assert [e["kind"] for e in resumed["lifecycle"]] == ["resume"]


@pytest.mark.parametrize("point", STORE_FAILURES)
def test_a_store_that_fails_mid_run_interrupts_it_and_resume_finishes_it(cli, uninterrupted, point):
    # given a run whose store turns read-only at one state's checkpoint
    cli.arm(FAULTS)
    failed = cli("run", "--request", REQUEST, "--no-memory", MAOO_TEST_STORE_FAIL_AT=point)
    # then the CLI says which store failed and where to look, without a traceback, and exits 1
    assert failed.returncode == 1, failed.stdout[-2000:] + failed.stderr[-2000:]
    assert (
        "run store" in failed.stderr
        and "MAOO_RUNTIME_DIR" in failed.stderr
        and str(cli.runtime) in failed.stderr
    )
    assert "Traceback" not in failed.stderr + failed.stdout
    listed = cli.only_run()
    assert listed["status"] == "interrupted"
    run_id = listed["run_id"]
    # when the store works again, resume finishes the run as an uninterrupted one ends
    code, resumed = cli.doc("resume", run_id)
    assert code == 0
    _assert_same_run(cli, resumed, uninterrupted)


def test_a_plain_write_in_flight_is_never_repeated_blindly(cli):
    # given http_post counts as a plain write (its origin is not known to honour Idempotency-Key)
    plain = {"MAOO_IDEMPOTENT_ORIGINS": "http://127.0.0.1:9"}
    cli.arm([])
    killed = cli("run", "--request", REQUEST, "--no-memory", MAOO_TEST_CRASH_AT="CallHttpPost", **plain)
    assert killed.returncode == CRASH_EXIT_CODE
    # when the run is resumed
    code, resumed = cli.doc("resume", cli.only_run()["run_id"], **plain)
    # then it stops, naming the step and why, and sends nothing again
    assert code == 1
    assert (resumed["status"], resumed["stop_reason"]) == ("stopped", "unsafe_retry")
    assert "step s2 (http_post, a plain write) was in flight" in resumed["stop_detail"]
    assert cli.side_effects() == []
    assert resumed["states"][:2] == ["ResumeAt", "Finalize"]


def test_a_plain_write_in_flight_waits_for_a_person_when_the_run_asks_for_approvals(cli):
    # given a run with approvals on, whose approved plain write was in flight when it was killed
    plain = {"MAOO_IDEMPOTENT_ORIGINS": "http://127.0.0.1:9"}
    cli.arm([])
    code, held = cli.doc("run", "--request", WRITE_REQUEST, "--no-memory", "--approve", "writes", **plain)
    assert code == 3
    killed = cli("approve", held["run_id"], MAOO_TEST_CRASH_AT="CallHttpPost", **plain)
    assert killed.returncode == CRASH_EXIT_CODE
    # when it is resumed, it does not send the write again: it asks, saying why
    code, doubt = cli.doc("resume", held["run_id"], **plain)
    assert code == 3 and doubt["status"] == "awaiting_approval"
    assert "was in flight when the run was interrupted" in doubt["pending_approval"]["reason"]
    assert cli.side_effects() == []
    # and a rejection ends it with nothing written
    code, rejected = cli.doc(
        "reject", held["run_id"], "--reason", "I checked: it was not applied, but not now", **plain
    )
    assert code == 1 and rejected["stop_reason"] == "rejected"
    assert cli.side_effects() == []
