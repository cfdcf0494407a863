"""The operations estate MAOO works on: a small, fixed, deterministic dataset.

The same numbers back the mock HTTP API and the SQLite database the query tools read, so a run
gives the same answer whichever path it takes, and tests can assert exact values (for example
``payments`` over ``1h``: 12000 requests, 240 errors, 2.0 %; ``search``: 8000, 520, 6.5 %).

Standard library only: this module is loaded inside AWS Lambda. The dataset is exposed through
functions that return fresh copies, so no caller can mutate what another caller sees.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

from chalicelib import catalogue

# The instant the estate describes; objects the mock API creates are stamped from here on.
AS_OF = "2025-06-02T12:00:00Z"

WINDOWS = catalogue.WINDOW_NAMES

# Every row below is built from the domain catalogue: a service, its figures, incidents and
# deployments are one entry there (``catalogue.SERVICES``), never written here.
_SERVICES = tuple(
    {"name": s.name, "tier": s.tier, "owner": s.owner, "status": s.status, "region": s.region}
    for s in catalogue.SERVICES
)

SERVICE_NAMES = tuple(str(service["name"]) for service in _SERVICES)

_METRICS = tuple(
    {
        "service": s.name,
        "window": f.window,
        "requests": f.requests,
        "errors": f.errors,
        "p50_ms": f.p50_ms,
        "p95_ms": f.p95_ms,
    }
    for s in catalogue.SERVICES
    for f in s.metrics
)

_INCIDENTS = tuple(  # by id: the order the estate has always listed them in
    sorted(
        (
            {
                "id": i.id,
                "service": s.name,
                "title": i.title,
                "severity": i.severity,
                "status": i.status,
                "opened_at": i.opened_at,
            }
            for s in catalogue.SERVICES
            for i in s.incidents
        ),
        key=lambda row: row["id"],
    )
)

_DEPLOYMENTS = tuple(
    sorted(
        (
            {
                "id": d.id,
                "service": s.name,
                "version": d.version,
                "deployed_at": d.deployed_at,
                "status": d.status,
            }
            for s in catalogue.SERVICES
            for d in s.deployments
        ),
        key=lambda row: row["id"],
    )
)

_MOCK_DATA = {
    "dataset": "mock",
    "items": [
        {"id": 1, "name": "alpha", "value": 10},
        {"id": 2, "name": "beta", "value": 20},
        {"id": 3, "name": "gamma", "value": 30},
        {"id": 4, "name": "delta", "value": 40},
    ],
    "generated_at": AS_OF,
}


def services() -> list[dict[str, Any]]:
    """Every service: name, tier, owner, status (healthy/degraded/down), region."""
    return copy.deepcopy(list(_SERVICES))


def metrics() -> list[dict[str, Any]]:
    """One row per service and window: requests, errors, p50_ms, p95_ms."""
    return copy.deepcopy(list(_METRICS))


def incidents() -> list[dict[str, Any]]:
    """Incidents known at ``AS_OF``, open and resolved."""
    return copy.deepcopy(list(_INCIDENTS))


def deployments() -> list[dict[str, Any]]:
    """Recent deployments, succeeded, failed or rolled back."""
    return copy.deepcopy(list(_DEPLOYMENTS))


def mock_data() -> dict[str, Any]:
    """The payload behind the seed request "Fetch mock data"."""
    return copy.deepcopy(_MOCK_DATA)


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE services (name TEXT PRIMARY KEY, tier INTEGER NOT NULL, owner TEXT NOT NULL,
                       status TEXT NOT NULL, region TEXT NOT NULL);
CREATE TABLE metrics (service TEXT NOT NULL REFERENCES services(name), window TEXT NOT NULL,
                      requests INTEGER NOT NULL, errors INTEGER NOT NULL,
                      p50_ms INTEGER NOT NULL, p95_ms INTEGER NOT NULL,
                      PRIMARY KEY (service, window));
CREATE TABLE incidents (id TEXT PRIMARY KEY, service TEXT NOT NULL REFERENCES services(name),
                        title TEXT NOT NULL, severity TEXT NOT NULL, status TEXT NOT NULL,
                        opened_at TEXT NOT NULL);
CREATE TABLE deployments (id TEXT PRIMARY KEY, service TEXT NOT NULL REFERENCES services(name),
                          version TEXT NOT NULL, deployed_at TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE mock_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value INTEGER NOT NULL);
"""


def _digest() -> str:
    """What the database holds, in short: a database built from other rows (a service added to the
    catalogue, a figure changed) carries another version and is rebuilt, with nothing to bump by hand."""
    rows = [services(), metrics(), incidents(), deployments(), mock_data()["items"], AS_OF, _SCHEMA]
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]


def _insert(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    conn.executemany(sql, [tuple(row[c] for c in columns) for row in rows])


# The tables' shape and rows: existing database files built from anything else are rebuilt.
SCHEMA_VERSION = "2-" + _digest()


def _is_current(path: Path) -> bool:
    """True when ``path`` is an ops database built from this ``SCHEMA_VERSION``."""
    if not path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == SCHEMA_VERSION


def build_ops_db(path: str | os.PathLike[str]) -> Path:
    """Materialise the estate as SQLite at ``path`` and return it.

    Idempotent: a file already carrying this ``SCHEMA_VERSION`` is left alone. Otherwise the
    database is written to a temporary file beside ``path`` and moved into place with
    ``os.replace``, so a concurrent reader sees either the old file or the complete new one.
    """
    target = Path(path)
    if _is_current(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with closing(sqlite3.connect(tmp_name)) as conn:
            conn.executescript(_SCHEMA)
            _insert(
                conn,
                "meta",
                [{"key": "schema_version", "value": SCHEMA_VERSION}, {"key": "as_of", "value": AS_OF}],
            )
            _insert(conn, "services", services())
            _insert(conn, "metrics", metrics())
            _insert(conn, "incidents", incidents())
            _insert(conn, "deployments", deployments())
            _insert(conn, "mock_items", mock_data()["items"])
            conn.commit()
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target
