"""The metric rules: a service's error rate (computed from its errors and requests), and a span
of time MAOO has no metrics for ("the last 3 weeks"), which is asked about, never ignored."""

from __future__ import annotations

from chalicelib.contracts import Condition, make_subtask
from chalicelib.perception import fragments as fr
from chalicelib.perception.rules.context import Context
from chalicelib.perception.rules.rule import Rule


def window_unavailable(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    seen = fr.other_window(text) or text
    ctx.missing.append(f"a window MAOO has data for ({', '.join(fr.WINDOWS_AVAILABLE)}) instead of {seen!r}")
    return True


def error_rate(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    services = ctx.metric_services(text, named)
    if not services:
        ctx.add(
            make_subtask(kind="compute", text=text, params={"metric": "error_rate", "service": None}),
            condition,
        )
        ctx.ask_service(text)
        return True
    for service in services:
        ctx.error_rate(service, ctx.window_or_default(window), text, condition, ctx.read_kind(text))
    return True


def _no_window_for(text: str, named: list[str]) -> bool:
    metric = fr.ERROR_RATE.search(text) or fr.METRICS.search(text)
    return bool(metric and not fr.window(text) and fr.OTHER_WINDOW.search(text))


WINDOW_UNAVAILABLE = Rule(
    "window_unavailable",
    fr.OTHER_WINDOW,
    window_unavailable,
    (("metrics of auth for the last 3 weeks", ()),),
    applies=_no_window_for,
)
ERROR_RATE = Rule(
    "error_rate",
    fr.ERROR_RATE,
    error_rate,
    (("failure rate of payments over 5 minutes", ("fetch", "compute")), ("the error rate", ())),
    applies=lambda text, named: bool(fr.ERROR_RATE.search(text) and not fr.ARITHMETIC_WORD.search(text)),
)
