"""A run on Express that outlives one execution's time goes on in new executions of the same run.

The slice of time each execution gets is read from one clock (``continuation.clock``); these tests
replace it with one that moves a minute each time it is read, so a slice (240 s) ends after three
routed steps, without waiting and without depending on timing. The execution histories are read
straight from the embedded engine (the runner never asks for them on Express)."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.config import reload_settings
from chalicelib.execution import continuation
from chalicelib.memory.store import get_run_store
from chalicelib.workflow.sfn_runner import states_entered
from embedded_engine import get_embedded_engine, reset_embedded_engine

SEVEN_STEPS = ", ".join(f"calculate {n} + {n}" for n in range(1, 8))


class MinuteClock:
    """A clock that moves 60 s each time it is read: the runner reads it once per execution it
    starts, NextStep once per call it is about to route."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        self.now += 60.0
        return self.now


@pytest.fixture
def express(maoo, monkeypatch):
    """The embedded engine on an Express machine, keeping every finished execution for the test to
    read, with the minute clock; the runner's describe and history calls fail loudly."""
    monkeypatch.setenv("MAOO_WORKFLOW_TYPE", "EXPRESS")
    reload_settings()
    reset_embedded_engine()
    maoo.session = type(maoo.session)()
    maoo.run("calculate 1 + 1")  # starts the engine, with the Express machine
    engine = get_embedded_engine(None, {})
    engine.keep_finished = 50
    asked: list[str] = []

    def refused(name):
        def call(**kwargs):
            asked.append(name)
            raise AssertionError(f"{name} called on an Express state machine")

        return call

    monkeypatch.setattr(engine.sfn(), "describe_execution", refused("DescribeExecution"), raising=False)
    monkeypatch.setattr(engine.sfn(), "get_execution_history", refused("GetExecutionHistory"), raising=False)
    monkeypatch.setattr(continuation, "clock", MinuteClock())
    yield engine, asked
    monkeypatch.delenv("MAOO_WORKFLOW_TYPE")
    monkeypatch.delenv("MAOO_EXPRESS_MAX_CONTINUATIONS", raising=False)
    reload_settings()
    reset_embedded_engine()


def _counted(engine, monkeypatch, function: str) -> list[dict]:
    real = engine.handlers[function]
    calls: list[dict] = []

    def handler(event, context):
        calls.append(event)
        return real(event, context)

    monkeypatch.setitem(engine.handlers, function, handler)
    return calls


def _executions(engine, run_id: str) -> dict[str, list[str]]:
    """Each execution of the run the engine still holds: its name -> the states it entered."""
    machine = engine._backend().describe_state_machine(engine.state_machine_arn)
    return {
        e.name: states_entered(engine.read_history(e.execution_arn))
        for e in machine.executions
        if e.name == run_id or e.name.startswith(run_id + "-r")
    }


def test_a_run_longer_than_a_slice_goes_on_in_new_executions_and_ends_succeeded(maoo, express, monkeypatch):
    engine, asked = express
    calls = _counted(engine, monkeypatch, "tool_calc")

    doc = maoo.run(SEVEN_STEPS)

    run_id = doc["run_id"]
    assert doc["status"] == "succeeded", doc["stop_detail"]
    assert all(str(2 * n) in doc["final_output"] for n in range(1, 8))
    assert len(calls) == 7  # every step called once, none again in a new execution
    assert sorted(c["step_id"] for c in calls) == sorted({c["step_id"] for c in calls})
    # three executions of one run: the first two end at ContinueAsNew, each next starts at NextStep
    runs = _executions(engine, run_id)
    assert sorted(runs) == [run_id, f"{run_id}-r1", f"{run_id}-r2"]
    assert runs[run_id][-2:] == ["Route", "ContinueAsNew"]
    assert runs[f"{run_id}-r1"][:2] == ["ResumeAt", "NextStep"]
    assert runs[f"{run_id}-r1"][-1] == "ContinueAsNew"
    assert runs[f"{run_id}-r2"][:2] == ["ResumeAt", "NextStep"] and runs[f"{run_id}-r2"][-2:] == [
        "Finalize",
        "Done",
    ]
    slices = (runs[run_id], runs[f"{run_id}-r1"], runs[f"{run_id}-r2"])
    assert [s.count("CallCalc") for s in slices] == [3, 3, 1]
    # one run document, naming the last execution
    assert [r["run_id"] for r in get_run_store().list_runs(100)].count(run_id) == 1
    assert doc["execution_name"] == f"{run_id}-r2"
    # the trace shows each execution: where one ended and the next began
    trace = json.loads(open(doc["trace_file"], encoding="utf-8").read())
    went_on = [e["data"] for e in trace["events"] if e["kind"] == "resume"]
    assert [(e["after"], e["execution"], e["cause"]) for e in went_on] == [
        (run_id, f"{run_id}-r1", "continuation"),
        (f"{run_id}-r1", f"{run_id}-r2", "continuation"),
    ]
    assert [e["data"]["continuation"] for e in trace["events"] if e["kind"] == "continue"] == [1, 2]
    assert asked == []


def test_a_write_at_the_start_of_a_new_execution_is_made_once(maoo, express, monkeypatch):
    engine, asked = express
    posts = _counted(engine, monkeypatch, "tool_http_post")

    doc = maoo.run("calculate 1 + 1, calculate 2 + 2, calculate 3 + 3, open a sev2 incident for search")

    assert doc["status"] == "succeeded", doc["stop_detail"]
    runs = _executions(engine, doc["run_id"])
    assert "CallHttpPost" not in runs[doc["run_id"]]  # the slice ended before the write was routed
    assert "CallHttpPost" in runs[f"{doc['run_id']}-r1"]
    assert len(posts) == 1 and len(maoo.side_effects()) == 1
    assert [r["path"] for r in maoo.requests_seen() if r["method"] == "POST"] == ["/incidents"]
    assert asked == []


def test_a_run_that_needs_more_executions_than_allowed_ends_failed_and_says_why(maoo, express, monkeypatch):
    engine, asked = express
    monkeypatch.setenv("MAOO_EXPRESS_MAX_CONTINUATIONS", "1")
    reload_settings()
    maoo.session = type(maoo.session)()
    calls = _counted(engine, monkeypatch, "tool_calc")

    doc = maoo.run(SEVEN_STEPS)

    assert doc["status"] == "failed" and doc["stop_reason"] == "continuation_limit"
    assert "MAOO_EXPRESS_MAX_CONTINUATIONS is 1" in doc["stop_detail"]
    assert "WorkflowType=STANDARD" in doc["stop_detail"]
    assert len(calls) == 6  # two slices of three steps; the seventh was never called
    runs = _executions(engine, doc["run_id"])
    assert sorted(runs) == [doc["run_id"], f"{doc['run_id']}-r1"]
    assert runs[f"{doc['run_id']}-r1"][-2:] == ["Finalize", "Done"]
    assert "ContinueAsNew" not in runs[f"{doc['run_id']}-r1"]
    assert asked == []


def test_a_standard_run_never_goes_on_in_a_new_execution(maoo, engine, monkeypatch):
    monkeypatch.setattr(continuation, "clock", MinuteClock())

    doc = maoo.run(SEVEN_STEPS)

    assert doc["status"] == "succeeded"
    assert "ContinueAsNew" not in doc["states"] and doc["execution_name"] == doc["run_id"]


def test_a_run_nobody_waits_for_goes_on_through_the_http_api(maoo, express, monkeypatch):
    from chalice.test import Client

    import app as app_module
    from app import app

    engine, asked = express
    monkeypatch.setattr(app_module, "_service", None)  # a run service of its own, on the Express engine
    with Client(app, stage_name="local") as client:
        started = client.http.post(
            "/runs",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"request": SEVEN_STEPS, "wait": False}),
        )
        assert started.status_code == 202
        run_id = started.json_body["run_id"]
        for _ in range(600):  # bounded: at most ~30 s of polling, normally a few
            doc = client.http.get(f"/runs/{run_id}").json_body
            if doc["status"] != "running":
                break
            time.sleep(0.05)

    assert doc["status"] == "succeeded" and doc["execution_name"] == f"{run_id}-r2"
    assert sorted(_executions(engine, run_id)) == [run_id, f"{run_id}-r1", f"{run_id}-r2"]
    assert asked == []


def test_a_reader_of_a_run_nobody_waits_for_starts_its_next_execution_once(maoo, express):
    """On AWS nobody waits for a run started through the API: the first reader that finds its
    execution ended at its slice's end starts the next one; a second reader of the same moment
    starts none."""
    from chalicelib.workflow.runs import initial_state, refresh_run, start_run

    engine, asked = express
    runner, settings = maoo.session.runner(), maoo.session.settings
    start = initial_state(SEVEN_STEPS, settings)
    arn = start_run(runner, start, "embedded")
    names = [start.run_id]
    for expected in (f"{start.run_id}-r1", f"{start.run_id}-r2"):
        assert engine.wait_for_end(arn, 60)
        seen = get_run_store().get_run(start.run_id)
        assert seen["status"] == "running"

        first = refresh_run(runner, settings, seen)
        second = refresh_run(runner, settings, seen)  # the same document, read at the same moment

        assert first["status"] == second["status"] == "running"
        assert first["execution_arn"].endswith(":" + expected)
        names.append(expected)
        assert sorted(_executions(engine, start.run_id)) == names  # the second reader started none
        arn = first["execution_arn"]
    assert engine.wait_for_end(arn, 60)
    done = refresh_run(runner, settings, get_run_store().get_run(start.run_id))

    assert done["status"] == "succeeded" and all(str(2 * n) in done["final_output"] for n in range(1, 8))
    assert sorted(_executions(engine, start.run_id)) == [
        start.run_id,
        f"{start.run_id}-r1",
        f"{start.run_id}-r2",
    ]
    assert asked == []


def test_an_express_run_page_shows_the_states_rebuilt_from_maoos_own_record(maoo, express, monkeypatch):
    """Express keeps no history; the run page shows MAOO's own: every state of every execution, in
    the order the engine entered them, each Task state with the document it returned."""
    from chalicelib.trace_history import trace_history
    from chalicelib.viewer import facts_json, render_trace

    engine, asked = express
    doc = maoo.run("calculate 1 + 1, calculate 2 + 2, calculate 3 + 3, open a sev2 incident for search")
    run_id = doc["run_id"]
    trace = json.loads(open(doc["trace_file"], encoding="utf-8").read())
    machine = engine._backend().describe_state_machine(engine.state_machine_arn)
    engine_history = [  # what the engine did, execution after execution, read where it keeps them
        event
        for name in (run_id, f"{run_id}-r1")
        for event in engine.read_history(next(e for e in machine.executions if e.name == name).execution_arn)
    ]

    rebuilt = trace_history(trace)

    assert trace["execution"]["source"] == "checkpoints"
    assert states_entered(rebuilt) == states_entered(engine_history)
    assert doc["states"] == states_entered(engine_history) and doc["states"].count("ContinueAsNew") == 1

    def task_outputs(history):
        return [
            (e["stateExitedEventDetails"]["name"], json.loads(e["stateExitedEventDetails"]["output"]))
            for e in history
            if e.get("type") == "TaskStateExited"
        ]

    assert task_outputs(rebuilt) == task_outputs(engine_history)
    page = render_trace(trace)
    assert "not available yet" not in page and 'id="recorded-note"' in page
    facts = facts_json(trace)
    assert facts["history"] == "checkpoints"
    assert [v["name"] for v in facts["visits"]] == states_entered(engine_history)
    assert [c["tool"] for c in facts["tool_calls"]] == ["calc", "calc", "calc", "http_post"]
    assert all(c["visit"] is not None for c in facts["tool_calls"])  # each call joined to its state
    assert asked == []


def test_cli_show_html_of_an_express_run_draws_its_states(maoo, express, tmp_path):
    from typer.testing import CliRunner

    from cli.main import app as cli_app

    doc = maoo.run("calculate 1 + 1, calculate 2 + 2, calculate 3 + 3, calculate 4 + 4")
    page = tmp_path / "run.html"

    shown = CliRunner().invoke(cli_app, ["show", doc["run_id"], "--html", str(page)])

    assert shown.exit_code == 0, shown.output
    html = page.read_text(encoding="utf-8")
    assert 'id="recorded-note"' in html and "not available yet" not in html
    data = json.loads(
        html.split('<script type="application/json" id="run-data">', 1)[1].split("</script>", 1)[0]
    )
    assert [v["name"] for v in data["visits"]].count("ContinueAsNew") == 1
    assert [v["name"] for v in data["visits"]].count("CallCalc") == 4


def _engine_states(engine, run_id: str) -> list[str]:
    """The states the engine entered in every execution of the run, in the order they ran."""
    machine = engine._backend().describe_state_machine(engine.state_machine_arn)
    mine = [e for e in machine.executions if e.name == run_id or e.name.startswith(run_id + "-r")]
    mine.sort(key=lambda e: (e.name != run_id, int(e.name.rsplit("-r", 1)[-1]) if e.name != run_id else 0))
    return [name for e in mine for name in states_entered(engine.read_history(e.execution_arn))]


def test_an_express_run_that_retries_patches_and_replans_is_rebuilt_state_for_state(maoo, express):
    from chalicelib.trace_history import trace_history
    from cli.demos import DEMOS

    engine, asked = express
    demo = DEMOS["refinement"]
    doc = maoo.run(demo.request, faults=demo.faults, **demo.guards)

    assert doc["counters"]["retries"] == 3 and doc["counters"]["replans"] == 1
    trace = json.loads(open(doc["trace_file"], encoding="utf-8").read())
    rebuilt = states_entered(trace_history(trace))
    assert rebuilt == _engine_states(engine, doc["run_id"])
    assert "Backoff" in rebuilt and rebuilt.count("Plan") == 2 and "ContinueAsNew" in rebuilt
    assert asked == []


def test_an_express_run_whose_layer_crashes_shows_every_state_but_the_one_that_wrote_nothing(
    maoo, express, monkeypatch
):
    from chalicelib.trace_history import trace_history

    engine, asked = express

    def broken(event, context):
        raise RuntimeError("observer exploded")

    monkeypatch.setitem(engine.handlers, "observe", broken)
    doc = maoo.run("calculate 2 + 2, calculate 3 + 3")

    assert doc["status"] == "failed" and doc["stop_reason"] == "crash"
    trace = json.loads(open(doc["trace_file"], encoding="utf-8").read())
    ran = _engine_states(engine, doc["run_id"])
    assert "Observe" in ran  # entered, crashed, caught: no checkpoint says so
    assert states_entered(trace_history(trace)) == [s for s in ran if s != "Observe"]
    assert "observer exploded" in doc["stop_detail"]
    assert asked == []


def test_an_express_run_whose_tool_lambda_is_retried_shows_the_call_once(maoo, express, monkeypatch):
    """A tool's Lambda that ran but lost its response runs again (the state's native Retry): two
    checkpoints of one call, one state entered, as the engine shows it."""
    from chalicelib.trace_history import trace_history
    from tests.functional.conftest import lose_first_response

    engine, asked = express
    calls = lose_first_response(engine, monkeypatch, "tool_calc")
    doc = maoo.run("calculate 2 + 2")

    assert doc["status"] == "succeeded" and calls["n"] == 2
    trace = json.loads(open(doc["trace_file"], encoding="utf-8").read())
    ran = _engine_states(engine, doc["run_id"])
    assert ran.count("CallCalc") == 1
    assert states_entered(trace_history(trace)) == ran
    assert asked == []


def test_a_run_left_between_two_executions_resumes_at_nextstep_and_calls_nothing_twice(
    maoo, express, monkeypatch
):
    """The process that drove the run let go of it just as an execution ended at its slice's end
    (here: the store failed there): the run reads interrupted at that checkpoint, and a resume goes
    on at NextStep, as the next execution would have."""
    from chalicelib.errors import StoreError
    from chalicelib.workflow import runs
    from chalicelib.workflow.resume import resume

    engine, asked = express
    calls = _counted(engine, monkeypatch, "tool_calc")

    def store_gone(*args, **kwargs):
        raise StoreError("the run store is gone")

    go_on = runs._go_on
    monkeypatch.setattr(runs, "_go_on", store_gone)
    with pytest.raises(StoreError):
        maoo.run(SEVEN_STEPS)
    run_id = get_run_store().list_runs(1)[0]["run_id"]
    assert len(calls) == 3  # the first slice's three steps
    from chalicelib.durable.status import as_seen

    assert as_seen(get_run_store().get_run(run_id))["status"] == "interrupted"
    monkeypatch.setattr(runs, "_go_on", go_on)  # the store works again

    done = resume(maoo.session.runner(), maoo.session.settings, run_id)

    assert done["status"] == "succeeded" and all(str(2 * n) in done["final_output"] for n in range(1, 8))
    assert len(calls) == 7  # the four steps left, each once
    runs_seen = _executions(engine, run_id)
    assert runs_seen[f"{run_id}-r1"][:2] == ["ResumeAt", "NextStep"]
    assert asked == []
