"""The run store: run documents, trace events and large tool outputs.

``RunStore`` is the protocol; ``SqliteRunStore`` is the embedded default. Every Lambda of a run
writes its trace events here, so a run that crashes half-way still leaves its trace.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Protocol

from chalicelib.config import get_settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    stop_reason TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at DESC);
CREATE TABLE IF NOT EXISTS trace_events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS blobs (
    ref TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    data TEXT NOT NULL
);
"""


class RunStore(Protocol):
    def put_run(self, document: dict[str, Any]) -> None: ...
    def get_run(self, run_id: str) -> dict[str, Any] | None: ...
    def list_runs(self, limit: int = 20) -> list[dict[str, Any]]: ...
    def append_event(self, run_id: str, kind: str, state: str, data: dict[str, Any]) -> None: ...
    def events(self, run_id: str) -> list[dict[str, Any]]: ...
    def put_blob(self, run_id: str, value: Any, key: str | None = None) -> str: ...
    def get_blob(self, ref: str) -> Any: ...


class SqliteRunStore:
    """SQLite in WAL mode; one short connection per operation, safe across threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a crash of the process, no fsync per event
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def put_run(self, document: dict[str, Any]) -> None:
        now = time.time()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO runs (run_id, request, status, stop_reason, created_at, updated_at, document)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(run_id) DO UPDATE SET status=excluded.status, stop_reason=excluded.stop_reason,"
                " updated_at=excluded.updated_at, document=excluded.document",
                (
                    document["run_id"],
                    document.get("request", ""),
                    document.get("status", "running"),
                    document.get("stop_reason"),
                    document.get("created_at", now),
                    now,
                    json.dumps(document, default=str),
                ),
            )

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        with self._connect() as conn:
            row = conn.execute("SELECT document FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def list_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT run_id, request, status, stop_reason, created_at FROM runs ORDER BY created_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        keys = ("run_id", "request", "status", "stop_reason", "created_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def append_event(self, run_id: str, kind: str, state: str, data: dict[str, Any]) -> None:
        with self._connect() as conn:
            # one statement: the next seq is chosen under SQLite's write lock, safe across processes
            conn.execute(
                "INSERT INTO trace_events (run_id, seq, ts, kind, state, data)"
                " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM trace_events WHERE run_id = ?",
                (run_id, time.time(), kind, state, json.dumps(data, default=str), run_id),
            )

    def events(self, run_id: str) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT seq, ts, kind, state, data FROM trace_events WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
        return [{"seq": s, "ts": ts, "kind": k, "state": st, "data": json.loads(d)} for s, ts, k, st, d in rows]

    def put_blob(self, run_id: str, value: Any, key: str | None = None) -> str:
        """Store ``value``; with ``key`` (a content digest) the same value gets the same reference."""
        ref = f"blob:{run_id}:{key or uuid.uuid4().hex[:12]}"
        with self._connect() as conn:
            conn.execute("INSERT OR REPLACE INTO blobs (ref, run_id, data) VALUES (?, ?, ?)",
                         (ref, run_id, json.dumps(value, default=str)))
        return ref

    def get_blob(self, ref: str) -> Any:
        with self._connect() as conn:
            row = conn.execute("SELECT data FROM blobs WHERE ref = ?", (ref,)).fetchone()
        if row is None:
            raise KeyError(f"no stored output {ref!r}")
        return json.loads(row[0])


_stores: dict[str, RunStore] = {}
_stores_lock = threading.Lock()


def get_run_store() -> RunStore:
    """The configured run store (``MAOO_STORE``), created once per location.

    SQLite lives under ``MAOO_RUNTIME_DIR`` (tests point it elsewhere); DynamoDB uses the table
    ``MAOO_RUNS_TABLE`` (default ``maoo-runs``).
    """
    settings = get_settings()
    if settings.store == "dynamodb":
        key = "dynamodb:" + settings.runs_table
    else:
        key = str(settings.db_path)
    with _stores_lock:
        if key not in _stores:
            if settings.store == "dynamodb":
                import boto3

                from chalicelib.memory.dynamodb_store import DynamoRunStore

                _stores[key] = DynamoRunStore(key.split(":", 1)[1], boto3.client("dynamodb", region_name=settings.region))
            else:
                _stores[key] = SqliteRunStore(key)
        return _stores[key]
