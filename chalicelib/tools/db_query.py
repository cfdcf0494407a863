"""``db_query``: one read-only SQL statement on the ops database.

Safety comes from SQLite itself, not from reading the SQL text: the file is opened read-only, an
authorizer allows only reads and a short list of functions, and a progress handler bounds the work.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pydantic import Field

from chalicelib.config import get_settings
from chalicelib.tools.base import ToolArgs, ToolContext, ToolFailure, ToolSpec

MAX_ROWS = 500
MAX_VM_STEPS = 2_000_000
_ALLOWED_FUNCTIONS = {
    "count", "sum", "avg", "min", "max", "total", "round", "abs", "lower", "upper", "length",
    "coalesce", "ifnull", "substr", "trim", "date", "datetime", "strftime", "cast", "printf",
    "instr", "replace", "nullif", "like", "glob", "group_concat",
}


class DbQueryArgs(ToolArgs):
    sql: str = Field(min_length=1, max_length=4000, description="One SELECT statement; values as ? placeholders")
    params: list[str | int | float | None] = Field(default_factory=list)
    max_rows: int = Field(default=100, ge=1, le=MAX_ROWS)


def _authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _ALLOWED_FUNCTIONS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _connect() -> sqlite3.Connection:
    from chalicelib import opsdata

    path = opsdata.build_ops_db(get_settings().ops_db_path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.set_authorizer(_authorizer)
    return conn


def run(args: DbQueryArgs, ctx: ToolContext) -> dict:
    conn = _connect()
    steps = {"n": 0}

    def _progress() -> int:
        steps["n"] += 1
        return 1 if steps["n"] * 1000 > MAX_VM_STEPS else 0

    conn.set_progress_handler(_progress, 1000)
    try:
        cursor = conn.execute(args.sql, args.params)
        columns = [col[0] for col in cursor.description or ()]
        fetched = cursor.fetchmany(args.max_rows + 1)
    except sqlite3.Warning as exc:  # "You can only execute one statement at a time."
        raise ToolFailure("policy_denied", f"db_query runs exactly one statement: {exc}", details={"rule": "sql.one_statement"}) from None
    except sqlite3.DatabaseError as exc:
        message = str(exc)
        if "not authorized" in message or "readonly" in message or "interrupted" in message:
            rule = "sql.time_limit" if "interrupted" in message else "sql.read_only"
            raise ToolFailure("policy_denied", f"db_query refused: {message} (only reads of the ops tables are allowed)", details={"rule": rule}) from None
        raise ToolFailure("bad_args", f"db_query failed: {message}", details={"field": "sql"}) from None
    finally:
        conn.close()
    rows: list[dict[str, Any]] = [dict(zip(columns, row)) for row in fetched[: args.max_rows]]
    return {"columns": columns, "rows": rows, "row_count": len(rows), "truncated": len(fetched) > args.max_rows}


SPEC = ToolSpec(
    name="db_query",
    description="Run one read-only SELECT on the ops database (services, metrics, incidents, deployments, mock_items).",
    args_model=DbQueryArgs,
    side_effect="read",
    cost=1.0,
    run=run,
)
