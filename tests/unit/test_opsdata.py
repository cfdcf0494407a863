"""The ops estate: exact numbers other tests and demos rely on, and the SQLite materialisation."""

from __future__ import annotations

import ast
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

from chalicelib import opsdata


def _metric(service: str, window: str) -> dict:
    return next(m for m in opsdata.metrics() if m["service"] == service and m["window"] == window)


def _rate(service: str, window: str = "1h") -> float:
    m = _metric(service, window)
    return m["errors"] / m["requests"]


def test_payments_1h_is_12000_requests_240_errors():
    assert _metric("payments", "1h") == {
        "service": "payments",
        "window": "1h",
        "requests": 12000,
        "errors": 240,
        "p50_ms": 48,
        "p95_ms": 230,
    }
    assert _rate("payments") == 0.02


def test_search_1h_error_rate_is_6_5_percent_and_the_highest():
    assert (_metric("search", "1h")["requests"], _metric("search", "1h")["errors"]) == (8000, 520)
    assert _rate("search") == 0.065
    rates = {name: _rate(name) for name in opsdata.SERVICE_NAMES}
    assert max(rates, key=rates.get) == "search"
    assert rates["checkout"] < 0.01


def test_every_service_has_metrics_for_every_window():
    pairs = {(m["service"], m["window"]) for m in opsdata.metrics()}
    assert pairs == {(s, w) for s in opsdata.SERVICE_NAMES for w in opsdata.WINDOWS}
    assert {"payments", "checkout", "search", "auth", "inventory"} <= set(opsdata.SERVICE_NAMES)


def test_open_incidents_are_two_for_checkout_and_one_for_search():
    open_by_service = [i["service"] for i in opsdata.incidents() if i["status"] == "open"]
    assert open_by_service.count("checkout") == 2
    assert open_by_service.count("search") == 1
    assert any(i["status"] == "resolved" for i in opsdata.incidents())


def test_rows_refer_to_known_services_and_use_documented_values():
    names = set(opsdata.SERVICE_NAMES)
    assert all(
        i["service"] in names and i["severity"] in {"sev1", "sev2", "sev3", "sev4"}
        for i in opsdata.incidents()
    )
    assert all(
        d["service"] in names and d["status"] in {"succeeded", "failed", "rolled_back"}
        for d in opsdata.deployments()
    )
    assert all(s["status"] in {"healthy", "degraded", "down"} for s in opsdata.services())


def test_dataset_functions_return_fresh_copies():
    opsdata.services()[0]["status"] = "down"
    opsdata.incidents().clear()
    opsdata.mock_data()["items"][0]["value"] = -1
    assert opsdata.services()[0]["status"] == "healthy"
    assert len(opsdata.incidents()) >= 3
    assert opsdata.mock_data()["items"][0] == {"id": 1, "name": "alpha", "value": 10}


def test_opsdata_imports_only_the_standard_library_and_the_catalogue():
    from chalicelib import catalogue

    for module in (opsdata, catalogue):
        tree = ast.parse(Path(module.__file__).read_text())
        modules = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        modules |= {
            node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
        }
        allowed = (
            set(sys.stdlib_module_names) | {"__future__"} | ({"chalicelib"} if module is opsdata else set())
        )
        assert {m.split(".")[0] if m != "chalicelib" else m for m in modules} <= allowed


def test_the_ops_data_services_are_the_catalogue_s():
    from chalicelib import catalogue

    assert [s["name"] for s in opsdata.services()] == list(catalogue.SERVICE_NAMES)
    assert {s["name"]: s["owner"] for s in opsdata.services()}["search"] == catalogue.service("search").owner


def _query(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def test_build_ops_db_creates_every_table_from_the_dataset(tmp_path):
    path = opsdata.build_ops_db(tmp_path / "nested" / "ops.sqlite3")
    assert path == tmp_path / "nested" / "ops.sqlite3"
    tables = {row[0] for row in _query(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"meta", "services", "metrics", "incidents", "deployments", "mock_items"} <= tables
    assert _query(
        path, "SELECT requests, errors FROM metrics WHERE service = 'payments' AND window = '1h'"
    ) == [(12000, 240)]
    assert _query(path, "SELECT COUNT(*) FROM incidents WHERE service = 'checkout' AND status = 'open'") == [
        (2,)
    ]
    assert _query(path, "SELECT COUNT(*) FROM mock_items") == [(len(opsdata.mock_data()["items"]),)]
    assert _query(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [(opsdata.SCHEMA_VERSION,)]
    assert [p.name for p in path.parent.iterdir()] == ["ops.sqlite3"]  # no temp file left behind


def test_build_ops_db_leaves_a_current_file_alone(tmp_path):
    path = opsdata.build_ops_db(tmp_path / "ops.sqlite3")
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("INSERT INTO mock_items VALUES (99, 'marker', 0)")
        conn.commit()
    opsdata.build_ops_db(path)
    assert _query(path, "SELECT name FROM mock_items WHERE id = 99") == [("marker",)]


def test_build_ops_db_rebuilds_a_stale_or_foreign_file(tmp_path):
    stale = opsdata.build_ops_db(tmp_path / "stale.sqlite3")
    with closing(sqlite3.connect(stale)) as conn:
        conn.execute("UPDATE meta SET value = 'old' WHERE key = 'schema_version'")
        conn.commit()
    foreign = tmp_path / "foreign.sqlite3"
    foreign.write_text("not a database")
    for path in (stale, foreign):
        opsdata.build_ops_db(path)
        assert _query(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [
            (opsdata.SCHEMA_VERSION,)
        ]


def test_every_row_of_the_estate_comes_from_a_catalogue_entry():
    from chalicelib import catalogue

    for entry in catalogue.SERVICES:
        assert [m["window"] for m in opsdata.metrics() if m["service"] == entry.name] == [
            f.window for f in entry.metrics
        ]
        assert [i["id"] for i in opsdata.incidents() if i["service"] == entry.name] == [
            i.id for i in entry.incidents
        ]
        assert [d["version"] for d in opsdata.deployments() if d["service"] == entry.name] == [
            d.version for d in entry.deployments
        ]
    assert [i["id"] for i in opsdata.incidents()] == sorted(i["id"] for i in opsdata.incidents())
