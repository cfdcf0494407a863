"""The layers are pure transitions: they return the events and metrics they produced, and write nothing.

The handler adapter (``chalicelib.handlers``) does the I/O; these tests run the layers' steps with
every store and memory accessor replaced by one that records any use, and check that none was made.
"""

from __future__ import annotations

import importlib
import sys
import time
from typing import Any

import pytest

from chalicelib.config import reload_settings
from chalicelib.contracts import RunState, ToolOutcome, ToolResult
from chalicelib.journal import NoJournalError, journal_event, journal_metrics, open_journal, run_step
from chalicelib.memory.facts import Recollection, RecollectionMissingError

LAYER_MODULES = (
    "chalicelib.llm.states",
    "chalicelib.perception.perceive_state",
    "chalicelib.planning.plan_state",
    "chalicelib.execution.next_step",
    "chalicelib.execution.observe",
    "chalicelib.execution.finalize",
)


@pytest.fixture(autouse=True)
def mock_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:8765")
    reload_settings()


@pytest.fixture
def io_used(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every run store and long-term memory accessor of the project, replaced by one that logs its use."""
    for name in LAYER_MODULES:
        importlib.import_module(name)
    used: list[str] = []

    class Touched:
        def __init__(self, what: str) -> None:
            self.what = what

        def __getattr__(self, name: str) -> Any:
            used.append(f"{self.what}.{name}")
            raise AssertionError(f"a layer used {self.what}.{name}")

    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith("chalicelib"):
            continue
        for accessor in ("get_run_store", "get_long_term_memory"):
            if hasattr(module, accessor):
                monkeypatch.setattr(module, accessor, lambda accessor=accessor: Touched(accessor))
    return used


def _state(request: str) -> RunState:
    return RunState(run_id=f"run-{time.monotonic_ns()}", request=request, started_at=time.time())


def test_a_whole_run_of_layer_steps_returns_its_events_and_writes_nothing(io_used: list[str]) -> None:
    from chalicelib.execution.finalize import finalize
    from chalicelib.execution.next_step import next_step
    from chalicelib.execution.observe import observe
    from chalicelib.llm.states import perceive_state, plan_state

    perceived = run_step(perceive_state, _state("calculate 2 + 2"), None)
    planned = run_step(plan_state, perceived.state, Recollection(read_at=time.time()))
    routed = run_step(next_step, planned.state)
    called = routed.state.model_copy(
        update={"outcome": ToolOutcome(result=ToolResult(ok=True, tool="calc", output={"value": 4}))}
    )
    observed = run_step(observe, called)
    finished = run_step(finalize, run_step(next_step, observed.state).state)

    assert io_used == []
    assert [kind for kind, _, _ in perceived.events] == ["perception"]
    assert [kind for kind, _, _ in planned.events] == ["memory", "plan"]
    assert "tool_call" in [kind for kind, _, _ in routed.events]
    assert observed.metrics and finished.metrics  # counted, for the adapter to emit
    assert finished.state.status == "succeeded" and "4" in (finished.state.final_output or "")
    assert [kind for kind, _, _ in finished.events][-1] == "finalize"


def test_recording_with_no_journal_open_is_an_error_that_names_the_fix() -> None:
    with pytest.raises(NoJournalError, match="run_step .*open_journal.*record_event"):
        journal_event("stop", "Plan", reason="no_route")
    with pytest.raises(NoJournalError, match="no journal open"):
        journal_metrics({"Runs": 1})


def test_a_journal_keeps_what_a_step_recorded_before_it_crashed() -> None:
    def crashes() -> None:
        journal_event("stop", "Observe", reason="max_steps")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError), open_journal() as journal:
        crashes()

    assert journal.events == [("stop", "Observe", {"reason": "max_steps"})]


def test_a_request_that_points_back_cannot_be_perceived_without_memorys_answer(io_used: list[str]) -> None:
    from chalicelib.perception.perceive_state import memory_query, perceive_state

    state = _state("Do the same as last time")
    query = memory_query(state)

    assert query is not None and query.recent == ("run", 20)
    assert memory_query(_state("calculate 2 + 2")) is None
    with pytest.raises(RecollectionMissingError, match="points back"):
        run_step(perceive_state, state)
    unread = run_step(perceive_state, state, Recollection(read_at=0.0, error="OSError: disk gone"))
    assert unread.state.perception is not None and unread.state.perception.task_type == "ambiguous"
    assert unread.events[0][2]["error"] == "OSError: disk gone"
    assert io_used == []


def test_a_large_argument_is_kept_in_the_transition_for_the_adapter_to_store(
    io_used: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.execution.next_step import next_step
    from chalicelib.llm.states import perceive_state, plan_state

    monkeypatch.setenv("MAOO_LARGE_OUTPUT_BYTES", "256")
    reload_settings()
    expression = " + ".join(["1"] * 120)  # 477 characters: over the threshold, under calc's limit
    perceived = run_step(perceive_state, _state(f"calculate {expression}"), None)
    planned = run_step(plan_state, perceived.state, Recollection(read_at=time.time()))
    routed = run_step(next_step, planned.state)

    assert io_used == []
    assert routed.state.call is not None
    sent = routed.state.call.args["expression"]
    assert set(sent) == {"$blob"} and sent["$blob"].startswith(f"blob:{routed.state.run_id}:")
    assert [(ref_run, value) for ref_run, _, value in routed.blobs] == [(routed.state.run_id, expression)]


def test_a_large_result_is_read_through_the_reader_the_journal_was_opened_with(io_used: list[str]) -> None:
    from chalicelib.execution.finalize import final_output

    state = _state("calculate 2 + 2").model_copy(
        update={"results": {"s1": {"$blob": "blob:r:k"}}, "status": "running"}
    )
    read: list[str] = []

    def reader(ref: str) -> Any:
        read.append(ref)
        return {"expression": "2 + 2", "value": 4}

    with open_journal(read_blob=reader):
        text = final_output(state)
    assert read == ["blob:r:k"] and "4" in text
    with pytest.raises(NoJournalError, match="without a reader"), open_journal():
        final_output(state)
    assert io_used == []
