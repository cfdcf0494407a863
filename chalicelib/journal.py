"""The journal of one state: the trace events and metrics a layer produced, kept for its caller.

The layers (perception, planning, execution) are pure transitions of ``RunState``: they write
nothing. What they want recorded they put in the journal their caller opened
(``journal_event``, ``journal_metrics``), and the caller gets it back with the next state as a
``Transition``. The handler adapter (``chalicelib.handlers``) then does the I/O: it logs the
events, saves them with the state's checkpoint in one transaction, and emits the metrics once
that checkpoint is saved. Runner code that calls a layer's helper outside a handler writes the
journal through ``chalicelib.memory.events``.

Recording with no journal open is an error, never a silent drop and never a write: a layer that
records outside a journal is a wiring bug. Event data is redacted here, when it is recorded, so a
secret never reaches a journal, the trace store or the log.

Large values (over ``MAOO_LARGE_OUTPUT_BYTES``) go the same way: a step keeps the ones it stores
in the journal (``journal_blob``), and reads stored ones through the reader its caller opened the
journal with (``read_blob``): the layer never holds the store itself.

This module imports the standard library and redaction only: a layer that imports it can do no I/O
through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from chalicelib.errors import MaooError
from chalicelib.redaction import redact

Event = tuple[str, str, dict[str, Any]]  # (kind, state, data), as the run store keeps it
Metric = tuple[dict[str, float], dict[str, str]]  # (counts, dimensions)
Blob = tuple[str, str, Any]  # (run id, content key, value): a large value to store under its reference
BlobReader = Callable[[str], Any]  # a stored large value, by its reference
S = TypeVar("S")


class NoJournalError(MaooError):
    """A layer recorded an event or a metric with no journal open to keep it."""


@dataclass(frozen=True)
class Transition(Generic[S]):
    """A layer's step, done: the next state, and the events and metrics it produced, in order."""

    state: S
    events: tuple[Event, ...] = ()
    metrics: tuple[Metric, ...] = ()
    blobs: tuple[Blob, ...] = ()  # large values the caller stores before it saves the state


@dataclass
class Journal:
    """What one step recorded so far; ``transition`` seals it with the state the step returned."""

    events: list[Event] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    blobs: dict[str, Blob] = field(default_factory=dict)  # by reference
    reader: BlobReader | None = None  # the caller's way to read a large value stored earlier

    def transition(self, state: S) -> Transition[S]:
        return Transition(state, tuple(self.events), tuple(self.metrics), tuple(self.blobs.values()))


_open: ContextVar[Journal | None] = ContextVar("maoo_journal", default=None)


@contextmanager
def open_journal(read_blob: BlobReader | None = None) -> Iterator[Journal]:
    """Keep what is recorded inside this block; the journal stays readable if the block raises.
    ``read_blob`` is how a step reads a large value stored by an earlier state (the adapter's run store)."""
    journal = Journal(reader=read_blob)
    token = _open.set(journal)
    try:
        yield journal
    finally:
        _open.reset(token)


def run_step(step: Callable[..., S], *args: Any, **kwargs: Any) -> Transition[S]:
    """``step(*args, **kwargs)`` with a journal open: its next state, events and metrics."""
    with open_journal() as journal:
        state = step(*args, **kwargs)
    return journal.transition(state)


def _current(what: str) -> Journal:
    journal = _open.get()
    if journal is None:
        raise NoJournalError(
            f"{what} was recorded with no journal open: a layer only records into its caller's journal. "
            "Run the step through chalicelib.journal.run_step (or inside open_journal()); runner code "
            "outside a state writes events with chalicelib.memory.events.record_event"
        )
    return journal


def journal_event(kind: str, state: str, **data: Any) -> None:
    """Record one trace event of ``state`` (redacted now) in the open journal."""
    _current(f"event {kind!r} of {state}").events.append((kind, state, redact(data)))


def journal_metrics(counts: dict[str, float], **dimensions: str) -> None:
    """Count something in the open journal; the adapter emits it once the state is checkpointed."""
    _current(f"metrics {sorted(counts)}").metrics.append((counts, dimensions))


def journal_blob(ref: str, run_id: str, key: str, value: Any) -> None:
    """Keep ``value`` for the caller to store under ``ref`` before it saves the state."""
    _current(f"large value {ref!r}").blobs[ref] = (run_id, key, value)


def read_blob(ref: str) -> Any:
    """A large value: one this step kept, else one stored earlier, read through the caller's reader."""
    journal = _current(f"a read of large value {ref!r}")
    if ref in journal.blobs:
        return journal.blobs[ref][2]
    if journal.reader is None:
        raise NoJournalError(
            f"large value {ref!r} was read in a journal opened without a reader: "
            "open it with open_journal(read_blob=...)"
        )
    return journal.reader(ref)
