"""An Express state machine (``MAOO_WORKFLOW_TYPE=express``): runs end from the run store, never
from ``DescribeExecution`` or ``GetExecutionHistory`` (AWS answers neither for Express), and an
execution delivered twice (Express is at-least-once) writes once and leaves one run document."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.config import reload_settings
from chalicelib.errors import BadRequestError
from chalicelib.memory.store import get_run_store
from chalicelib.workflow.runs import execute, initial_state
from embedded_engine import get_embedded_engine, reset_embedded_engine

INCIDENT = "Open a sev2 incident for search"


@pytest.fixture
def express(maoo, monkeypatch):
    """The embedded engine restarted with an Express state machine whose describe and history
    calls fail loudly; back to Standard afterwards."""
    monkeypatch.setenv("MAOO_WORKFLOW_TYPE", "EXPRESS")  # as the template's WorkflowType passes it
    reload_settings()
    reset_embedded_engine()
    maoo.session = type(maoo.session)()
    maoo.run("calculate 1 + 1")  # starts the engine, with the Express machine
    engine = get_embedded_engine(None, {})
    asked: list[str] = []

    def refused(name):
        def call(**kwargs):
            asked.append(name)
            raise AssertionError(f"{name} called on an Express state machine")

        return call

    sfn = engine.sfn()
    monkeypatch.setattr(sfn, "describe_execution", refused("DescribeExecution"), raising=False)
    monkeypatch.setattr(sfn, "get_execution_history", refused("GetExecutionHistory"), raising=False)
    yield engine, asked
    monkeypatch.delenv("MAOO_WORKFLOW_TYPE")
    reload_settings()
    reset_embedded_engine()


def test_the_embedded_machine_is_express_and_a_run_ends_from_the_run_store(maoo, express):
    engine, asked = express
    machine = engine._backend().describe_state_machine(engine.state_machine_arn)
    assert machine.type == "EXPRESS"

    doc = maoo.run("calculate 2 + 2, calculate 3 + 3")

    assert doc["status"] == "succeeded" and "4" in doc["final_output"] and "6" in doc["final_output"]
    assert asked == []
    assert get_run_store().get_run(doc["run_id"])["status"] == "succeeded"
    trace = json.loads(open(doc["trace_file"], encoding="utf-8").read())
    assert [e["kind"] for e in trace["events"]][0] == "start"  # MAOO's own trace; the engine keeps none


def test_an_express_run_that_holds_a_write_for_approval_then_goes_on(maoo, express):
    _, asked = express
    held = maoo.session.run(INCIDENT, approve="writes", use_memory=False)
    assert held["status"] == "awaiting_approval" and maoo.side_effects() == []

    from chalicelib.workflow.resume import decide

    done = decide(maoo.session.runner(), maoo.session.settings, held["run_id"], "approve", "")

    assert done["status"] == "succeeded" and len(maoo.side_effects()) == 1 and asked == []


def test_an_execution_delivered_twice_writes_once_and_leaves_one_run_document(maoo, express, monkeypatch):
    engine, asked = express
    real = engine.handlers["tool_http_post"]
    invoked = []

    def counted(event, context):
        invoked.append(event)
        return real(event, context)

    monkeypatch.setitem(engine.handlers, "tool_http_post", counted)
    maoo.session.arm_faults([])
    start = initial_state(INCIDENT, maoo.session.settings)
    doc = execute(maoo.session.runner(), maoo.session.settings, start, "embedded")
    assert doc["status"] == "succeeded" and len(maoo.side_effects()) == 1
    stored = get_run_store().get_run(doc["run_id"])

    # Express is at-least-once: the platform runs the same execution's input a second time
    arn = engine.runner().start(f"{doc['run_id']}-delivered-again", start.model_dump(mode="json"))
    assert engine.wait_for_end(arn, 60)

    assert len(invoked) == 2  # both deliveries ran the write's Lambda, with the same idempotency key
    posts = [r for r in maoo.requests_seen() if r["method"] == "POST" and r["path"] == "/incidents"]
    assert len(maoo.side_effects()) == 1  # the second delivery's write answered from its idempotency record
    assert len(posts) == 1
    assert [r["run_id"] for r in get_run_store().list_runs(100)].count(doc["run_id"]) == 1
    again = get_run_store().get_run(doc["run_id"])
    assert again["status"] == "succeeded" and again["final_output"] == stored["final_output"]
    assert asked == []


def test_a_deadline_beyond_the_express_cap_is_accepted_the_run_goes_on_in_new_executions(maoo, express):
    # an execution ends at 5 minutes, the run does not (tests/functional/test_express_continuation.py)
    start = initial_state("calculate 2 + 2", maoo.session.settings, {"deadline_seconds": 600})
    assert start.guards.deadline_seconds == 600
    with pytest.raises(BadRequestError) as refused:  # the guard's own bound still holds
        initial_state("calculate 2 + 2", maoo.session.settings, {"deadline_seconds": 900})
    assert "deadline_seconds" in str(refused.value)


def test_an_express_execution_that_fails_without_finalize_reads_failed_not_running(
    maoo, express, monkeypatch
):
    engine, asked = express
    from chalicelib.durable import checkpoints

    real = checkpoints.save

    def no_final_checkpoint(run_id, kind, state, next_state, document, events, entry=1):
        if state == "Finalize":
            raise RuntimeError("Finalize's checkpoint is lost")
        return real(run_id, kind, state, next_state, document, events, entry)

    monkeypatch.setattr(checkpoints, "save", no_final_checkpoint)
    started = time.monotonic()
    doc = maoo.run("calculate 2 + 2")

    assert doc["status"] == "failed" and doc["stop_reason"] == "execution_failed"
    assert "Express" in doc["stop_detail"] and asked == []
    assert time.monotonic() - started < 30  # the engine said it ended; nobody waits out the runner's timeout
