"""The operations estate MAOO works on: a small, fixed, deterministic dataset.

The same numbers back the mock HTTP API and the SQLite database the query tools read, so a run
gives the same answer whichever path it takes, and tests can assert exact values (for example
``payments`` over ``1h``: 12000 requests, 240 errors, 2.0 %; ``search``: 8000, 520, 6.5 %).

Standard library only: this module is loaded inside AWS Lambda. The dataset is exposed through
functions that return fresh copies, so no caller can mutate what another caller sees.
"""

from __future__ import annotations

import copy
import os
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

from chalicelib import catalogue

# Bump whenever the tables or the rows below change, so existing database files are rebuilt.
SCHEMA_VERSION = "1"

# The instant the estate describes; objects the mock API creates are stamped from here on.
AS_OF = "2025-06-02T12:00:00Z"

WINDOWS = catalogue.WINDOW_NAMES

_SERVICES = tuple(  # built from the domain catalogue: a service is added there
    {"name": s.name, "tier": s.tier, "owner": s.owner, "status": s.status, "region": s.region}
    for s in catalogue.SERVICES
)

SERVICE_NAMES = tuple(str(service["name"]) for service in _SERVICES)

# (service, window): (requests, errors, p50_ms, p95_ms). Error rates over 1h are far apart on
# purpose: search 6.5 %, payments 2.0 %, checkout 0.75 %, inventory 0.6 %, auth 0.3 %.
_METRICS = {
    ("payments", "5m"): (1000, 21, 45, 210),
    ("payments", "1h"): (12000, 240, 48, 230),
    ("payments", "24h"): (288000, 4896, 47, 220),
    ("checkout", "5m"): (800, 6, 120, 1150),
    ("checkout", "1h"): (9600, 72, 115, 1200),
    ("checkout", "24h"): (230400, 1382, 110, 980),
    ("search", "5m"): (700, 49, 80, 640),
    ("search", "1h"): (8000, 520, 85, 700),
    ("search", "24h"): (192000, 7680, 78, 520),
    ("auth", "5m"): (2000, 4, 12, 40),
    ("auth", "1h"): (24000, 72, 12, 42),
    ("auth", "24h"): (576000, 1152, 11, 39),
    ("inventory", "5m"): (400, 2, 30, 95),
    ("inventory", "1h"): (4800, 29, 31, 99),
    ("inventory", "24h"): (115200, 576, 30, 97),
}

_INCIDENTS = (
    {
        "id": "INC-1001",
        "service": "checkout",
        "title": "Checkout latency above SLO (p95 > 1s)",
        "severity": "sev2",
        "status": "open",
        "opened_at": "2025-06-02T10:05:00Z",
    },
    {
        "id": "INC-1002",
        "service": "checkout",
        "title": "Intermittent 502s from the cart backend",
        "severity": "sev3",
        "status": "open",
        "opened_at": "2025-06-02T11:20:00Z",
    },
    {
        "id": "INC-1003",
        "service": "search",
        "title": "Elevated search error rate after index rebuild",
        "severity": "sev2",
        "status": "open",
        "opened_at": "2025-06-02T11:42:00Z",
    },
    {
        "id": "INC-1004",
        "service": "payments",
        "title": "Card processor timeouts",
        "severity": "sev1",
        "status": "resolved",
        "opened_at": "2025-05-28T14:10:00Z",
    },
    {
        "id": "INC-1005",
        "service": "auth",
        "title": "Token refresh failures for mobile clients",
        "severity": "sev3",
        "status": "resolved",
        "opened_at": "2025-05-30T08:30:00Z",
    },
    {
        "id": "INC-1006",
        "service": "inventory",
        "title": "Stock sync lag",
        "severity": "sev4",
        "status": "resolved",
        "opened_at": "2025-05-31T16:00:00Z",
    },
)

_DEPLOYMENTS = (
    {
        "id": "DEP-2001",
        "service": "payments",
        "version": "3.14.0",
        "deployed_at": "2025-06-01T09:00:00Z",
        "status": "succeeded",
    },
    {
        "id": "DEP-2002",
        "service": "checkout",
        "version": "2.8.1",
        "deployed_at": "2025-06-02T09:45:00Z",
        "status": "succeeded",
    },
    {
        "id": "DEP-2003",
        "service": "search",
        "version": "5.2.0",
        "deployed_at": "2025-06-02T11:30:00Z",
        "status": "succeeded",
    },
    {
        "id": "DEP-2004",
        "service": "auth",
        "version": "1.9.3",
        "deployed_at": "2025-05-31T13:15:00Z",
        "status": "rolled_back",
    },
    {
        "id": "DEP-2005",
        "service": "inventory",
        "version": "4.0.2",
        "deployed_at": "2025-06-01T17:20:00Z",
        "status": "failed",
    },
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
    return [
        {
            "service": service,
            "window": window,
            "requests": requests,
            "errors": errors,
            "p50_ms": p50,
            "p95_ms": p95,
        }
        for (service, window), (requests, errors, p50, p95) in _METRICS.items()
    ]


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


def _insert(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    conn.executemany(sql, [tuple(row[c] for c in columns) for row in rows])


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
