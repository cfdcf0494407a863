"""Checkpoints written as deltas: every state row reads back whole, equal to what the state passed on.

A ``state`` checkpoint after the first in a process holds only the fields that changed since the
last row the process saved for the run (``chalicelib.durable.checkpoints``); the execution history
is what each state really passed on, so each row read back must equal that state's output there.
"""

from __future__ import annotations

import json
import os

import pytest

from chalicelib.durable import checkpoints
from chalicelib.errors import StoreError
from chalicelib.memory.store import get_run_store
from chalicelib.trace_history import trace_history
from chalicelib.workflow.resume import resume

pytestmark = pytest.mark.functional
LAYERS = {"Perceive", "Plan", "NextStep", "Observe", "Finalize"}
TWENTY = ", ".join(f"calculate {i} + {i}" for i in range(1, 21))


def _layer_outputs(trace_file: str) -> list[dict]:
    """Each layer state's output, in order, as the execution history recorded it."""
    with open(trace_file, encoding="utf-8") as handle:
        history = trace_history(json.load(handle))
    return [
        json.loads(e["stateExitedEventDetails"]["output"])
        for e in history
        if e.get("stateExitedEventDetails", {}).get("name") in LAYERS
    ]


def test_a_long_run_is_stored_as_deltas_and_every_row_reads_back_as_its_state_passed_it_on(maoo):
    # given a run of 20 calls: 44 layer states in one process
    doc = maoo.run(TWENTY, max_steps=40, budget=100)
    assert doc["status"] == "succeeded"
    raw = [r for r in get_run_store().checkpoints(doc["run_id"]) if r["kind"] == "state"]
    whole = [r for r in checkpoints.rows(doc["run_id"]) if r["kind"] == "state"]
    # then most rows are deltas, no chain is longer than FULL_EVERY, and the deltas are small
    deltas = [r for r in raw if checkpoints.DELTA in r["document"]]
    assert len(raw) == 44 and len(deltas) >= 30
    wholes = [i for i, r in enumerate(raw) if checkpoints.DELTA not in r["document"]]
    assert wholes[0] == 0 and all(
        b - a <= checkpoints.FULL_EVERY for a, b in zip(wholes, wholes[1:] + [len(raw)], strict=True)
    )
    written = sum(len(json.dumps(r["document"])) for r in raw)
    assert written * 3 < sum(len(json.dumps(r["document"])) for r in whole)
    # and every row read back whole is what its state passed on in the execution history
    assert [r["document"] for r in whole] == _layer_outputs(doc["trace_file"])
    assert whole[-1]["document"]["final_output"] == doc["final_output"]


def test_a_run_interrupted_in_a_chain_of_deltas_resumes_to_the_same_end(maoo):
    # given a long run whose process died after its 30th state row (a delta deep in a chain)
    doc = maoo.run(TWENTY, max_steps=40, budget=100)
    store = get_run_store()
    rows = store.checkpoints(doc["run_id"])
    cut = [r for r in rows if r["kind"] == "state"][29]
    assert checkpoints.DELTA in cut["document"]
    store._connection().execute(
        "DELETE FROM checkpoints WHERE run_id = ? AND seq > ?", (doc["run_id"], cut["seq"])
    )
    store.put_run({**doc, "status": "running"})
    store.claim_owner(doc["run_id"], 2**22 + 12347, os.uname().nodename, 2.0)
    checkpoints._bases.clear()  # a new process: it knows no base
    # when it is resumed
    resumed = resume(maoo.session.runner(), maoo.session.settings, doc["run_id"])
    # then it ends as the uninterrupted run did, and its first row after the resume is whole
    assert resumed["status"] == "succeeded" and resumed["final_output"] == doc["final_output"]
    after = [r for r in store.checkpoints(doc["run_id"]) if r["kind"] == "state" and r["seq"] > cut["seq"]]
    assert after and checkpoints.DELTA not in after[0]["document"]


def test_a_delta_whose_base_is_gone_is_a_clear_store_error(maoo):
    # given a run whose whole first row was lost from the store
    doc = maoo.run(TWENTY, max_steps=40, budget=100)
    store = get_run_store()
    first = store.checkpoints(doc["run_id"])[0]
    store._connection().execute(
        "DELETE FROM checkpoints WHERE run_id = ? AND seq = ?", (doc["run_id"], first["seq"])
    )
    # when its rows are read, the error names the row, its base and the run
    with pytest.raises(
        StoreError,
        match=rf"checkpoint \d+ of run {doc['run_id']} is written against checkpoint {first['seq']}",
    ):
        checkpoints.rows(doc["run_id"])
