"""The SQLite run store: run documents, ordered trace events and large outputs."""

from __future__ import annotations

import threading

import pytest

from chalicelib.memory.store import SqliteRunStore


@pytest.fixture
def store(tmp_path) -> SqliteRunStore:
    return SqliteRunStore(tmp_path / "runs.sqlite3")


def test_stored_run_document_reads_back(store):
    document = {
        "run_id": "r1",
        "request": "compute 2 + 2",
        "status": "succeeded",
        "results": {"s1": {"value": 4}},
    }
    store.put_run(document)
    assert store.get_run("r1") == document


def test_unknown_run_reads_as_none(store):
    assert store.get_run("nope") is None


def test_runs_are_listed_newest_first_up_to_the_limit(store):
    # given three runs created at different times, stored out of order
    for run_id, created in (("old", 100.0), ("newest", 300.0), ("middle", 200.0)):
        store.put_run(
            {"run_id": run_id, "request": f"request {run_id}", "status": "succeeded", "created_at": created}
        )
    # when two are listed
    listed = store.list_runs(limit=2)
    # then the two newest come first, with their summary fields
    assert [r["run_id"] for r in listed] == ["newest", "middle"]
    assert listed[0] == {
        "run_id": "newest",
        "request": "request newest",
        "status": "succeeded",
        "stop_reason": None,
        "created_at": 300.0,
    }


def test_upsert_keeps_created_at_and_updates_status(store):
    store.put_run({"run_id": "r1", "request": "x", "status": "running", "created_at": 100.0})
    store.put_run(
        {"run_id": "r1", "request": "x", "status": "stopped", "stop_reason": "budget", "created_at": 999.0}
    )
    [listed] = store.list_runs()
    assert listed["created_at"] == 100.0
    assert (listed["status"], listed["stop_reason"]) == ("stopped", "budget")
    assert store.get_run("r1")["status"] == "stopped"


def test_events_are_ordered_with_seq_starting_at_one_per_run(store):
    # given events of two runs, interleaved
    store.append_event("r1", "state", "Perceive", {"n": 1})
    store.append_event("r2", "state", "Perceive", {"n": 1})
    store.append_event("r1", "tool_call", "CallCalc", {"n": 2})
    store.append_event("r1", "decision", "Observe", {"n": 3, "nested": {"ok": True}})
    store.append_event("r2", "state", "Plan", {"n": 2})
    # then each run's events come back in order, numbered from 1
    r1 = store.events("r1")
    assert [(e["seq"], e["kind"], e["state"], e["data"]) for e in r1] == [
        (1, "state", "Perceive", {"n": 1}),
        (2, "tool_call", "CallCalc", {"n": 2}),
        (3, "decision", "Observe", {"n": 3, "nested": {"ok": True}}),
    ]
    assert [e["seq"] for e in store.events("r2")] == [1, 2]
    assert store.events("r3") == []


def test_blob_round_trips(store):
    value = {"rows": [{"service": "payments", "errors": 240, "rate": 0.02}], "truncated": False, "note": None}
    ref = store.put_blob("r1", value)
    assert store.get_blob(ref) == value
    assert store.put_blob("r1", value) != ref


def test_missing_blob_raises_key_error_naming_the_ref(store):
    with pytest.raises(KeyError) as exc:
        store.get_blob("blob:r1:000000000000")
    assert "blob:r1:000000000000" in str(exc.value)


def test_store_reopened_on_the_same_file_sees_earlier_writes(store):
    store.put_run({"run_id": "r1", "request": "x", "status": "running"})
    store.append_event("r1", "state", "Plan", {})
    reopened = SqliteRunStore(store.path)
    assert reopened.get_run("r1")["run_id"] == "r1"
    reopened.append_event("r1", "state", "NextStep", {})
    assert [e["seq"] for e in reopened.events("r1")] == [1, 2]


def test_concurrent_appends_get_unique_consecutive_seqs(store):
    # given 8 threads appending 20 events each to the same run at once
    threads, per_thread = 8, 20
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        start.wait()
        try:
            for i in range(per_thread):
                store.append_event("r1", "state", "NextStep", {"worker": worker, "i": i})
        except BaseException as exc:  # collected so the assertion below reports it
            errors.append(exc)

    workers = [threading.Thread(target=append, args=(w,)) for w in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    # then every event is stored once, numbered 1..160 without gaps
    assert errors == []
    events = store.events("r1")
    assert [e["seq"] for e in events] == list(range(1, threads * per_thread + 1))
    assert sorted((e["data"]["worker"], e["data"]["i"]) for e in events) == [
        (w, i) for w in range(threads) for i in range(per_thread)
    ]
