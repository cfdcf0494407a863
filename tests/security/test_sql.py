"""SQL: ``db_query`` reads the ops tables and nothing else, one bounded statement at a time.

Each hostile statement must come back as a ``policy_denied`` failure naming its rule (or
``bad_args`` when SQLite cannot compile it at all), and the ops database must be byte-for-byte
unchanged with no new file beside it (``ATTACH`` and ``VACUUM INTO`` would create one).
"""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from chalicelib import opsdata
from chalicelib.config import get_settings
from chalicelib.tools import db_query
from tests.security.conftest import assert_denied, call_tool

SQL_CORPUS: list[tuple[str, str]] = [
    ("DELETE FROM services", "sql.read_only"),
    ("UPDATE services SET status = 'down'", "sql.read_only"),
    ("INSERT INTO incidents VALUES ('INC-9', 'auth', 'x', 'sev1', 'open', '2026-01-01')", "sql.read_only"),
    ("REPLACE INTO mock_items VALUES (1, 'x', 1)", "sql.read_only"),
    ("INSERT INTO services SELECT * FROM services", "sql.read_only"),
    ("WITH x AS (SELECT 1) DELETE FROM services", "sql.read_only"),
    ("DROP TABLE services", "sql.read_only"),
    ("CREATE TABLE loot (a)", "sql.read_only"),
    ("CREATE TEMP TABLE loot (a)", "sql.read_only"),
    ("CREATE TEMP VIEW v AS SELECT 1", "sql.read_only"),
    ("CREATE INDEX i ON services (tier)", "sql.read_only"),
    ("CREATE TRIGGER t AFTER INSERT ON services BEGIN DELETE FROM metrics; END", "sql.read_only"),
    ("ALTER TABLE services ADD COLUMN pwned TEXT", "sql.read_only"),
    ("ALTER TABLE services RENAME TO old_services", "sql.read_only"),
    ("BEGIN IMMEDIATE", "sql.read_only"),
    ("COMMIT", "sql.read_only"),
    ("SAVEPOINT s", "sql.read_only"),
    ("ANALYZE", "sql.read_only"),
    ("REINDEX", "sql.read_only"),
    ("ATTACH DATABASE '{dir}/loot.db' AS loot", "sql.attach"),
    ("ATTACH ':memory:' AS m", "sql.attach"),
    ("DETACH main", "sql.attach"),
    ("VACUUM INTO '{dir}/copy.db'", "sql.attach"),
    ("VACUUM", "sql.attach"),
    ("PRAGMA writable_schema = ON", "sql.pragma"),
    ("PRAGMA query_only = OFF", "sql.pragma"),
    ("PRAGMA table_info(services)", "sql.pragma"),
    ("PRAGMA journal_mode = DELETE", "sql.pragma"),
    ("SELECT * FROM pragma_table_info('services')", "sql.read_only"),
    ("SELECT * FROM json_each('[1, 2]')", "sql.read_only"),
    ("SELECT load_extension('/tmp/evil.so')", "sql.function"),
    ("SELECT load_extension('{dir}/evil')", "sql.function"),
    ("SELECT sqlite_version()", "sql.function"),
    ("SELECT randomblob(1000000000)", "sql.function"),
    ("SELECT zeroblob(1000000000)", "sql.function"),
    ("SELECT fts3_tokenizer('simple')", "sql.function"),
    ("SELECT hex(name) FROM services", "sql.function"),
    ("SELECT char(68, 82, 79, 80)", "sql.function"),
    ("SELECT * FROM sqlite_master", "sql.table"),
    ("SELECT * FROM sqlite_schema", "sql.table"),
    ("SELECT * FROM temp.sqlite_master", "sql.table"),
    ("SELECT * FROM meta", "sql.table"),
    ("SELECT name FROM services UNION SELECT sql FROM sqlite_master", "sql.table"),
    ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c", "sql.recursive"),
    ("SELECT 1; DROP TABLE services", "sql.one_statement"),
    ("SELECT * FROM services; DELETE FROM services", "sql.one_statement"),
    ("SELECT 1;; SELECT 2", "sql.one_statement"),
    ("DELETE FROM services; SELECT 1", "sql.read_only"),
    (
        "SELECT count(*) FROM metrics a, metrics b, metrics c, metrics d, metrics e, metrics f",
        "sql.time_limit",
    ),
    ("SELECT group_concat(printf('%.600000c', 'x')) FROM services", "sql.size_limit"),
    ("SELECT readfile('/etc/passwd')", "bad_args"),
    ("SELECT writefile('{dir}/loot.txt', 'x')", "bad_args"),
    ("SELEC * FROM services", "bad_args"),
    ("SELECT * FROM services WHERE", "bad_args"),
    ("'; DROP TABLE services; --", "bad_args"),
]


def _expand(sql: str) -> str:
    return sql.replace("{dir}", str(get_settings().runtime_dir))


def _fingerprint() -> tuple[str, list[str]]:
    path = opsdata.build_ops_db(get_settings().ops_db_path)
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(p.name for p in Path(path).parent.iterdir())


def _rows(table: str) -> list[tuple]:
    with closing(sqlite3.connect(get_settings().ops_db_path)) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def test_corpus_is_large_enough():
    assert len(SQL_CORPUS) >= 30 and len({q for q, _ in SQL_CORPUS}) == len(SQL_CORPUS)


@pytest.mark.parametrize(("sql", "expected"), SQL_CORPUS, ids=[f"{i:02d}" for i in range(len(SQL_CORPUS))])
def test_hostile_statement_is_refused_and_changes_nothing(sql, expected):
    before = _fingerprint()
    services = _rows("services")

    result = call_tool("db_query", {"sql": _expand(sql)})

    if expected == "bad_args":
        assert not result.ok and result.error.kind == "bad_args" and result.error.details == {"field": "sql"}
    else:
        assert_denied(result, expected)
    assert _fingerprint() == before
    assert _rows("services") == services


def test_values_are_bound_never_spliced_into_the_sql():
    before = _fingerprint()

    hostile = call_tool(
        "db_query", {"sql": "SELECT name FROM services WHERE name = ?", "params": ["x' OR '1'='1"]}
    )
    honest = call_tool("db_query", {"sql": "SELECT name FROM services WHERE name = ?", "params": ["auth"]})

    assert hostile.ok and hostile.output["rows"] == []
    assert honest.ok and honest.output["rows"] == [{"name": "auth"}]
    assert _fingerprint() == before


def test_rows_are_capped_and_the_cap_is_reported():
    result = call_tool(
        "db_query", {"sql": "SELECT service, window FROM metrics ORDER BY service, window", "max_rows": 2}
    )

    assert result.ok and result.output["row_count"] == 2 and result.output["truncated"] is True


def test_row_cap_cannot_be_raised_past_the_tool_limit():
    result = call_tool("db_query", {"sql": "SELECT * FROM metrics", "max_rows": db_query.MAX_ROWS + 1})

    assert not result.ok and result.error.kind == "bad_args"
    assert result.error.details["fields"][0]["field"] == "max_rows"


def test_too_many_bound_values_are_refused_by_the_schema():
    result = call_tool("db_query", {"sql": "SELECT 1", "params": list(range(db_query.MAX_PARAMS + 1))})

    assert not result.ok and result.error.kind == "bad_args"


def test_plain_reads_of_the_ops_tables_still_work():
    result = call_tool(
        "db_query",
        {
            "sql": "WITH m AS (SELECT service, errors, requests FROM metrics WHERE window = ?) "
            "SELECT s.name, round(m.errors * 100.0 / m.requests, 2) AS rate FROM services s JOIN m ON m.service = s.name "
            "ORDER BY s.name LIMIT 2",
            "params": ["1h"],
        },
    )

    assert result.ok and result.output["columns"] == ["name", "rate"] and result.output["row_count"] == 2
