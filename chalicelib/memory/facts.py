"""What long-term memory holds and answers, as plain values: no store, no I/O.

The layers need these types without the memory itself: a layer says what it needs to recall
(a ``RecallQuery``), the handler adapter answers it against long-term memory
(``chalicelib.memory.longterm.answer``), and the layer's step takes the answer
(a ``Recollection``) as an argument. ``chalicelib.memory.longterm`` re-exports ``Fact``,
``Recalled`` and ``describe_signal``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.errors import MaooError


class Fact(BaseModel):
    """One thing MAOO learned, as stored."""

    model_config = ConfigDict(
        extra="forbid", defer_build=True
    )  # schemas built on first use: cold starts stay short

    kind: str = Field(min_length=1, max_length=40)
    key: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict)
    run_id: str = ""
    created_at: float = Field(default_factory=time.time)


@dataclass(frozen=True)
class Recalled:
    """A fact that matched a search, with its relevance (higher is more relevant)."""

    fact: Fact
    score: float


@dataclass(frozen=True)
class RecallQuery:
    """What a state needs to read from long-term memory before it runs, in the order it is read.

    ``search``: retrieve up to ``search_limit`` facts relevant to this text; ``latest``: the newest
    fact filed under each ``(kind, key)``; ``recent``: the newest ``limit`` facts of a kind.
    """

    search: str | None = None
    search_limit: int = 5
    latest: tuple[tuple[str, str], ...] = ()
    recent: tuple[str, int] | None = None


@dataclass(frozen=True)
class Recollection:
    """Long-term memory's answer to a ``RecallQuery``, read at ``read_at`` (epoch seconds).

    A memory that cannot be read is not fatal: ``error`` says why, and the answer holds what was
    read before the failure (reads go in ``RecallQuery``'s order: search, latest, recent).
    """

    read_at: float
    found: tuple[Recalled, ...] = ()
    latest: dict[tuple[str, str], Fact | None] = field(default_factory=dict)
    recent: tuple[Fact, ...] = ()
    error: str | None = None


class RecollectionMissingError(MaooError):
    """A state that needs long-term memory's answer was run without it (a wiring bug)."""


_SIGNAL_WORDS = {
    "ok": "healthy (it answered)",
    "rate_limited": "rate-limited",
    "transient": "failing with server errors",
    "timeout": "timing out",
    "malformed_response": "answering malformed JSON",
    "schema_drift": "answering with a drifted schema",
    "not_found": "answering 404",
    "auth": "refusing our credentials",
    "bad_args": "refusing the arguments",
    "policy_denied": "denied by policy",
    "fatal": "failing",
}


def describe_signal(signal: str) -> str:
    return _SIGNAL_WORDS.get(signal, signal)
