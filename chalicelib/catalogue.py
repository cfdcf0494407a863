"""The operations domain MAOO knows, in one place.

Services (with tier, owner, region), the resources a request can ask about, the metrics and their
fields, the windows data exists for and the words that name them, incident severities and states,
notification channels, and which tool answers what. Perception's vocabulary (services, metric and
window words, the words fuzzy matching corrects towards), the planner's routes and filters, the
critic's checks and the ops data are all built from these tables: adding a service or a metric is
one entry here.

Standard library only: every Lambda may load it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figures:
    """A service's numbers over one window: its row of the metrics table."""

    window: str
    requests: int
    errors: int
    p50_ms: int
    p95_ms: int


@dataclass(frozen=True)
class Incident:
    """An incident of the bundled estate (the service is the one it is listed under)."""

    id: str
    title: str
    severity: str
    status: str
    opened_at: str


@dataclass(frozen=True)
class Deployment:
    """A deployment of the bundled estate (the service is the one it is listed under)."""

    id: str
    version: str
    deployed_at: str
    status: str


@dataclass(frozen=True)
class Service:
    """A service and everything the estate knows of it: the ops data (``chalicelib.opsdata``: the
    database rows and what the mock API serves) is built from these entries, so a service added here
    with its figures is answerable end to end."""

    name: str
    tier: int
    owner: str
    region: str
    status: str  # the health the bundled estate reports for it
    aliases: tuple[str, ...] = ()  # shorthand operators type ("srch")
    metrics: tuple[Figures, ...] = ()  # one per window it has data for
    incidents: tuple[Incident, ...] = ()
    deployments: tuple[Deployment, ...] = ()


@dataclass(frozen=True)
class Metric:
    """A field of a service's metrics row, and the words that name it."""

    field: str
    words: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class Window:
    name: str
    words: tuple[str, ...]  # phrases that name this window, lower case, words separated by one space


@dataclass(frozen=True)
class Resource:
    """Something a request can read, where it lives, and which fields can filter it."""

    name: str
    words: tuple[str, ...]
    table: str | None  # the ops database table
    http_path: str | None  # the mock API route, if any
    filters: tuple[str, ...] = ()  # columns a request may filter on
    http_filters: tuple[str, ...] = ()  # the subset the HTTP route can filter on itself
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Channel:
    name: str
    words: tuple[str, ...]


# Error rates over 1h are far apart on purpose: search 6.5 %, payments 2.0 %, checkout 0.75 %,
# inventory 0.6 %, auth 0.3 % (tests and demos rely on these exact numbers).
SERVICES: tuple[Service, ...] = (
    Service(
        "payments",
        1,
        "payments-team",
        "us-east-1",
        "healthy",
        ("payment", "pay"),
        metrics=(
            Figures("5m", 1000, 21, 45, 210),
            Figures("1h", 12000, 240, 48, 230),
            Figures("24h", 288000, 4896, 47, 220),
        ),
        incidents=(
            Incident("INC-1004", "Card processor timeouts", "sev1", "resolved", "2025-05-28T14:10:00Z"),
        ),
        deployments=(Deployment("DEP-2001", "3.14.0", "2025-06-01T09:00:00Z", "succeeded"),),
    ),
    Service(
        "checkout",
        1,
        "storefront-team",
        "us-east-1",
        "degraded",
        ("cart",),
        metrics=(
            Figures("5m", 800, 6, 120, 1150),
            Figures("1h", 9600, 72, 115, 1200),
            Figures("24h", 230400, 1382, 110, 980),
        ),
        incidents=(
            Incident(
                "INC-1001", "Checkout latency above SLO (p95 > 1s)", "sev2", "open", "2025-06-02T10:05:00Z"
            ),
            Incident(
                "INC-1002", "Intermittent 502s from the cart backend", "sev3", "open", "2025-06-02T11:20:00Z"
            ),
        ),
        deployments=(Deployment("DEP-2002", "2.8.1", "2025-06-02T09:45:00Z", "succeeded"),),
    ),
    Service(
        "search",
        2,
        "discovery-team",
        "eu-west-1",
        "degraded",
        ("srch",),
        metrics=(
            Figures("5m", 700, 49, 80, 640),
            Figures("1h", 8000, 520, 85, 700),
            Figures("24h", 192000, 7680, 78, 520),
        ),
        incidents=(
            Incident(
                "INC-1003",
                "Elevated search error rate after index rebuild",
                "sev2",
                "open",
                "2025-06-02T11:42:00Z",
            ),
        ),
        deployments=(Deployment("DEP-2003", "5.2.0", "2025-06-02T11:30:00Z", "succeeded"),),
    ),
    Service(
        "auth",
        1,
        "identity-team",
        "us-east-1",
        "healthy",
        ("authentication", "login"),
        metrics=(
            Figures("5m", 2000, 4, 12, 40),
            Figures("1h", 24000, 72, 12, 42),
            Figures("24h", 576000, 1152, 11, 39),
        ),
        incidents=(
            Incident(
                "INC-1005",
                "Token refresh failures for mobile clients",
                "sev3",
                "resolved",
                "2025-05-30T08:30:00Z",
            ),
        ),
        deployments=(Deployment("DEP-2004", "1.9.3", "2025-05-31T13:15:00Z", "rolled_back"),),
    ),
    Service(
        "inventory",
        2,
        "supply-team",
        "us-west-2",
        "healthy",
        ("inv", "stock"),
        metrics=(
            Figures("5m", 400, 2, 30, 95),
            Figures("1h", 4800, 29, 31, 99),
            Figures("24h", 115200, 576, 30, 97),
        ),
        incidents=(Incident("INC-1006", "Stock sync lag", "sev4", "resolved", "2025-05-31T16:00:00Z"),),
        deployments=(Deployment("DEP-2005", "4.0.2", "2025-06-01T17:20:00Z", "failed"),),
    ),
)
SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)
SERVICE_STATES = ("healthy", "degraded", "down")
REGIONS: tuple[str, ...] = tuple(dict.fromkeys(s.region for s in SERVICES))

METRICS: tuple[Metric, ...] = (
    Metric(
        "requests",
        (
            "requests",
            "request count",
            "number of requests",
            "traffic",
            "throughput",
            "reqs",
            "calls",
            "hits",
            "volume",
        ),
        "request count",
    ),
    Metric(
        "errors",
        ("errors", "error count", "number of errors", "errs", "failures", "failed requests"),
        "error count",
    ),
    Metric("p50_ms", ("p50", "median latency", "median", "p50 latency"), "p50 latency (ms)"),
    Metric(
        "p95_ms",
        ("p95", "95th percentile", "tail latency", "latency", "p95 latency", "response time"),
        "p95 latency (ms)",
    ),
)
# the error rate is derived, not stored: errors / requests * 100
ERROR_RATE_WORDS = ("error rate", "failure rate", "error percentage", "err rate", "error ratio", "error %")
ERROR_RATE_EXPRESSION = "round(@errors / @requests * 100, 4)"

WINDOWS: tuple[Window, ...] = (
    Window("5m", ("5m", "5 min", "5 mins", "5 minutes", "five minutes", "5 minute", "last 5 minutes")),
    Window(
        "1h",
        (
            "1h",
            "1 hour",
            "1hr",
            "one hour",
            "last hour",
            "past hour",
            "this hour",
            "previous hour",
            "60 minutes",
            "hourly",
            "60m",
            "the hour",
        ),
    ),
    Window(
        "24h",
        (
            "24h",
            "24 hours",
            "24hrs",
            "24 hrs",
            "last day",
            "past day",
            "1 day",
            "one day",
            "1d",
            "today",
            "daily",
            "previous day",
            "last 24 hours",
            "past 24 hours",
            "the day",
        ),
    ),
)
WINDOW_NAMES: tuple[str, ...] = tuple(w.name for w in WINDOWS)
DEFAULT_WINDOW = "1h"

SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
SEVERITY_WORDS = {
    "critical": "sev1",
    "urgent": "sev1",
    "major": "sev1",
    "p0": "sev1",
    "p1": "sev1",
    "high": "sev2",
    "p2": "sev2",
    "medium": "sev3",
    "moderate": "sev3",
    "p3": "sev3",
    "low": "sev4",
    "minor": "sev4",
    "p4": "sev4",
}
DEFAULT_SEVERITY = "sev3"
INCIDENT_STATES = {
    "open": "open",
    "active": "open",
    "ongoing": "open",
    "current": "open",
    "unresolved": "open",
    "resolved": "resolved",
    "closed": "resolved",
    "fixed": "resolved",
    "past": "resolved",
}
DEPLOY_STATES = {
    "failed": "failed",
    "succeeded": "succeeded",
    "successful": "succeeded",
    "rolled back": "rolled_back",
    "rolled-back": "rolled_back",
    "rolled_back": "rolled_back",
    "rollbacked": "rolled_back",
}

# How a condition compares (perception's condition phrasing): the words -> the comparator
COMPARATOR_WORDS = {
    "is greater than or equal to": ">=",
    "greater than or equal to": ">=",
    "is at least": ">=",
    "at least": ">=",
    "reaches": ">=",
    "is no less than": ">=",
    "is less than or equal to": "<=",
    "less than or equal to": "<=",
    "is at most": "<=",
    "at most": "<=",
    "is no more than": "<=",
    "above": ">",
    "over": ">",
    "greater than": ">",
    "more than": ">",
    "exceeds": ">",
    "exceed": ">",
    "higher than": ">",
    "bigger than": ">",
    "larger than": ">",
    "tops": ">",
    "below": "<",
    "under": "<",
    "less than": "<",
    "lower than": "<",
    "smaller than": "<",
    "fewer than": "<",
    "drops below": "<",
    "falls below": "<",
    "is not": "!=",
    "does not equal": "!=",
    "equals": "==",
    "is equal to": "==",
    "equal to": "==",
    ">=": ">=",
    "<=": "<=",
    ">": ">",
    "<": "<",
    "==": "==",
    "=": "==",
    "!=": "!=",
}

RESOURCES: tuple[Resource, ...] = (
    Resource(
        "mock_data",
        ("mock data", "mock items", "sample data", "mock dataset"),
        "mock_items",
        "/data",
        columns=("id", "name", "value"),
    ),
    Resource(
        "metrics",
        ("metrics", "stats", "numbers"),
        "metrics",
        "/services/{service}/metrics",
        filters=("service", "window"),
        http_filters=("service", "window"),
        columns=("service", "window", "requests", "errors", "p50_ms", "p95_ms"),
    ),
    Resource(
        "service",
        ("status", "health", "state", "details", "info", "information"),
        "services",
        "/services/{service}",
        filters=("name",),
        http_filters=("name",),
        columns=("name", "tier", "owner", "status", "region"),
    ),
    Resource(
        "services",
        ("services", "service list", "service catalogue", "service catalog"),
        "services",
        "/services",
        filters=("status", "tier", "region", "owner"),
        columns=("name", "tier", "owner", "status", "region"),
    ),
    Resource(
        "incidents",
        ("incidents", "incident", "outages", "outage", "issues"),
        "incidents",
        "/incidents",
        filters=("service", "status", "severity"),
        http_filters=("service", "status"),
        columns=("id", "service", "title", "severity", "status", "opened_at"),
    ),
    Resource(
        "deployments",
        (
            "deployments",
            "deployment",
            "deploys",
            "deploy",
            "releases",
            "release",
            "rollouts",
            "versions",
            "version",
        ),
        "deployments",
        "/deployments",
        filters=("service", "status"),
        http_filters=("service",),
        columns=("id", "service", "version", "deployed_at", "status"),
    ),
)
RESOURCE = {r.name: r for r in RESOURCES}

CHANNELS: tuple[Channel, ...] = (
    Channel("oncall", ("oncall", "on-call", "on call", "the on-call", "pager")),
    Channel("ops", ("ops", "operations", "ops team")),
    Channel("sre", ("sre", "sre team", "sres")),
    Channel("incidents", ("incident channel", "incident-channel")),
    Channel("owners", ("owner", "owners", "service owner", "service owners")),
    Channel("team", ("team", "the team")),
    Channel("engineering", ("engineering", "engineers")),
    Channel("slack", ("slack",)),
    Channel("email", ("email", "e-mail", "mail")),
)
DEFAULT_CHANNEL = "ops"

# which tool carries out each kind of sub-task, and where a side effect must land
TOOLS_FOR_KIND: dict[str, frozenset[str]] = {
    "fetch": frozenset({"http_get", "db_query"}),
    "query": frozenset({"db_query", "http_get"}),
    "compute": frozenset({"calc"}),
    "summarize": frozenset({"summarize"}),
    "save": frozenset({"file_write"}),
    "create": frozenset({"http_post"}),
    "notify": frozenset({"http_post"}),
}
ENDPOINT_FOR_KIND = {"create": "/incidents", "notify": "/notifications"}
FILE_FORMATS = {
    "markdown": "md",
    "md": "md",
    "text": "txt",
    "txt": "txt",
    "plain text": "txt",
    "json": "json",
    "csv": "csv",
    "spreadsheet": "csv",
    "log": "log",
}

# Domain words typos are corrected towards (never applied to free text): services, resources,
# metrics, and the verbs of the domain.
DOMAIN_VERBS = (
    "calculate",
    "compute",
    "summarize",
    "summarise",
    "summary",
    "fetch",
    "retrieve",
    "incident",
    "incidents",
    "deployments",
    "deploys",
    "notify",
    "latency",
    "metrics",
    "error",
    "errors",
    "requests",
    "status",
    "services",
    "service",
    "average",
    "percent",
    "percentage",
    "squared",
    "multiply",
    "divide",
    "subtract",
    "throughput",
    "traffic",
    "median",
    "rate",
    "mock",
    "data",
    "healthy",
    "degraded",
    "resolved",
    "open",
    "list",
    "show",
    "save",
    "database",
)


def service(name: str) -> Service | None:
    return next((s for s in SERVICES if s.name == name), None)


def capabilities() -> str:
    """What MAOO can do, in one sentence: what an unsupported request is told instead."""
    return (
        "fetch mock data, a service's status or metrics, incidents or deployments; query the ops database; "
        "compute "
        "arithmetic (in symbols or words) or a service's error rate; summarize results; save them to a file; "
        "open an "
        "incident; notify a channel; do any of these only if a condition holds (services: "
        f"{', '.join(SERVICE_NAMES)}; windows: {', '.join(WINDOW_NAMES)}; channels: "
        f"{', '.join(c.name for c in CHANNELS)})"
    )


def domain_words() -> tuple[str, ...]:
    """Every single word fuzzy matching may correct a typo towards."""
    words: list[str] = [*SERVICE_NAMES, *DOMAIN_VERBS]
    for metric in METRICS:
        words += [w for w in metric.words if " " not in w]
    for resource in RESOURCES:
        words += [w for w in resource.words if " " not in w]
    return tuple(dict.fromkeys(w for w in words if len(w) >= 4))
