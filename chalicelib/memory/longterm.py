"""Long-term memory: facts learned in past runs, retrieved to inform the next plan.

A fact is a sentence a person can read ("endpoint GET /services/payments/metrics was rate-limited
at 2025-06-02T12:00:03Z") plus the structured data a planner acts on (``{"ok": false, "signal":
"rate_limited"}``), filed under a ``kind`` and a ``key`` (``endpoint`` / ``GET /services/...``).

``LongTermMemory`` is the protocol; two implementations pass the same tests:

- ``SqliteLongTermMemory``, the embedded default: a table in the runtime SQLite file with an FTS5
  index over each fact's text and key; ``search`` ranks by bm25.
- ``DynamoDBLongTermMemory``: one item per fact, partition key ``kind#key``, sort key the time, so
  ``latest`` is one Query. ``search`` and ``recent`` are a Scan, ``search`` scored in Python (the number of distinct query
  terms a fact contains, newest first on ties): DynamoDB has no full-text index, and memory stays
  small (a fact per endpoint, metric and run). Table name from ``MAOO_MEMORY_TABLE``.

``answer(query)`` is what the Perceive and Plan handler adapters call before the state runs: it
reads what the state asked to recall (``chalicelib.memory.facts.RecallQuery``) and never raises (a
memory that cannot be read is the answer's ``error``, which the state puts in the trace). The
layers never read memory themselves.

``remember_facts(run_id, facts)`` is what the Finalize state's handler adapter calls: it files the
facts of a finished run (how each endpoint answered, the error rates computed, the request and its
outcome), which the Finalize state computed (``chalicelib.execution.lessons``). It never raises: a
memory that cannot be written must not fail the run it describes.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from chalicelib.config import get_settings
from chalicelib.memory.facts import Fact, Recalled, RecallQuery, Recollection
from chalicelib.memory.facts import describe_signal as describe_signal  # re-exported for its importers

_STOPWORDS = frozenset(
    "a an and are as at be by for from get give how i in is it its me of on or over please show the then to was what "
    "which with".split()
)


class LongTermMemory(Protocol):
    def remember(self, facts: Iterable[Fact]) -> int:
        """Store the facts; returns how many were stored."""

    def search(self, query: str, *, kind: str | None = None, limit: int = 5) -> list[Recalled]:
        """Facts relevant to ``query``, most relevant first; none when no term matches."""

    def latest(self, kind: str, key: str) -> Fact | None:
        """The newest fact filed under ``kind`` and ``key``."""

    def recent(self, kind: str, limit: int = 10) -> list[Fact]:
        """The newest facts of ``kind``, newest first."""


def terms(text: str) -> list[str]:
    """The words retrieval matches on: lower-case, no stop words, each once."""
    return list(dict.fromkeys(t for t in re.findall(r"[a-z0-9_]+", text.lower()) if t not in _STOPWORDS))


# ---------------------------------------------------------------- SQLite + FTS5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS memory_facts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    text TEXT NOT NULL,
    data TEXT NOT NULL,
    run_id TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS memory_facts_by_key ON memory_facts (kind, key, created_at DESC);
CREATE VIRTUAL TABLE IF NOT EXISTS memory_fts USING fts5(text, key, content='memory_facts', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS memory_facts_indexed AFTER INSERT ON memory_facts BEGIN
    INSERT INTO memory_fts (rowid, text, key) VALUES (new.id, new.text, new.key);
END;
"""
_COLUMNS = "f.kind, f.key, f.text, f.data, f.run_id, f.created_at"


def _fact(row: tuple) -> Fact:
    kind, key, text, data, run_id, created_at = row
    return Fact(kind=kind, key=key, text=text, data=json.loads(data), run_id=run_id, created_at=created_at)


class SqliteLongTermMemory:
    """Facts in SQLite, retrieved with FTS5 and ranked by bm25."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def remember(self, facts: Iterable[Fact]) -> int:
        rows = [
            (f.kind, f.key, f.text, json.dumps(f.data, default=str), f.run_id, f.created_at) for f in facts
        ]
        with self._connect() as conn:
            conn.executemany(
                "INSERT INTO memory_facts (kind, key, text, data, run_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def search(self, query: str, *, kind: str | None = None, limit: int = 5) -> list[Recalled]:
        words = terms(query)
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        sql = (
            f"SELECT {_COLUMNS}, bm25(memory_fts) FROM memory_fts JOIN memory_facts f ON f.id = memory_fts.rowid"
            " WHERE memory_fts MATCH ?"
            + (" AND f.kind = ?" if kind else "")
            + " ORDER BY bm25(memory_fts), f.created_at DESC, f.id DESC LIMIT ?"
        )
        params: list[Any] = [match, *([kind] if kind else []), limit]
        with self._connect() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [Recalled(_fact(row[:6]), -float(row[6])) for row in rows]

    def latest(self, kind: str, key: str) -> Fact | None:
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM memory_facts f WHERE f.kind = ? AND f.key = ?"
                " ORDER BY f.created_at DESC, f.id DESC LIMIT 1",
                (kind, key),
            ).fetchone()
        return _fact(row) if row else None

    def recent(self, kind: str, limit: int = 10) -> list[Fact]:
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM memory_facts f WHERE f.kind = ?"
                " ORDER BY f.created_at DESC, f.id DESC LIMIT ?",
                (kind, limit),
            ).fetchall()
        return [_fact(row) for row in rows]


# ---------------------------------------------------------------- DynamoDB


class DynamoDBLongTermMemory:
    """Facts in a DynamoDB table (``pk`` = ``kind#key``, ``sk`` = time + id); search is a scored Scan."""

    def __init__(self, table_name: str | None = None, client: Any = None):
        self.table_name = table_name or get_settings().memory_table
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # on first use: a Lambda that never touches memory does not pay for it

            self._client = boto3.client("dynamodb", region_name=get_settings().region)
        return self._client

    def create_table(self) -> None:
        """Create the table (on-demand billing). In the cloud the deployment template owns it."""
        self.client.create_table(
            TableName=self.table_name,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )

    @staticmethod
    def _item(fact: Fact) -> dict[str, Any]:
        return {
            "pk": {"S": f"{fact.kind}#{fact.key}"},
            "sk": {"S": f"{fact.created_at:020.6f}#{uuid.uuid4().hex[:8]}"},
            "kind": {"S": fact.kind},
            "key": {"S": fact.key},
            "text": {"S": fact.text},
            "data": {"S": json.dumps(fact.data, default=str)},
            "run_id": {"S": fact.run_id},
            "created_at": {"N": str(Decimal(repr(fact.created_at)))},
        }

    @staticmethod
    def _fact(item: dict[str, Any]) -> Fact:
        return Fact(
            kind=item["kind"]["S"],
            key=item["key"]["S"],
            text=item["text"]["S"],
            data=json.loads(item["data"]["S"]),
            run_id=item["run_id"]["S"],
            created_at=float(item["created_at"]["N"]),
        )

    def remember(self, facts: Iterable[Fact]) -> int:
        count = 0
        for fact in facts:
            self.client.put_item(TableName=self.table_name, Item=self._item(fact))
            count += 1
        return count

    def _scan(self, kind: str | None) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"TableName": self.table_name}
        if kind:
            kwargs.update(
                FilterExpression="#k = :k",
                ExpressionAttributeNames={"#k": "kind"},
                ExpressionAttributeValues={":k": {"S": kind}},
            )
        while True:
            page = self.client.scan(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def search(self, query: str, *, kind: str | None = None, limit: int = 5) -> list[Recalled]:
        words = set(terms(query))
        if not words:
            return []
        scored = []
        for item in self._scan(kind):
            fact = self._fact(item)
            hits = len(words & set(terms(f"{fact.text} {fact.key}")))
            if hits:
                scored.append(Recalled(fact, float(hits)))
        scored.sort(key=lambda r: (-r.score, -r.fact.created_at))
        return scored[:limit]

    def latest(self, kind: str, key: str) -> Fact | None:
        page = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{kind}#{key}"}},
            ScanIndexForward=False,
            Limit=1,
        )
        items = page.get("Items", [])
        return self._fact(items[0]) if items else None

    def recent(self, kind: str, limit: int = 10) -> list[Fact]:
        items = sorted(self._scan(kind), key=lambda item: item["sk"]["S"], reverse=True)
        return [self._fact(item) for item in items[:limit]]


_memories: dict[str, LongTermMemory] = {}
_memories_lock = threading.Lock()


def get_long_term_memory() -> LongTermMemory:
    """The configured memory: SQLite in the runtime database (default) or DynamoDB (``MAOO_STORE=dynamodb``)."""
    settings = get_settings()
    if settings.store == "dynamodb":
        key = f"dynamodb:{settings.memory_table}"
    else:
        key = f"sqlite:{settings.db_path}"
    with _memories_lock:
        if key not in _memories:
            _memories[key] = (
                DynamoDBLongTermMemory()
                if settings.store == "dynamodb"
                else SqliteLongTermMemory(settings.db_path)
            )
        return _memories[key]


def answer(query: RecallQuery, memory: LongTermMemory | None = None) -> Recollection:
    """Long-term memory's answer to what a state asked to recall. Never raises.

    The handler adapter calls this before the layer's step, which takes the answer as an argument.
    A memory that cannot be read is reported in the answer's ``error`` (the layer puts it in the
    trace), with what was read before the failure: memory is advice, never a reason to fail a run.
    """
    found: list[Recalled] = []
    latest: dict[tuple[str, str], Fact | None] = {}
    recent: list[Fact] = []
    read_at = time.time()
    try:
        memory = memory or get_long_term_memory()
        if query.search is not None:
            found = memory.search(query.search, limit=query.search_limit)
        for kind, key in query.latest:
            latest[(kind, key)] = memory.latest(kind, key)
        if query.recent is not None:
            recent = memory.recent(*query.recent)
    except Exception as exc:  # reported in the trace by the layer, not fatal
        error: str | None = f"{type(exc).__name__}: {exc}"
    else:
        error = None
    return Recollection(read_at, tuple(found), latest, tuple(recent), error)


# ---------------------------------------------------------------- what a run teaches


def remember_facts(run_id: str, facts: list[Fact]) -> int:
    """File what a run taught in long-term memory; returns how many facts. Never raises.

    The Finalize state computes the facts (``chalicelib.execution.lessons``); its handler adapter
    files them here, so long-term memory never needs to know how a run was planned."""
    try:
        return get_long_term_memory().remember(facts)
    except Exception as exc:  # memory is advice: losing it must not fail the run it describes
        from chalicelib.observability import get_logger

        get_logger().warning("long-term memory write failed", extra={"run_id": run_id, "error": repr(exc)})
        return 0
