"""The compiler from a question over the estate's tables (``ReadParams``) to read-only SQL.

One function, one construct at a time: the table (joined to the service it belongs to, so a filter
on tier, owner or region works on every table), the filters as ``?`` parameters (never spliced into
the text), the aggregate, the grouping, then the unit and the rounding. The SQL reads only the ops
tables, and ``db_query`` runs it read-only under its authorizer.

The result's shape is fixed, so an answer, a condition and a later step can rely on it: a single
figure is ``rows[0].value``; a ranking's rows carry the row's key and ``value``; a grouping's rows
carry ``group`` and ``value``; a list carries the table's columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.contracts import ReadParams
from chalicelib.errors import MaooError

_SERVICE_COLUMNS = {"tier": "s.tier", "owner": "s.owner", "region": "s.region"}
_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "services": (
        "services s",
        {"name": "s.name", "tier": "s.tier", "owner": "s.owner", "status": "s.status", "region": "s.region"},
    ),
    "metrics": (
        "metrics m JOIN services s ON s.name = m.service",
        {
            "service": "m.service",
            "window": "m.window",
            "requests": "m.requests",
            "errors": "m.errors",
            "p50_ms": "m.p50_ms",
            "p95_ms": "m.p95_ms",
            "error_rate": "ROUND(100.0 * m.errors / m.requests, 4)",
            "status": "s.status",
            **_SERVICE_COLUMNS,
        },
    ),
    "incidents": (
        "incidents i JOIN services s ON s.name = i.service",
        {
            "id": "i.id",
            "service": "i.service",
            "title": "i.title",
            "severity": "i.severity",
            "status": "i.status",
            "opened_at": "i.opened_at",
            **_SERVICE_COLUMNS,
        },
    ),
    "deployments": (
        "deployments d JOIN services s ON s.name = d.service",
        {
            "id": "d.id",
            "service": "d.service",
            "version": "d.version",
            "deployed_at": "d.deployed_at",
            "status": "d.status",
            **_SERVICE_COLUMNS,
        },
    ),
    "mock_data": ("mock_items x", {"id": "x.id", "name": "x.name", "value": "x.value"}),
}
_BASE_COLUMNS = {
    "services": ("name", "tier", "owner", "status", "region"),
    "metrics": ("service", "window", "requests", "errors", "p50_ms", "p95_ms", "error_rate"),
    "incidents": ("id", "service", "title", "severity", "status", "opened_at"),
    "deployments": ("id", "service", "version", "deployed_at", "status"),
    "mock_data": ("id", "name", "value"),
}
KEY = {"services": "name", "metrics": "service", "incidents": "id", "deployments": "id", "mock_data": "name"}
_TIME = {"incidents": "opened_at", "deployments": "deployed_at"}
_FACTOR = {
    ("ms", "s"): "/ 1000.0",
    ("ms", "min"): "/ 60000.0",
    ("ms", "h"): "/ 3600000.0",
    ("count", "thousands"): "/ 1000.0",
    ("count", "millions"): "/ 1000000.0",
    ("%", "fraction"): "/ 100.0",
}
_UNIT_OF = {"p50_ms": "ms", "p95_ms": "ms", "error_rate": "%", "requests": "count", "errors": "count"}
_OPS = {"=": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


class QueryCompileError(MaooError):
    """The question names a column its table does not have, or a unit its values cannot take."""


@dataclass(frozen=True)
class Compiled:
    sql: str
    params: list[Any]
    single: bool  # one row holds the answer: rows[0].value (or rows[0] for a record)


def _col(table: str, name: str) -> str:
    columns = _TABLES[table][1]
    if name not in columns:
        raise QueryCompileError(f"{table} have no column {name!r}; they have {', '.join(columns)}")
    return columns[name]


def _where(p: ReadParams, table: str) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    values: list[Any] = []
    flat = {
        "service": p.service,
        "status": p.status,
        "severity": p.severity,
        "tier": p.tier,
        "region": p.region,
        "owner": p.owner,
    }
    for name, value in flat.items():
        if value is not None:
            column = "name" if (table == "services" and name == "service") else name
            clauses.append(f"{_col(table, column)} = ?")
            values.append(value)
    if p.window is not None and table == "metrics":
        clauses.append("m.window = ?")
        values.append(p.window)
    for f in p.filters:
        column = _col(table, f.field)
        if f.op in ("in", "not in"):
            items = list(f.value) if isinstance(f.value, (list, tuple)) else [f.value]
            marks = ", ".join("?" for _ in items)
            clauses.append(f"{column} {'NOT IN' if f.op == 'not in' else 'IN'} ({marks})")
            values.extend(items)
        else:
            clauses.append(f"{column} {_OPS[f.op]} ?")
            values.append(f.value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), values


def _measure(p: ReadParams, table: str, expression: str, field: str | None) -> str:
    """``expression`` in the unit asked, rounded as asked."""
    if p.unit is not None:
        base = "count" if field is None else _UNIT_OF.get(field)
        if base != p.unit and p.unit != "%":
            factor = _FACTOR.get((base or "", p.unit))
            if factor is None:
                raise QueryCompileError(f"{field or 'a count'} cannot be given in {p.unit}")
            expression = f"({expression}) {factor}"
    if p.round_to is not None:
        expression = f"ROUND({expression}, {int(p.round_to)})"
    return expression


def _single_row_filter(p: ReadParams, table: str) -> bool:
    key = {
        "services": "name",
        "metrics": "service",
        "incidents": "id",
        "deployments": "id",
        "mock_data": "name",
    }.get(table)
    said = {f.field for f in p.filters if f.op == "="}
    return key in said or (table in ("services", "metrics") and p.service is not None)


def is_estate_question(p: ReadParams) -> bool:
    """A read the request language's compiler answers: anything beyond the catalogue's plain reads."""
    plain_count = (
        p.aggregate == "count"
        and not p.filters
        and not p.group_by
        and p.resource in ("incidents", "deployments", "services")
    )
    if p.resource not in _TABLES:
        return False
    said = p.filters or p.group_by or p.unit or p.round_to is not None or p.field
    return bool((p.aggregate is not None and not plain_count) or said)


def compile_query(p: ReadParams) -> Compiled:
    """The SQL answering ``p``, its parameters, and whether one row holds the answer."""
    table = str(p.resource)
    if table not in _TABLES:
        raise QueryCompileError(f"no table {table!r}; tables: {', '.join(_TABLES)}")
    source = _TABLES[table][0]
    where, values = _where(p, table)
    key = _col(table, KEY[table])
    aggregate = p.aggregate or "list"
    field = p.field
    if p.group_by:
        group = _col(table, p.group_by)
        inner_value = _aggregate_expr(aggregate, table, field)
        grouped = (
            f'SELECT {group} AS "group", {_measure(p, table, inner_value, field)} AS value '
            f"FROM {source}{where} GROUP BY {group}"
        )
        if aggregate in ("argmax", "argmin"):
            best = "MAX" if aggregate == "argmax" else "MIN"
            sql = f'SELECT * FROM ({grouped}) WHERE value = (SELECT {best}(value) FROM ({grouped})) ORDER BY "group"'
            return Compiled(sql, values + values, single=False)
        return Compiled(grouped + ' ORDER BY "group"', values, single=False)
    if aggregate in ("count", "sum", "avg"):
        value = _measure(
            p, table, _aggregate_expr(aggregate, table, field), field if aggregate != "count" else None
        )
        counted = (
            ", COUNT(*) AS count" if aggregate == "count" else ""
        )  # as the catalogue's count route names it
        return Compiled(f"SELECT {value} AS value{counted} FROM {source}{where}", values, single=True)
    if aggregate in ("argmax", "argmin", "max", "min"):
        if field is None:
            raise QueryCompileError("the highest or lowest of what?")
        column = _col(table, field)
        best = "MAX" if aggregate in ("argmax", "max") else "MIN"
        extra = " AND " if where else " WHERE "
        sql = (
            f"SELECT {_keyed(p, table, field)} FROM {source}{where}"
            f"{extra}{column} = (SELECT {best}({column}) FROM {source}{where}) ORDER BY {key}"
        )
        return Compiled(sql, values + values, single=True)
    if aggregate in ("latest", "earliest"):
        time = _col(table, _TIME[table])
        order = "DESC" if aggregate == "latest" else "ASC"
        columns = ", ".join(f"{_col(table, c)} AS {c}" for c in _BASE_COLUMNS[table])
        if field is not None:
            columns = _keyed(p, table, field)
        return Compiled(
            f"SELECT {columns} FROM {source}{where} ORDER BY {time} {order} LIMIT 1", values, True
        )
    single = _single_row_filter(p, table) or aggregate == "one"
    if field is not None:
        columns = _keyed(p, table, field)
    else:
        columns = ", ".join(f"{_col(table, c)} AS {c}" for c in _BASE_COLUMNS[table])
    return Compiled(f"SELECT {columns} FROM {source}{where} ORDER BY {key}", values, single)


def _keyed(p: ReadParams, table: str, field: str) -> str:
    """The row's key, the column asked as it is stored, and ``value``: the column in the unit asked."""
    key, column = _col(table, KEY[table]), _col(table, field)
    stored = f", {column} AS {field}" if field != KEY[table] else ""
    return f"{key} AS {KEY[table]}{stored}, {_measure(p, table, column, field)} AS value"


def _aggregate_expr(aggregate: str, table: str, field: str | None) -> str:
    if aggregate in ("count", "argmax", "argmin") and (field is None or field == "count"):
        return "COUNT(*)"
    if field is None:
        raise QueryCompileError(f"a {aggregate} of what?")
    column = _col(table, field)
    if aggregate in ("sum", "argmax", "argmin"):
        return f"SUM({column})"
    if aggregate == "avg":
        return f"ROUND(AVG({column}), 4)"
    if aggregate == "max":
        return f"MAX({column})"
    if aggregate == "min":
        return f"MIN({column})"
    return f"SUM({column})"
