"""The run store: run documents, trace events, large tool outputs, and what makes a run durable.

``RunStore`` is the protocol; ``SqliteRunStore`` is the embedded default. The handler adapter
writes each state's checkpoint here together with the trace events that state produced, so a run
that crashes half-way leaves its trace and can be resumed from its last checkpoint. Each run has an
owner (process id + host) with a lease; a ``running`` run whose owner is gone reads ``interrupted``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from chalicelib.config import get_settings
from chalicelib.largevalues import blob_ref
from chalicelib.memory.owners import owner_alive
from chalicelib.memory.records import Checkpoint, Owner, RequestKeyBinding, RunRow, TraceEvent

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
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    next_state TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS run_owners (
    run_id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    lease_until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS request_keys (
    key TEXT PRIMARY KEY,
    body_hash TEXT NOT NULL,
    run_id TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""

Event = tuple[str, str, dict[str, Any]]  # (kind, state, data)


class RunRecords(Protocol):
    """Run documents (``records.RunRecord`` as JSON): a ``running`` run whose owner is gone reads ``interrupted``."""

    def put_run(self, document: dict[str, Any]) -> None: ...
    def get_run(self, run_id: str) -> dict[str, Any] | None: ...
    def list_runs(self, limit: int = 20) -> list[RunRow]: ...


class TraceEvents(Protocol):
    """A run's trace events, numbered from 1 in the order they were written."""

    def append_event(self, run_id: str, kind: str, state: str, data: dict[str, Any]) -> None: ...
    def events(self, run_id: str) -> list[TraceEvent]: ...


class Blobs(Protocol):
    """Tool outputs too large to carry in a run's state, by reference (``chalicelib.largevalues``)."""

    def put_blob(self, run_id: str, value: Any, key: str | None = None) -> str: ...
    def get_blob(self, ref: str) -> Any: ...


class Checkpoints(Protocol):
    """A checkpoint per state, written with the trace events that state produced (``chalicelib.durable``)."""

    def record_transition(
        self,
        run_id: str,
        kind: str,
        state: str,
        next_state: str,
        document: dict[str, Any],
        events: list[Event],
        lease_until: float | None = None,
    ) -> int: ...
    def checkpoints(self, run_id: str) -> list[Checkpoint]: ...


class Ownership(Protocol):
    """Who drives a run (``memory.owners``), and taking a run up atomically to resume or decide it."""

    def claim_owner(self, run_id: str, pid: int, host: str, lease_until: float) -> None: ...
    def take_over(
        self,
        run_id: str,
        status: str,
        owner: Owner | None,
        pid: int,
        host: str,
        lease_until: float,
    ) -> bool: ...
    def renew_lease(self, run_id: str, lease_until: float) -> None: ...
    def get_owner(self, run_id: str) -> Owner | None: ...


class RequestKeys(Protocol):
    """Idempotency keys of requests (``workflow.request_keys``): a key is bound once, to one run."""

    def claim_request_key(self, key: str, body_hash: str, run_id: str) -> RequestKeyBinding | None: ...


class RunStore(RunRecords, TraceEvents, Blobs, Checkpoints, Ownership, RequestKeys, Protocol):
    """The whole run store, as ``get_run_store`` gives it: each backend (``SqliteRunStore``,
    ``dynamodb_store.DynamoRunStore``) implements every small protocol above, and the same tests
    (tests/functional/test_store_protocols.py) run against both. Long-term memory is apart
    (``memory.longterm``)."""


class SqliteRunStore:
    """SQLite in WAL mode with ``synchronous=NORMAL`` and one long-lived connection per process.

    A connection opened and closed per event pays a WAL checkpoint on every close (5-13 ms here);
    one connection kept open, shared by the process's threads under a lock, does not. A committed
    write survives a killed process (not a power cut). Every SQLite error reaches the caller as a
    ``StoreError`` that names the file and ``MAOO_RUNTIME_DIR``.
    """

    def __init__(self, path: str | Path, timeout: float = 30.0):
        self.path = Path(path)
        self.timeout = timeout
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        with self._guard("open"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connection()
            conn.executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        """The process's connection; a forked child opens its own (a connection never crosses a fork)."""
        if self._conn is None or self._pid != os.getpid():
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a crash of the process
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            from chalicelib.errors import StoreError

            raise StoreError(
                f"the run store {self.path} could not {what}: {exc}. Check the disk and the folder MAOO_RUNTIME_DIR "
                f"({self.path.parent}) is writable, then finish the run with `python -m cli resume RUN_ID`"
            ) from None
        except OSError as exc:
            from chalicelib.errors import StoreError

            raise StoreError(
                f"the run store {self.path} could not {what}: {exc}. Check MAOO_RUNTIME_DIR "
                f"({self.path.parent})"
            ) from None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._guard("be read"):
            yield self._connection()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction, taken with the write lock at once (BEGIN IMMEDIATE): it commits whole or not at all."""
        with self._lock, self._guard("be written"):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def make_read_only(self) -> None:
        """For the store-failure drills only: every later write of this process fails as on a read-only file."""
        with self._lock:
            self._connection().execute("PRAGMA query_only=ON")

    def put_run(self, document: dict[str, Any]) -> None:
        now = time.time()
        with self._write() as conn:
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
        with self._read() as conn:
            row = conn.execute("SELECT document, updated_at FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            owner = self._owner(conn, run_id) if row else None
        if row is None:
            return None
        document = json.loads(row[0])
        if document.get("status") == "running" and not owner_alive(owner, row[1]):
            document = {**document, "status": "interrupted"}
        return document

    def list_runs(self, limit: int = 20) -> list[RunRow]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT r.run_id, r.request, r.status, r.stop_reason, r.created_at, r.updated_at, o.pid, o.host, o.lease_until,"
                " json_extract(r.document, '$.forked_from.run_id'), json_extract(r.document, '$.forked_from.step_id')"
                " FROM runs r LEFT JOIN run_owners o ON o.run_id = r.run_id ORDER BY r.created_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        listed: list[RunRow] = []
        for row in rows:
            run_id, request, status, stop_reason, created_at, updated_at, pid, host, lease_until = row[:9]
            owner: Owner | None = (
                {"pid": pid, "host": host, "lease_until": lease_until} if pid is not None else None
            )
            if status == "running" and not owner_alive(owner, updated_at):
                status = "interrupted"
            listed_row: RunRow = {
                "run_id": run_id,
                "request": request,
                "status": status,
                "stop_reason": stop_reason,
                "created_at": created_at,
            }
            if row[9]:
                listed_row["forked_from"] = {"run_id": row[9], "step_id": row[10]}
            listed.append(listed_row)
        return listed

    def append_event(self, run_id: str, kind: str, state: str, data: dict[str, Any]) -> None:
        with self._write() as conn:
            self._insert_events(conn, run_id, [(kind, state, data)])

    @staticmethod
    def _insert_events(conn: sqlite3.Connection, run_id: str, events: list[Event]) -> None:
        if not events:
            return
        now = time.time()
        # the next seq is chosen under SQLite's write lock (the caller's transaction), safe across processes
        (last,) = conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM trace_events WHERE run_id = ?", (run_id,)
        ).fetchone()
        conn.executemany(
            "INSERT INTO trace_events (run_id, seq, ts, kind, state, data) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (run_id, last + offset, now, kind, state, json.dumps(data, default=str))
                for offset, (kind, state, data) in enumerate(events, start=1)
            ],
        )

    def events(self, run_id: str) -> list[TraceEvent]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT seq, ts, kind, state, data FROM trace_events WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
        return [
            {"seq": s, "ts": ts, "kind": k, "state": st, "data": json.loads(d)} for s, ts, k, st, d in rows
        ]

    def put_blob(self, run_id: str, value: Any, key: str | None = None) -> str:
        """Store ``value``; with ``key`` (a content digest) the same value gets the same reference."""
        ref = blob_ref(run_id, key or uuid.uuid4().hex[:12])
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO blobs (ref, run_id, data) VALUES (?, ?, ?)",
                (ref, run_id, json.dumps(value, default=str)),
            )
        return ref

    def get_blob(self, ref: str) -> Any:
        with self._read() as conn:
            row = conn.execute("SELECT data FROM blobs WHERE ref = ?", (ref,)).fetchone()
        if row is None:
            raise KeyError(f"no stored output {ref!r}")
        return json.loads(row[0])

    # ---------------------------------------------------------------- durable runs

    def record_transition(
        self,
        run_id: str,
        kind: str,
        state: str,
        next_state: str,
        document: dict[str, Any],
        events: list[Event],
        lease_until: float | None = None,
    ) -> int:
        """One state's checkpoint and the trace events it produced, in one transaction; returns its seq."""
        with self._write() as conn:
            self._insert_events(conn, run_id, events)
            (seq,) = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM checkpoints WHERE run_id = ?", (run_id,)
            ).fetchone()
            conn.execute(
                "INSERT INTO checkpoints (run_id, seq, ts, kind, state, next_state, document)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, seq, time.time(), kind, state, next_state, json.dumps(document, default=str)),
            )
            if lease_until is not None:
                conn.execute(
                    "UPDATE run_owners SET lease_until = MAX(lease_until, ?) WHERE run_id = ?",
                    (lease_until, run_id),
                )
        return int(seq)

    def checkpoints(self, run_id: str) -> list[Checkpoint]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT seq, ts, kind, state, next_state, document FROM checkpoints"
                " WHERE run_id = ? ORDER BY seq",
                (run_id,),
            ).fetchall()
        return [
            {
                "seq": seq,
                "ts": ts,
                "kind": kind,
                "state": state,
                "next_state": nxt,
                "document": json.loads(doc),
            }
            for seq, ts, kind, state, nxt, doc in rows
        ]

    def claim_owner(self, run_id: str, pid: int, host: str, lease_until: float) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO run_owners (run_id, pid, host, lease_until) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(run_id) DO UPDATE SET pid=excluded.pid, host=excluded.host,"
                " lease_until=excluded.lease_until",
                (run_id, pid, host, lease_until),
            )

    def take_over(
        self,
        run_id: str,
        status: str,
        owner: Owner | None,
        pid: int,
        host: str,
        lease_until: float,
    ) -> bool:
        """Make this process the run's owner, its status ``running``, if the run is still as the
        caller saw it: stored ``status``, and for ``running`` the same (gone) ``owner``. Atomic: of
        two processes that approve or resume the run at once, one takes it and the other gets False."""
        with self._write() as conn:
            row = conn.execute("SELECT status, document FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None or row[0] != status:
                return False
            if status == "running" and self._owner(conn, run_id) != owner:
                return False
            document = {**json.loads(row[1]), "status": "running"}
            conn.execute(
                "UPDATE runs SET status = 'running', updated_at = ?, document = ? WHERE run_id = ?",
                (time.time(), json.dumps(document, default=str), run_id),
            )
            conn.execute(
                "INSERT INTO run_owners (run_id, pid, host, lease_until) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(run_id) DO UPDATE SET pid=excluded.pid, host=excluded.host,"
                " lease_until=excluded.lease_until",
                (run_id, pid, host, lease_until),
            )
        return True

    def renew_lease(self, run_id: str, lease_until: float) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE run_owners SET lease_until = MAX(lease_until, ?) WHERE run_id = ?",
                (lease_until, run_id),
            )

    @staticmethod
    def _owner(conn: sqlite3.Connection, run_id: str) -> Owner | None:
        row = conn.execute(
            "SELECT pid, host, lease_until FROM run_owners WHERE run_id = ?", (run_id,)
        ).fetchone()
        return {"pid": row[0], "host": row[1], "lease_until": row[2]} if row else None

    def get_owner(self, run_id: str) -> Owner | None:
        with self._read() as conn:
            return self._owner(conn, run_id)

    def claim_request_key(self, key: str, body_hash: str, run_id: str) -> RequestKeyBinding | None:
        """Bind ``key`` to ``run_id`` unless it is bound already; then return that earlier binding."""
        with self._write() as conn:
            row = conn.execute("SELECT body_hash, run_id FROM request_keys WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return {"body_hash": row[0], "run_id": row[1]}
            conn.execute(
                "INSERT INTO request_keys (key, body_hash, run_id, created_at) VALUES (?, ?, ?, ?)",
                (key, body_hash, run_id, time.time()),
            )
        return None


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

                _stores[key] = DynamoRunStore(
                    key.split(":", 1)[1], boto3.client("dynamodb", region_name=settings.region)
                )
            else:
                _stores[key] = SqliteRunStore(key, timeout=settings.store_timeout_seconds)
        return _stores[key]
