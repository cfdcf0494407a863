"""The estate question rule: a clause the estate reader (``perception/estate.py``) reads whole.

It is offered before the other data rules, and takes every question they cannot express: a field
of one object by id, negation, membership and comparisons, aggregates, rankings and groupings,
units and rounding. A plain read (a service's metrics, a list or a count with equality filters) is
left to the rules that read it today, so their routes (the HTTP API first, the database as the
alternative) stay as they are.
"""

from __future__ import annotations

from chalicelib.contracts import Condition, ReadParams, make_subtask
from chalicelib.perception import estate
from chalicelib.perception.rules.context import Context
from chalicelib.perception.rules.rule import Rule

_PLAIN_FILTERS = {"service", "name", "status", "severity", "tier", "region", "owner"}


def plain(params: ReadParams) -> bool:
    """A read the older rules express exactly: no aggregate but a count, equality filters only; and the
    error rate of one service, which they compute from the live metrics."""
    if _one_error_rate(params):
        return True
    one_named = params.aggregate == "one" and any(
        f.field in ("service", "name") and f.op == "=" for f in params.filters
    )
    return (
        (params.aggregate in ("list", "count") or one_named)
        and params.group_by is None
        and params.unit is None
        and params.round_to is None
        and (
            all(f.op == "=" and f.field in _PLAIN_FILTERS for f in params.filters)
            or _one_service_record(params)
        )
        and (params.field is None or (_one_service_record(params) and params.field == "status"))
        and not (params.aggregate == "count" and params.resource in ("metrics", "mock_data"))
    )


def _one_error_rate(params: ReadParams) -> bool:
    return (
        params.resource == "metrics"
        and params.field == "error_rate"
        and params.aggregate in ("list", "one")
        and [(f.field, f.op) for f in params.filters] == [("service", "=")]
        and params.unit is None
        and params.round_to is None
    )


def _one_metric_field(params: ReadParams) -> bool:
    return (
        params.resource == "metrics"
        and params.aggregate in ("list", "one")
        and [(f.field, f.op) for f in params.filters] == [("service", "=")]
        and params.unit is None
        and params.round_to is None
    )


def _one_service_record(params: ReadParams) -> bool:
    """ "the status of payments", "who owns checkout": a field of one service, which the service read answers."""
    return (
        params.resource == "services"
        and [f.field for f in params.filters] == ["name"]
        and params.filters[0].op in ("=", "in")
    )


def _reads(text: str, named: list[str]) -> bool:
    if estate.read_arithmetic(text) is not None:
        return True
    reading = estate.read(text)
    if reading.impossible or reading.ambiguous:
        return True  # read, and refused: the rules after this one would read it without the word at fault
    return reading.params is not None and not plain(reading.params)


def _figures(ctx: Context, text: str, condition: Condition | None) -> bool:
    """Figures of the estate combined ("checkout's 5m p95 divided by its 1h p95", "twice inventory's errors"):
    a query for each figure, then calc."""
    arithmetic = estate.read_arithmetic(text)
    if arithmetic is None:
        return False
    refs = {}
    for name, params in zip(("@a", "@b"), arithmetic.figures, strict=False):
        index = ctx.add(
            make_subtask(
                kind="query",
                text=text,
                params=params.model_dump(exclude_none=True),
                success_criteria=[f"a figure of {text!r} read"],
            ),
            condition,
        )
        refs[name] = [index, "value"]
    ctx.last_compute = ctx.add(
        make_subtask(
            kind="compute",
            text=text,
            params={"expression": arithmetic.expression, "refs": refs},
            success_criteria=[f"{arithmetic.expression} computed"],
        ),
        condition,
    )
    return True


def estate_figure(ctx: Context, text: str) -> str | None:
    """``#i``: the sub-task whose value a condition compares, when the estate reader reads ``text`` as one
    figure the older rules do not ("search errors over 24h minus its 1h errors", "the number of services in
    us-east-1 with a p95 above 500 ms"); None leaves the subject to them."""
    if _figures(ctx, text, None):
        return f"#{ctx.last_compute}"
    reading = estate.read(text)
    if reading.params is None or plain(reading.params) or not estate.single_figure(reading.params):
        return None
    if _one_metric_field(reading.params):
        return None  # "the p95 of auth": the live metrics, read by the condition's own rule
    ctx.last_compute = ctx.add(
        make_subtask(kind="query", text=text, params=reading.params.model_dump(exclude_none=True)), None
    )
    return f"#{ctx.last_compute}"


def build(ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None) -> bool:
    if _figures(ctx, text, condition):
        return True
    reading = estate.read(text)
    if reading.impossible:
        ctx.unsupported.append(f"{text!r}: {reading.problem}")
        return True
    if reading.ambiguous:
        ctx.missing.append(f"which is meant in {text!r}: {reading.problem}")
        return True
    if reading.params is None:
        return False
    index = ctx.add(
        make_subtask(
            kind="query",
            text=text,
            params=reading.params.model_dump(exclude_none=True),
            success_criteria=[f"{text} answered"],
        ),
        condition,
    )
    if estate.single_figure(reading.params):
        ctx.last_compute = index  # "double it", "if it is over 50", "that number"
    services = [f.value for f in reading.params.filters if f.field in ("service", "name") and f.op == "="]
    if len(services) == 1:
        ctx.service = str(services[0])  # "its", "for it"
    return True


ESTATE_QUESTION = Rule(
    "estate_question",
    estate.ANY,
    build,
    (
        ("services that are degraded other than checkout", ("query",)),
        ("which region runs the most services", ("query",)),
        ("error count for each service over 24 h", ("query",)),
    ),
    applies=_reads,
)
