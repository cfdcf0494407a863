"""``db_query``: one read-only SQL statement on the ops database.

Safety comes from SQLite itself, never from reading the SQL text. Layer by layer:

- the file is opened read-only (``mode=ro`` URI) and ``PRAGMA query_only`` is set, so no
  statement can change it, whatever the other layers let through;
- an authorizer, consulted by SQLite while it compiles the statement, allows only ``SELECT``,
  reads of the ops tables (``OPS_TABLES``) and the functions on ``ALLOWED_FUNCTIONS``; it denies
  writes, DDL, transactions, ``ATTACH``/``DETACH`` (hence ``VACUUM INTO``), ``PRAGMA``,
  recursive CTEs, table-valued functions, ``load_extension`` and every other function;
- Python's ``sqlite3`` compiles exactly one statement per call and refuses a second one before
  running anything; a statement that returns no columns is reported as refused too;
- values go in as bound ``?`` parameters, never into the SQL text;
- ``sqlite3`` limits cap attached databases (0), value length, expression depth, compound
  selects, LIKE patterns and bound variables; the length limit means one function call
  (``printf('%.*c', 999999999, x)``) cannot build a gigabyte string;
- a progress handler stops a statement after ``MAX_VM_STEPS`` virtual-machine steps or
  ``MAX_SECONDS`` of wall time, but it runs only between VM steps, so the statement runs on a
  worker thread and the call itself ends at ``MAX_SECONDS`` (``_Statement``) whatever one step
  is doing; at most ``max_rows`` rows are fetched.

Every refusal is a ``policy_denied`` failure whose ``details["rule"]`` names the layer:
``sql.read_only``, ``sql.attach``, ``sql.pragma``, ``sql.function``, ``sql.table``,
``sql.recursive``, ``sql.one_statement``, ``sql.select_only``, ``sql.time_limit`` or
``sql.size_limit``. SQL that SQLite cannot compile is ``bad_args``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

from pydantic import Field

from chalicelib.config import get_settings
from chalicelib.tools.base import LambdaSettings, ToolArgs, ToolContext, ToolFailure, ToolSpec

MAX_ROWS = 500
MAX_PARAMS = 100
MAX_VM_STEPS = 2_000_000
MAX_SECONDS = 5.0
MAX_VALUE_BYTES = 1_000_000
_PROGRESS_EVERY = 1000
OPS_TABLES = frozenset({"services", "metrics", "incidents", "deployments", "mock_items"})
ALLOWED_FUNCTIONS = frozenset(
    {
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "total",
        "round",
        "abs",
        "lower",
        "upper",
        "length",
        "coalesce",
        "ifnull",
        "substr",
        "trim",
        "date",
        "datetime",
        "strftime",
        "printf",
        "instr",
        "replace",
        "nullif",
        "like",
        "glob",
        "group_concat",
    }
)
_LIMITS = {
    "SQLITE_LIMIT_ATTACHED": 0,
    "SQLITE_LIMIT_LENGTH": MAX_VALUE_BYTES,
    "SQLITE_LIMIT_SQL_LENGTH": 8000,
    "SQLITE_LIMIT_EXPR_DEPTH": 100,
    "SQLITE_LIMIT_COMPOUND_SELECT": 20,
    "SQLITE_LIMIT_LIKE_PATTERN_LENGTH": 200,
    "SQLITE_LIMIT_VARIABLE_NUMBER": MAX_PARAMS,
    "SQLITE_LIMIT_TRIGGER_DEPTH": 0,
}
_RULE_BY_ACTION = {
    "SQLITE_ATTACH": "sql.attach",
    "SQLITE_DETACH": "sql.attach",
    "SQLITE_PRAGMA": "sql.pragma",
    "SQLITE_FUNCTION": "sql.function",
    "SQLITE_READ": "sql.table",
    "SQLITE_RECURSIVE": "sql.recursive",
}
_ACTION_NAMES = {
    getattr(sqlite3, name): name
    for name in (
        "SQLITE_CREATE_INDEX",
        "SQLITE_CREATE_TABLE",
        "SQLITE_CREATE_TEMP_INDEX",
        "SQLITE_CREATE_TEMP_TABLE",
        "SQLITE_CREATE_TEMP_TRIGGER",
        "SQLITE_CREATE_TEMP_VIEW",
        "SQLITE_CREATE_TRIGGER",
        "SQLITE_CREATE_VIEW",
        "SQLITE_DELETE",
        "SQLITE_DROP_INDEX",
        "SQLITE_DROP_TABLE",
        "SQLITE_DROP_TEMP_INDEX",
        "SQLITE_DROP_TEMP_TABLE",
        "SQLITE_DROP_TEMP_TRIGGER",
        "SQLITE_DROP_TEMP_VIEW",
        "SQLITE_DROP_TRIGGER",
        "SQLITE_DROP_VIEW",
        "SQLITE_INSERT",
        "SQLITE_PRAGMA",
        "SQLITE_READ",
        "SQLITE_SELECT",
        "SQLITE_TRANSACTION",
        "SQLITE_UPDATE",
        "SQLITE_ATTACH",
        "SQLITE_DETACH",
        "SQLITE_ALTER_TABLE",
        "SQLITE_REINDEX",
        "SQLITE_ANALYZE",
        "SQLITE_CREATE_VTABLE",
        "SQLITE_DROP_VTABLE",
        "SQLITE_FUNCTION",
        "SQLITE_SAVEPOINT",
        "SQLITE_RECURSIVE",
    )
    if hasattr(sqlite3, name)
}


class DbQueryArgs(ToolArgs):
    sql: str = Field(
        min_length=1, max_length=4000, description="One SELECT statement; values as ? placeholders"
    )
    params: list[str | int | float | None] = Field(default_factory=list, max_length=MAX_PARAMS)
    max_rows: int = Field(default=100, ge=1, le=MAX_ROWS)


class _Guard:
    """The authorizer and progress handler of one call; remembers the first thing it refused."""

    def __init__(self) -> None:
        self.denied: tuple[str, str] | None = None
        self.selected = False
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        self.stopped = False

    def authorize(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None
    ) -> int:
        name = _ACTION_NAMES.get(action, str(action))
        if action == sqlite3.SQLITE_SELECT:
            self.selected = True
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ and (arg1 or "").lower() in OPS_TABLES and db in ("main", None):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in ALLOWED_FUNCTIONS:
            return sqlite3.SQLITE_OK
        if self.denied is None:
            what = {
                "SQLITE_FUNCTION": f"function {arg2}()",
                "SQLITE_READ": f"table {arg1}",
                "SQLITE_PRAGMA": f"PRAGMA {arg1}",
                "SQLITE_ATTACH": "ATTACH",
            }.get(name, name.removeprefix("SQLITE_"))
            self.denied = (_RULE_BY_ACTION.get(name, "sql.read_only"), what)
        return sqlite3.SQLITE_DENY

    def progress(self) -> int:
        self.steps += _PROGRESS_EVERY
        if self.steps > MAX_VM_STEPS or time.monotonic() > self.deadline:
            self.stopped = True
            return 1
        return 0


def _deny(rule: str, message: str) -> ToolFailure:
    return ToolFailure("policy_denied", message, details={"rule": rule})


def _connect(guard: _Guard) -> sqlite3.Connection:
    from chalicelib import opsdata

    path = opsdata.build_ops_db(get_settings().ops_db_path)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA query_only = ON")
    for name, value in _LIMITS.items():
        conn.setlimit(getattr(sqlite3, name), value)
    conn.set_authorizer(guard.authorize)
    conn.set_progress_handler(guard.progress, _PROGRESS_EVERY)
    return conn


class _Statement:
    """One statement run on a worker thread, so the call returns at ``MAX_SECONDS`` whatever it does.

    SQLite checks an interrupt (and calls the progress handler) only between virtual-machine
    steps; one function call such as ``printf('%.*c', 999999999, x)`` runs for seconds inside a
    single step, even though the length limit makes its result NULL. So the caller waits at most
    ``MAX_SECONDS``, then interrupts the connection and reports ``sql.time_limit`` at once; the
    worker stops at the next step and closes the connection itself.
    """

    def __init__(self, conn: sqlite3.Connection, guard: _Guard, args: DbQueryArgs) -> None:
        self._conn, self._guard, self._args = conn, guard, args
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._abandoned = False
        self._result: tuple[list[str], list[Any]] | None = None
        self._error: BaseException | None = None

    def _work(self) -> None:
        try:
            cursor = self._conn.execute(self._args.sql, self._args.params)
            if cursor.description is None or not self._guard.selected:
                raise _deny(
                    "sql.select_only", "db_query runs SELECT statements only; this statement returns no rows"
                )
            columns = [col[0] for col in cursor.description]
            self._result = (columns, cursor.fetchmany(self._args.max_rows + 1))
        except BaseException as exc:  # handed to the caller, who raises it
            self._error = exc
        finally:
            with self._lock:
                self._done.set()
                if self._abandoned:
                    self._conn.close()

    @property
    def finished(self) -> bool:
        return self._done.is_set() and not self._abandoned

    def run(self) -> tuple[list[str], list[Any]]:
        threading.Thread(target=self._work, name="db_query", daemon=True).start()
        finished = self._done.wait(MAX_SECONDS)
        with self._lock:
            if not finished and not self._done.is_set():
                self._abandoned = True
                self._guard.stopped = True
                self._conn.interrupt()
                raise _refusal(self._guard, sqlite3.OperationalError("interrupted"))
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def _refusal(guard: _Guard, exc: Exception) -> ToolFailure:
    message = str(exc)
    if guard.stopped or "interrupted" in message:
        return _deny(
            "sql.time_limit",
            f"db_query stopped the statement: it ran past {MAX_VM_STEPS} steps or {MAX_SECONDS:g} s",
        )
    if guard.denied is not None:
        rule, what = guard.denied
        return _deny(
            rule,
            f"db_query refused {what}: only SELECTs reading {', '.join(sorted(OPS_TABLES))} with the functions "
            f"{', '.join(sorted(ALLOWED_FUNCTIONS))} are allowed",
        )
    if "one statement" in message:
        return _deny("sql.one_statement", f"db_query runs exactly one statement: {message}")
    if "too big" in message or "too many" in message or "too large" in message:
        return _deny("sql.size_limit", f"db_query refused the statement: {message}")
    if (
        "not authorized" in message
        or "readonly" in message
        or "read-only" in message
        or "query_only" in message
    ):
        return _deny(
            "sql.read_only", f"db_query refused: {message} (only reads of the ops tables are allowed)"
        )
    return ToolFailure("bad_args", f"db_query failed: {message}", details={"field": "sql"})


def run(args: DbQueryArgs, ctx: ToolContext) -> dict[str, Any]:
    guard = _Guard()
    conn = _connect(guard)
    statement = _Statement(conn, guard, args)
    try:
        columns, fetched = statement.run()
    except (sqlite3.Error, sqlite3.Warning) as exc:
        conn.close()
        raise _refusal(guard, exc) from None
    except ToolFailure:
        if statement.finished:
            conn.close()
        raise
    conn.close()
    rows: list[dict[str, Any]] = [dict(zip(columns, row, strict=True)) for row in fetched[: args.max_rows]]
    return {
        "columns": columns,
        "rows": rows,
        "row_count": len(rows),
        "truncated": len(fetched) > args.max_rows,
    }


SPEC = ToolSpec(
    name="db_query",
    description="Run one read-only SELECT on the ops database (services, metrics, incidents, deployments, mock_items).",
    args_model=DbQueryArgs,
    side_effect="read",
    cost=1.0,
    run=run,
    lambda_settings=LambdaSettings(timeout=10, memory_mb=256),
)
