"""The reading rules: a URL to fetch, and the resources a clause names (metrics, a service's status,
the service list, incidents, deployments, the mock data), each read into a fetch or a query."""

from __future__ import annotations

import re
from typing import Any

from chalicelib import catalogue
from chalicelib.contracts import Condition, SubTaskKind, make_subtask
from chalicelib.perception import fragments as fr
from chalicelib.perception.accounting import terms
from chalicelib.perception.fragments import NOCASE
from chalicelib.perception.rules.context import Context
from chalicelib.perception.rules.rule import Rule

URL_LEAD = re.compile(
    r"^(?:fetch|get|grab|retrieve|pull|load|read|download|open|call|request|query|hit|check|show)\b", NOCASE
)
MOCK_DATA = re.compile(r"\bmock[ -]?data\b|\bmock items\b|\bsample data\b", NOCASE)
STATUS = re.compile(
    r"\b(status|where|located|hosted|hosts|runs?|health|healthy|state|up|down|degraded|doing|ok|okay|owner|owns|tier|region|details?|info(?:rmation)?)\b",
    NOCASE,
)
CHECK = re.compile(
    r"\b(check|inspect|look at|look up|how is|how's|describe|examine|fetch|get|show)\b", NOCASE
)
SERVICE_WORD = re.compile(r"\bservices?\b", NOCASE)
# any metric the catalogue knows, by any of its words: "how many requests did search serve"
METRIC_WORDS = re.compile(
    r"\b(?:" + "|".join(re.escape(w) for m in catalogue.METRICS for w in m.words) + r")\b", NOCASE
)


def fetch_url(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    m = fr.URL.search(text)
    assert m is not None  # the rule's pattern matched
    url = m.group("url").rstrip(".,;:!?)")
    ctx.add(
        make_subtask(
            kind="fetch",
            text=text,
            params={"resource": "url", "url": url},
            success_criteria=[f"{url} fetched"],
        ),
        condition,
    )
    return True


def read_resources(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    found = resources(text, named)
    if not found:
        return False
    ctx.name("read_" + "+".join(found), text)
    for resource in found:
        _RESOURCE_READERS[resource](ctx, text, named, window, condition)
    return True


def resources(text: str, named: list[str]) -> list[str]:
    """The resources a data clause names, in the order it names them."""
    found: list[tuple[int, str]] = []

    def note(pattern: re.Pattern[str], resource: str) -> None:
        if m := pattern.search(text):
            found.append((m.start(), resource))

    note(MOCK_DATA, "mock_data")
    note(fr.METRICS, "metrics")
    if not found or (named and not any(r == "metrics" for _, r in found)):
        note(METRIC_WORDS, "metrics")
    note(fr.INCIDENTS, "incidents")
    note(fr.DEPLOYMENTS, "deployments")
    if not named:
        note(fr.SERVICES_LIST, "services")
    elif status := STATUS.search(text):
        found.append((status.start(), "service"))
    elif not found and (CHECK.search(text) or SERVICE_WORD.search(text)):
        found.append((text.lower().find(named[0]), "service"))
    return [resource for _, resource in sorted(found)]


def service_filters(text: str) -> dict[str, Any]:
    """Tier, region and owner a list of services is filtered by ("tier 2 services", "in eu-west-1")."""
    wanted = ("tier", "region", "owner")
    return {kind: value for kind, value in terms(text) if kind in wanted}


def _metrics(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> None:
    kind: SubTaskKind = ctx.read_kind(text)
    services = ctx.metric_services(text, named)
    if not services:
        ctx.add(
            make_subtask(kind=kind, text=text, params={"resource": "metrics", "service": None}), condition
        )
        ctx.ask_service(text)
        return
    for each in services:
        ctx.metrics(each, ctx.window_or_default(window), text, condition, kind)


def _service(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> None:
    service = ctx.pronoun_service(text, named)
    for each in named or ([service] if service else []):
        ctx.add(
            make_subtask(
                kind=ctx.read_kind(text),
                text=text,
                params={"resource": "service", "service": each},
                success_criteria=[f"status of {each} fetched"],
            ),
            condition,
        )


def _mock_data(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> None:
    ctx.add(
        make_subtask(
            kind=ctx.read_kind(text),
            text=text,
            params={"resource": "mock_data"},
            success_criteria=["mock data fetched"],
        ),
        condition,
    )


def _services(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> None:
    status = fr.service_status(text)
    filters = service_filters(text)
    what = " ".join(x for x in (status, "services", *(f"{k} {v}" for k, v in filters.items())) if x)
    ctx.add(
        make_subtask(
            kind="query",
            text=text,
            params={"resource": "services", "status": status, **filters},
            success_criteria=[f"{what} listed"],
        ),
        condition,
    )


def _incidents(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> None:
    service = ctx.pronoun_service(text, named)
    status = fr.incident_status(text)
    severity = next((v for k, v in terms(text) if k == "severity"), None)
    what = " ".join(x for x in (status, severity, "incidents", f"of {service}" if service else "") if x)
    extra = {"severity": severity} if severity else {}
    ctx.add(
        make_subtask(
            kind=ctx.read_kind(text),
            text=text,
            params={"resource": "incidents", "service": service, "status": status, **extra},
            success_criteria=[f"{what} listed"],
        ),
        condition,
    )


def _deployments(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> None:
    service = ctx.pronoun_service(text, named)
    status = fr.deploy_status(text)
    what = " ".join(x for x in (status, "deployments", f"of {service}" if service else "") if x)
    ctx.add(
        make_subtask(
            kind="query",
            text=text,
            params={"resource": "deployments", "service": service, "status": status},
            success_criteria=[f"{what} listed"],
        ),
        condition,
    )


_RESOURCE_READERS = {
    "metrics": _metrics,
    "service": _service,
    "mock_data": _mock_data,
    "services": _services,
    "incidents": _incidents,
    "deployments": _deployments,
}

FETCH_URL = Rule(
    "fetch_url",
    fr.URL,
    fetch_url,
    (("fetch http://127.0.0.1:1/health", ("fetch",)),),
    applies=lambda text, named: bool(fr.URL.search(text) and URL_LEAD.match(text)),
)
READ = Rule(
    "read",
    re.compile(r"\S"),  # offered every clause: it reads when the clause names a resource
    read_resources,
    (
        ("metrics of auth over 24h", ("fetch",)),
        ("which services are degraded", ("query",)),
        ("deployments of search", ("query",)),
        ("details of payments", ("fetch",)),
        ("the mock data", ("fetch",)),
        ("inventory metrics for the last day", ("fetch",)),
    ),
)
