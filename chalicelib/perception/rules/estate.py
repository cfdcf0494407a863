"""The estate question rule: a clause the estate reader (``perception/estate.py``) reads whole.

It is offered before the other data rules, and takes every question they cannot express: a field
of one object by id, negation, membership and comparisons, aggregates, rankings and groupings,
units and rounding. A plain read (a service's metrics, a list or a count with equality filters) is
left to the rules that read it today, so their routes (the HTTP API first, the database as the
alternative) stay as they are.
"""

from __future__ import annotations

import re

from chalicelib import catalogue
from chalicelib.contracts import Condition, ReadParams, make_subtask
from chalicelib.perception import estate
from chalicelib.perception import fragments as fr
from chalicelib.perception.rules.context import Context
from chalicelib.perception.rules.rule import Rule


def _own_filters(params: ReadParams) -> set[str]:
    """The filters the older rules apply to a table (the catalogue's): "incidents for tier 2 services"
    filters incidents by their service's tier, a join they never make."""
    resource = catalogue.RESOURCE.get("service" if params.resource == "services" else str(params.resource))
    own = set(resource.filters) if resource else set()
    if params.resource == "services":
        own |= set(catalogue.RESOURCE["services"].filters) | {"name"}
    return own


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
            all(f.op == "=" and f.field in _own_filters(params) for f in params.filters)
            or _one_service_record(params)
        )
        and (params.field is None or (_one_service_record(params) and params.field == "status"))
        and not (params.aggregate == "count" and params.resource in ("metrics", "mock_data"))
    )


def _one_error_rate(params: ReadParams) -> bool:
    return _one_metric_field(params) and params.field == "error_rate"


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
        refs[name] = [_add_query(ctx, text, params, condition, focus=False), "value"]
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
        ctx.accounted(text)
        return f"#{ctx.last_compute}"
    reading = estate.read(text)
    if reading.params is None or plain(reading.params) or not estate.single_figure(reading.params):
        return None
    if _one_metric_field(reading.params):
        return None  # "the p95 of auth": the live metrics, read by the condition's own rule
    ctx.last_compute = _add_query(ctx, text, reading.params)
    ctx.accounted(text)
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
    index = _add_query(ctx, text, reading.params, condition)
    if estate.single_figure(reading.params):
        ctx.last_compute = index  # "double it", "if it is over 50", "that number"
    return True


def _reads_plain(text: str, named: list[str]) -> bool:
    reading = estate.read(text)
    return reading.params is not None and plain(reading.params)


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
# after the older rules: a plain read none of them read ("count the failed ones") is still the estate's
ESTATE_FALLBACK = Rule(
    "estate_question_plain",
    estate.ANY,
    build,
    (("count the failed ones", ("query",)),),
    applies=_reads_plain,
)


# ---------------------------------------------------------------- a condition on a figure of the estate

_COMPARISON = re.compile(
    r"(?:(?<=\s)|^)(?P<op>"
    + fr.COMPARATOR
    + r")\s+(?P<value>-?\d+(?:\.\d+)?)\s*(?P<unit>%|percent\b|ms\b|s\b|seconds?\b)?",
    fr.NOCASE,
)
_EXISTENTIAL = re.compile(r"^\s*(?:there(?:'s|\s+is|\s+are|\s+r|\s+were|\s+was)?|is|are)\b", fr.NOCASE)
_ACTION_START = re.compile(
    r"(?:,\s*|\s+|^)(?:then\s+)?(?:(?:please|pls|could you|can you|would you)\s+)?"
    r"(?:notify|open(?!\s+(?:\w+\s+)?(?:incidents|issues|outages|ones)\b)|write|post|create|raise|send|save|page|"
    r"alert|summari[sz]e|file|ping|message|store|export|"
    r"put|record|tell|let|fetch|get|list|show|count|compute|calculate|check|email|restart|delete)\b",
    fr.NOCASE,
)


def starts_action(text: str) -> bool:
    """Does ``text`` say what to do (a verb of an action anywhere in it)?"""
    return bool(_ACTION_START.search(" " + text))


def estate_condition(ctx: Context, text: str) -> tuple[Condition, str | None] | None:
    """A condition on a figure the estate reader reads, with the action after it: "if inventory had more
    than 100 errors in the last hour, notify ops", "if there are at least 3 open incidents notify ops",
    "if more than one deployment failed, open ...". The figure may be written around its comparison; a
    list compared with a number is its count. None leaves the condition to the older rules (a service's
    live metrics or error rate among them)."""
    m = _COMPARISON.search(text)
    if m is None or _ANY.search(text[: m.start()]):
        # "if any mock item has a value above 35": the comparison filters the rows, whose count is above 0
        return _any_condition(ctx, text)
    before = _EXISTENTIAL.sub("", text[: m.start()]).strip(" ,")
    after = text[m.end() :]
    # the longest subject that reads: "checkout has more than 1 open incident, notify ..." is about open
    # incidents, not about a service called checkout with "open incident" its action
    splits = [*reversed([a.start() for a in _ACTION_START.finditer(after)]), len(after)]
    for split in splits:
        subject = f"{before} {after[:split]}".strip(" ,")
        if not subject:
            continue
        # "the p95 of auth is above 300, notify ...": one service's live metric, the older rule's own
        live = not after[:split].strip(" ,")
        figure = _subject_figure(ctx, subject, keep_live=live)
        if figure is None:
            continue
        ctx.accounted(subject)
        op = fr.COMPARATORS[m.group("op").lower()]
        value = float(m.group("value"))
        if (m.group("unit") or "").lower().startswith("s") and figure[1] in ("p50_ms", "p95_ms"):
            value *= 1000
        action = _POLITE.sub("", after[split:].strip(" ,")) or None
        return Condition(subject=f"#{figure[0]}", op=op, value=value), action
    return None


_POLITE = re.compile(r"^(?:then\s+)?(?:please|pls|could you|can you|would you)\s+", fr.NOCASE)
_ANY = re.compile(r"\b(?:any|some)\b", fr.NOCASE)


def _any_condition(ctx: Context, text: str) -> tuple[Condition, str | None] | None:
    """ "if any service is down, notify ops", "if checkout has any sev2 incidents, ...": the rows the
    subject names, counted, above 0."""
    if not _ANY.search(text):
        return None
    starts = [a.start() for a in _ACTION_START.finditer(text) if a.start() > 0]
    for split in starts:
        subject = _EXISTENTIAL.sub("", _ANY.sub(" ", text[:split])).strip(" ,")
        params = estate.read(subject).params
        if params is None or params.group_by is not None or params.aggregate not in ("list", "one"):
            continue
        counted = params.model_copy(update={"aggregate": "count", "field": None})
        ctx.last_compute = _add_query(ctx, subject, counted)
        ctx.accounted(text[:split])
        action = _POLITE.sub("", text[split:].strip(" ,")) or None
        return Condition(subject=f"#{ctx.last_compute}", op=">", value=0), action
    return None


def _subject_figure(ctx: Context, subject: str, keep_live: bool) -> tuple[int, str | None] | None:
    """The sub-task index of the figure ``subject`` names (added to the context), and its column."""
    arithmetic = estate.read_arithmetic(subject)
    if arithmetic is not None:
        _figures(ctx, subject, None)
        return ctx.last_compute, None  # type: ignore[return-value]
    reading = estate.read(subject)
    params = reading.params
    if params is None:
        return None
    if estate.single_figure(params):
        if keep_live and (_one_error_rate(params) or _one_metric_field(params)):
            return None
    elif params.group_by is None and params.aggregate in ("list", "one") and params.field is None:
        params = params.model_copy(update={"aggregate": "count"})  # rows compared with a number: their count
    else:
        return None
    ctx.last_compute = _add_query(ctx, subject, params)
    return ctx.last_compute, params.field


def _add_query(
    ctx: Context, text: str, params: ReadParams, condition: Condition | None = None, focus: bool = True
) -> int:
    """Add the question as a sub-task; with ``focus``, the service it names is in focus afterwards ("its",
    "for it"). One figure of several (arithmetic) leaves the focus where it was."""
    index = ctx.add(
        make_subtask(
            kind="query",
            text=text,
            params=params.model_dump(exclude_none=True),
            success_criteria=[f"{text} answered"],
        ),
        condition,
    )
    services = [f.value for f in params.filters if f.field in ("service", "name") and f.op == "="]
    if focus and len(services) == 1:
        ctx.service = str(services[0])
    return index
