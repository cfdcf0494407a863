"""Checkpoints: the ``RunState`` each Task state returned, saved before the engine moves on.

A checkpoint row holds the state that wrote it, the state the engine goes to next
(``next_state``) and a sequence number. Three kinds:

- ``state``: a layer's output (Perceive, Plan, NextStep, Observe, Finalize).
- ``tool_started``: a plain ``write`` is about to be sent; with no ``tool`` row after it, the
  write was in flight when the process died and is never repeated blindly.
- ``tool``: a tool's result, so that a resume does not call a finished tool again.

A ``state`` row holds the whole ``RunState`` the first time a process saves one for the run; after
that, only the fields that changed since the last row this process saved for it (a *delta*:
``{"$delta": {"base": seq, "set": {...}, "unset": [...]}}``). Most states change a few small
fields of a document whose perception and plan do not change: a 20-step run writes about a
seventh of the JSON it would write whole. A chain of deltas is at most ``FULL_EVERY`` rows long
and its whole row at most ``BASE_SECONDS`` old, so a read folds a few rows and a row never
outlives its base where the store expires rows in the order they were written (DynamoDB's TTL).
``rows`` and ``latest`` give every document whole; nothing else reads a row's document.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from chalicelib.config import get_settings
from chalicelib.durable import drills
from chalicelib.memory.records import Checkpoint
from chalicelib.memory.store import Event, get_run_store

# where the engine goes after each layer state: the resume's entry Choice routes there
NEXT_STATE = {
    "Perceive": "Plan",
    "Plan": "PlanOK?",
    "NextStep": "Route",
    "Observe": "Decide",
    "Finalize": "Done",
}
# the states a resumed execution may start at (the entry Choice's rules, in the definition)
RESUMABLE = ("Plan", "PlanOK?", "NextStep", "Route", "Observe", "Decide", "Finalize", "Done")

DELTA = "$delta"  # the one key of a delta row's document (no RunState field starts with "$")
FULL_EVERY = 16  # rows in a chain: the 16th state row after a whole one is whole again
BASE_SECONDS = 600.0  # a chain whose whole row is older than this ends: the next row is whole
_REMEMBERED = 64  # runs whose last row a process keeps as the base of the next delta


@dataclass(frozen=True)
class _Base:
    """The last ``state`` row this process saved for a run: what the next delta is written against."""

    seq: int
    depth: int  # deltas since the whole row (0: this row is whole)
    whole_at: float  # time.monotonic() when that whole row was written
    document: dict[str, Any]  # a copy of the document's top level (its parts are never changed in place)


_Key = tuple[str, str]  # (the store's file or table, the run id)
_bases: OrderedDict[_Key, _Base] = OrderedDict()
_bases_lock = threading.Lock()


def _key(store: Any, run_id: str) -> _Key:
    """A run's base is kept per store: the same run id in another store (another runtime folder) has none."""
    return str(getattr(store, "path", None) or getattr(store, "table", None) or id(store)), run_id


def _stored_form(key: _Key, document: dict[str, Any]) -> tuple[dict[str, Any], _Base | None]:
    """What to write for a state's document: a delta against the run's base, or (no base, a chain
    long or old enough) the document whole; and the base the delta was written against."""
    with _bases_lock:
        base = _bases.get(key)
    if base is None or base.depth + 1 >= FULL_EVERY or time.monotonic() - base.whole_at > BASE_SECONDS:
        return document, None
    before = base.document
    changed = {
        name: value
        for name, value in document.items()
        if name not in before or (before[name] is not value and before[name] != value)
    }
    removed = [name for name in before if name not in document]
    return {DELTA: {"base": base.seq, "set": changed, "unset": removed}}, base


def _remember(key: _Key, base: _Base | None) -> None:
    with _bases_lock:
        if base is None:
            _bases.pop(key, None)
            return
        _bases[key] = base
        _bases.move_to_end(key)
        while len(_bases) > _REMEMBERED:
            _bases.popitem(last=False)


def save(
    run_id: str,
    kind: str,
    state: str,
    next_state: str,
    document: dict[str, Any],
    events: list[Event],
    entry: int = 1,
) -> int:
    """Write one checkpoint with the events its state produced, and renew the run's lease."""
    store = get_run_store()
    if drills.store_fails_at(state, entry):
        store.make_read_only()  # type: ignore[attr-defined]
    lease_until = time.time() + get_settings().lease_seconds
    if kind != "state":
        return store.record_transition(run_id, kind, state, next_state, document, events, lease_until)
    key = _key(store, run_id)
    stored, base = _stored_form(key, document)
    seq = store.record_transition(run_id, kind, state, next_state, stored, events, lease_until)
    if next_state == "Done":  # the run's last state row: nothing is written against it
        _remember(key, None)
    elif base is None:
        _remember(key, _Base(seq, 0, time.monotonic(), dict(document)))
    else:
        _remember(key, _Base(seq, base.depth + 1, base.whole_at, dict(document)))
    return seq


def _whole(run_id: str, row: Checkpoint, by_seq: dict[int, Checkpoint]) -> dict[str, Any]:
    """A state row's document whole: its delta folded onto the rows it was written against."""
    from chalicelib.errors import StoreError

    deltas: list[dict[str, Any]] = []
    document = row["document"]
    seq = row["seq"]
    while DELTA in document:
        delta = document[DELTA]
        base = by_seq.get(delta["base"])
        if base is None or base["seq"] >= seq:
            raise StoreError(
                f"checkpoint {row['seq']} of run {run_id} is written against checkpoint "
                f"{delta['base']}, which the run store no longer holds; the run cannot be resumed from it"
            )
        deltas.append(delta)
        document, seq = base["document"], base["seq"]
    whole = dict(document)
    for delta in reversed(deltas):
        for name in delta["unset"]:
            whole.pop(name, None)
        whole.update(delta["set"])
    return whole


def _made_whole(run_id: str, row: Checkpoint, by_seq: dict[int, Checkpoint]) -> Checkpoint:
    whole: Checkpoint = {**row, "document": _whole(run_id, row, by_seq)}
    return whole


def rows(run_id: str) -> list[Checkpoint]:
    """The run's checkpoints in order, every ``state`` row with its document whole."""
    stored = get_run_store().checkpoints(run_id)
    by_seq = {r["seq"]: r for r in stored if r["kind"] == "state"}
    return [_made_whole(run_id, r, by_seq) if r["kind"] == "state" else r for r in stored]


def latest(run_id: str) -> tuple[Checkpoint | None, list[Checkpoint]]:
    """The last ``state`` checkpoint of the run (its document whole), and the tool rows after it."""
    stored = get_run_store().checkpoints(run_id)
    by_seq = {r["seq"]: r for r in stored if r["kind"] == "state"}
    last = next((r for r in reversed(stored) if r["kind"] == "state"), None)
    after = [r for r in stored if r["kind"] != "state" and (last is None or r["seq"] > last["seq"])]
    if last is not None:
        last = _made_whole(run_id, last, by_seq)
    return last, after
