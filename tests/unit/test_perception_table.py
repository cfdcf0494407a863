"""Eighty-odd requests, each with what perception must make of it and the plan it must lead to.

The same table drives ``tests/functional/test_requests_table.py``, which runs every request end to
end through the embedded engine and checks how the run ends and what the user reads. Here it is
checked without the engine: intent and task type, the tools the plan calls in order, and that the
critic accepts the planner's own plan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.config import reload_settings
from chalicelib.perception.request_reader import perceive
from chalicelib.planning.critic import critique
from chalicelib.planning.planner import NoRouteError, make_plan
from chalicelib.references import lookup, resolve
from chalicelib.tools.calc import evaluate
from chalicelib.tools.summarize import summarize

GET, POST, DB, CALC, SUM, FILE = "http_get", "http_post", "db_query", "calc", "summarize", "file_write"
INCIDENT, NOTIFICATION = "incident_created", "notification_sent"


@dataclass(frozen=True)
class Case:
    id: str
    request: str
    task_type: str
    intent: str
    tools: tuple[str, ...] = ()
    status: str = "succeeded"
    stop_reason: str | None = None
    says: tuple[
        str, ...
    ] = ()  # text the user reads: in the final output (which holds the stop detail when stopped)
    skipped: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()  # side effects the mock API records, in order
    guards: tuple[tuple[str, float], ...] = ()  # guard values the request's constraints must set
    file: tuple[str, str] | None = None  # (path under the sandbox, text it must hold)
    ran: tuple[str, ...] | None = None  # tools called, when not simply the plan's (minus skipped steps)
    e2e: bool = (
        True  # False: fully checked here (arithmetic is evaluated by calc's own evaluator), not run again
    )


def here_only(case: Case) -> Case:
    """A phrasing whose run would only repeat what this file checks: not run through the engine."""
    return replace(case, e2e=False)


def ok(id, request, task_type, intent, tools, *says, skipped=(), effects=(), guards=(), file=None):
    return Case(
        id,
        request,
        task_type,
        intent,
        tuple(tools),
        says=says,
        skipped=tuple(skipped),
        effects=tuple(effects),
        guards=tuple(guards),
        file=file,
    )


def stop(id, request, task_type, intent, tools, reason, *says, ran=None):
    return Case(
        id,
        request,
        task_type,
        intent,
        tuple(tools),
        status="stopped",
        stop_reason=reason,
        says=says,
        ran=None if ran is None else tuple(ran),
    )


CASES = [
    # ---- fetch: service status, metrics, incidents, mock data (HTTP first)
    ok("mock-data", "Fetch mock data", "single", "fetch", [GET], "Mock items (4)"),
    ok("status", "Get the status of payments", "single", "fetch", [GET], "healthy"),
    here_only(ok("healthy-question", "Is search healthy?", "single", "fetch", [GET], "degraded")),
    here_only(ok("how-is", "How is checkout doing?", "single", "fetch", [GET], "storefront-team")),
    ok(
        "metrics-5m",
        "Show me the search metrics for the last 5 minutes",
        "single",
        "fetch",
        [GET],
        "700 requests",
    ),
    # "latency" is p50 or p95: asked, not guessed (the estate reader reads every word, and two readings)
    stop(
        "latency-24h",
        "Pull the latency numbers for auth over the past 24 hours",
        "ambiguous",
        "ambiguous",
        [],
        "ambiguous_request",
        "p50 or p95",
    ),
    here_only(ok("p95-question", "What is the p95 latency of checkout?", "single", "query", [DB], "1200")),
    ok("open-incidents", "List open incidents for checkout", "single", "fetch", [GET], "of checkout (2)"),
    ok("resolved-incidents", "Show resolved incidents", "single", "fetch", [GET], "Resolved incidents (3)"),
    here_only(
        ok(
            "incidents-question",
            "Which incidents are open for search?",
            "single",
            "fetch",
            [GET],
            "Elevated search error rate",
        )
    ),
    # two services in one question: one query, every word read by the estate reader
    ok(
        "two-services",
        "Give me the status of auth and checkout",
        "single",
        "query",
        [DB],
        "auth healthy",
        "checkout degraded",
    ),
    # ---- query: the inventory and anything asked of the database (database first)
    ok("services", "List all services", "single", "query", [DB], "Services (5)"),
    ok(
        "degraded",
        "Which services are degraded?",
        "single",
        "query",
        [DB],
        "checkout (degraded, tier 1), search",
    ),
    ok("deployments", "Show recent deployments for search", "single", "query", [DB], "5.2.0"),
    ok("failed-deploys", "List failed deployments", "single", "query", [DB], "inventory"),
    ok(
        "db-metrics",
        "Query the ops database for the p95 latency of checkout over the last 24 hours",
        "single",
        "query",
        [DB],
        "p95 latency over the last 24 hours is 980 ms",
    ),
    here_only(ok("db-service", "Look up payments in the database", "single", "query", [DB], "payments-team")),
    ok(
        "count-incidents",
        "How many open incidents does checkout have?",
        "single",
        "query",
        [DB],
        "There are 2 open",
    ),
    here_only(ok("count-services", "How many services are degraded?", "single", "query", [DB], "count: 2")),
    ok(
        "health-and-deploys",
        "Check the health of inventory and list its deployments",
        "multi_step",
        "fetch+query",
        [GET, DB],
        "supply-team",
        "4.0.2",
    ),
    ok(
        "raw-sql",
        "Run the SQL: SELECT name FROM services WHERE status = 'degraded' ORDER BY name",
        "single",
        "query",
        [DB],
        "(2): checkout, search",
    ),
    # ---- compute: symbols and words
    ok("symbols", "calculate 2 + 2", "single", "compute", [CALC], "2 + 2 = 4"),
    ok("words-plus", "What is two plus two?", "single", "compute", [CALC], "= 4"),
    here_only(ok("percent-of", "What is 15% of 80?", "single", "compute", [CALC], "= 12")),
    here_only(ok("sum-of", "Compute the sum of 3, 4 and 5", "single", "compute", [CALC], "3 + 4 + 5 = 12")),
    here_only(ok("times", "What is 17 times 23?", "single", "compute", [CALC], "17 * 23 = 391")),
    here_only(ok("average", "What is the average of 10, 20 and 30?", "single", "compute", [CALC], "= 20")),
    here_only(ok("divide", "Divide 144 by 12", "single", "compute", [CALC], "144 / 12 = 12")),
    here_only(ok("subtract", "Subtract 58 from 100", "single", "compute", [CALC], "100 - 58 = 42")),
    here_only(ok("sqrt", "What is the square root of 144?", "single", "compute", [CALC], "= 12")),
    here_only(
        ok(
            "number-words",
            "How much is one hundred minus thirty seven?",
            "single",
            "compute",
            [CALC],
            "100 - 37 = 63",
        )
    ),
    here_only(ok("power", "Work out 2 to the power of 10", "single", "compute", [CALC], "= 1024")),
    here_only(
        ok("percentage-of-total", "What percentage of 12000 is 240?", "single", "compute", [CALC], "= 2")
    ),
    here_only(ok("parentheses", "calculate (3 * 4) / 2", "single", "compute", [CALC], "= 6")),
    here_only(ok("add-words", "Add 3 and 4", "single", "compute", [CALC], "= 7")),
    ok(
        "chained",
        "Multiply 6 by 7, then add 8 to the result",
        "multi_step",
        "compute",
        [CALC, CALC],
        "6 * 7 = 42",
        "42 + 8 = 50",
    ),
    # ---- error rates and explicit data flow
    ok(
        "error-rate",
        "What is the error rate of the payments service over the last hour?",
        "multi_step",
        "fetch+compute",
        [GET, CALC],
        "is 2.0 %",
    ),
    here_only(
        ok(
            "error-rate-24h",
            "Compute the error rate of search for the last 24 hours",
            "multi_step",
            "fetch+compute",
            [GET, CALC],
            "= 4",
        )
    ),
    ok(
        "error-rate-context",
        "Fetch the payments metrics, then compute the error rate",
        "multi_step",
        "fetch+compute",
        [GET, CALC],
        "is 2.0 %",
    ),
    ok(
        "divide-fields",
        "Get the error count and the request count for checkout, then divide the errors by the requests",
        "multi_step",
        "fetch+compute",
        [GET, CALC],
        "72 / 9600 = 0.0075",
    ),
    ok(
        "compare",
        "Compare the error rates of payments and search",
        "single",
        "query",
        [DB],
        "payments 2.0 %",
        "search 6.5 %",
    ),
    here_only(
        ok(
            "tell-me",
            "Tell me the error rate of inventory for the last day",
            "multi_step",
            "fetch+compute",
            [GET, CALC],
            "576 / 115200",
        )
    ),
    ok(
        "no-api",
        "Fetch the payments error rate without calling the API",
        "multi_step",
        "fetch+compute",
        [DB, CALC],
        "is 2.0 %",
    ),
    # ---- several parts: summarize and save
    ok(
        "seed",
        "Fetch mock data, calculate 2 + 2, and summarize the result",
        "multi_step",
        "fetch+compute+summarize",
        [GET, CALC, SUM],
        "2 + 2 = 4",
    ),
    ok(
        "demo-refinement",
        "Fetch the payments service metrics, compute its error rate, and summarize the result",
        "multi_step",
        "fetch+compute+summarize",
        [GET, CALC, SUM],
        "is 2.0 %",
    ),
    ok(
        "save-incidents",
        "List open incidents for checkout and save them to incidents.md",
        "multi_step",
        "fetch+save",
        [GET, FILE],
        "incidents.md",
        file=("incidents.md", "Intermittent 502s from the cart backend"),
    ),
    ok(
        "save-summary",
        "Fetch mock data and save a summary to report.md",
        "multi_step",
        "fetch+summarize+save",
        [GET, SUM, FILE],
        "Mock items (4)",
        file=("report.md", "# MAOO: Fetch mock data"),
    ),
    ok(
        "save-result",
        "Calculate 17 times 23 and save the result to result.txt",
        "multi_step",
        "compute+save",
        [CALC, FILE],
        "result.txt",
        file=("result.txt", "17 * 23 = 391."),
    ),
    ok(
        "export-csv",
        "Export the open incidents as CSV called open-incidents",
        "multi_step",
        "fetch+save",
        [GET, FILE],
        "open-incidents.csv",
        file=("open-incidents.csv", "INC-1003"),
    ),
    ok(
        "summarize-object",
        "Summarize the open incidents for checkout",
        "multi_step",
        "fetch+summarize",
        [GET, SUM],
        "Checkout latency",
    ),
    ok(
        "summarize-services",
        "List all services and summarize them",
        "multi_step",
        "query+summarize",
        [DB, SUM],
        "payments",
    ),
    here_only(
        ok(
            "two-sentences",
            "Fetch mock data. Then summarize it.",
            "multi_step",
            "fetch+summarize",
            [GET, SUM],
            "4 items",
        )
    ),
    ok(
        "polite",
        "Please fetch the mock data and then give me a quick summary",
        "multi_step",
        "fetch+summarize",
        [GET, SUM],
        "alpha",
    ),
    ok(
        "four-parts",
        "Get the search metrics, compute the error rate, and write a summary to search.md",
        "multi_step",
        "fetch+compute+summarize+save",
        [GET, CALC, SUM, FILE],
        "is 6.5 %",
    ),
    # ---- writes, and conditions
    ok(
        "incident",
        "Open a sev2 incident for search",
        "single",
        "create",
        [POST],
        "INC-1007",
        "sev2",
        effects=[INCIDENT],
    ),
    here_only(
        ok(
            "incident-p1",
            "Raise a P1 incident for auth",
            "single",
            "create",
            [POST],
            "sev1",
            effects=[INCIDENT],
        )
    ),
    ok(
        "notify",
        "Notify oncall that the payments deploy finished",
        "single",
        "notify",
        [POST],
        "NTF-0001",
        effects=[NOTIFICATION],
    ),
    ok(
        "notify-about",
        "Send a notification to slack about the checkout error rate",
        "multi_step",
        "fetch+compute+notify",
        [GET, CALC, POST],
        "0.75",
        effects=[NOTIFICATION],
    ),
    ok(
        "if-true",
        "If the error rate of search is above 5 %, open an incident",
        "conditional",
        "fetch+compute+create",
        [GET, CALC, POST],
        "INC-1007",
        effects=[INCIDENT],
    ),
    ok(
        "if-false",
        "If the error rate of payments is above 5 %, open an incident",
        "conditional",
        "fetch+compute+create",
        [GET, CALC, POST],
        "not above 5 %: no incident opened",
        skipped=["s3"],
    ),
    ok(
        "if-and-notify",
        "If the error rate of search is above 5 %, open an incident and notify oncall",
        "conditional",
        "fetch+compute+create+notify",
        [GET, CALC, POST, POST],
        "NTF-0001",
        effects=[INCIDENT, NOTIFICATION],
    ),
    ok(
        "otherwise",
        "If the error rate of payments is above 5 %, open an incident, otherwise notify ops",
        "conditional",
        "fetch+compute+create+notify",
        [GET, CALC, POST, POST],
        "NTF-0001",
        skipped=["s3"],
        effects=[NOTIFICATION],
    ),
    ok(
        "trailing-if",
        "Open an incident for search if its error rate is above 5%",
        "conditional",
        "fetch+compute+create",
        [GET, CALC, POST],
        "INC-1007",
        effects=[INCIDENT],
    ),
    ok(
        "if-it",
        "Compute the error rate of checkout. If it is above 0.5 %, page the on-call.",
        "conditional",
        "fetch+compute+notify",
        [GET, CALC, POST],
        "is 0.75 % (72 errors in 9,600 requests), above 0.5 %",
        effects=[NOTIFICATION],
    ),
    ok(
        "if-count",
        "If checkout has more than 1 open incident, notify oncall",
        "conditional",
        "query+notify",
        [DB, POST],
        "is 2, above 1",
        effects=[NOTIFICATION],
    ),
    ok(
        "if-any",
        "If there are open incidents for payments, alert the sre team",
        "conditional",
        "query+notify",
        [DB, POST],
        "is 0, not above 0",
        skipped=["s2"],
    ),
    ok(
        "if-latency",
        "If the p95 latency of checkout is above 1000 ms, page the on-call",
        "conditional",
        "fetch+notify",
        [GET, POST],
        "1,200 ms, above 1,000 ms",
        effects=[NOTIFICATION],
    ),
    ok(
        "when-words",
        "When the error rate of auth exceeds two percent, open a critical incident",
        "conditional",
        "fetch+compute+create",
        [GET, CALC, POST],
        "is 0.3 %",
        skipped=["s3"],
    ),
    ok(
        "if-errors",
        "Get payments metrics and if the errors are above 200, open an incident",
        "conditional",
        "fetch+create",
        [GET, POST],
        "error count over the last hour is 240, above 200",
        effects=[INCIDENT],
    ),
    ok(
        "everything",
        "Fetch the checkout metrics for the last 5 minutes, compute the error rate, and if it is above 0.5 %, "
        "open a high severity incident and notify oncall, then summarize everything",
        "conditional",
        "fetch+compute+create+notify+summarize",
        [GET, CALC, POST, POST, SUM],
        "0.75",
        effects=[INCIDENT, NOTIFICATION],
    ),
    # ---- constraints the request sets
    ok(
        "step-limit-fits",
        "Fetch the payments metrics in at most 2 steps",
        "single",
        "fetch",
        [GET],
        "12,000 requests",
        guards=[("max_steps", 2)],
    ),
    ok(
        "deadline",
        "Check the error rate of payments within 30 seconds",
        "multi_step",
        "fetch+compute",
        [GET, CALC],
        "is 2.0 %",
        guards=[("deadline_seconds", 30)],
    ),
    ok(
        "budget-fits",
        "Get the status of payments with a budget of 4",
        "single",
        "fetch",
        [GET],
        "healthy",
        guards=[("budget", 4)],
    ),
    stop(
        "step-limit",
        "Fetch mock data, calculate 2 + 2, and summarize the result in at most 2 steps",
        "multi_step",
        "fetch+compute+summarize",
        [GET, CALC, SUM],
        "invalid_plan",
        "3 steps exceed max_steps 2",
    ),
    stop(
        "budget",
        "Fetch the payments service metrics, compute its error rate, and summarize the result with a budget of 2",
        "multi_step",
        "fetch+compute+summarize",
        [GET, CALC, SUM],
        "invalid_plan",
        "exceeds the budget 2",
    ),
    stop(
        "read-only",
        "Open an incident for search, read only",
        "single",
        "create",
        [POST],
        "policy_denied",
        "request.read_only",
    ),
    stop(
        "no-files",
        "Fetch mock data and save it to data.json without writing files",
        "multi_step",
        "fetch+save",
        [GET, FILE],
        "policy_denied",
        "request.no_files",
    ),
    stop(
        "no-api-write",
        "Open an incident for checkout without calling the API",
        "single",
        "create",
        [POST],
        "policy_denied",
        "request.denied_tool",
    ),
    stop(
        "write-limit",
        "Create incidents for payments, checkout, search, auth and inventory",
        "multi_step",
        "create",
        [POST] * 5,
        "policy_denied",
        "tool.limit",
    ),
    stop(
        "traversal",
        "Fetch mock data and save it to ../../outside.md",
        "multi_step",
        "fetch+save",
        [GET, FILE],
        "policy_denied",
        "file.traversal",
    ),
    stop(
        "url-not-allowed",
        "Fetch https://example.com/status",
        "single",
        "fetch",
        [GET],
        "policy_denied",
        "http.allowlist",
    ),
    stop(
        "sql-delete",
        "Run the SQL: DELETE FROM incidents",
        "single",
        "query",
        [DB],
        "policy_denied",
        "sql.read_only",
        ran=[DB],
    ),
    stop(
        "sql-two-statements",
        "Query the database: SELECT 1; DROP TABLE services",
        "single",
        "query",
        [DB],
        "policy_denied",
        "sql.one_statement",
        ran=[DB],
    ),
    stop(
        "calc-code",
        "calculate __import__('os').system('ls')",
        "single",
        "compute",
        [CALC],
        "policy_denied",
        "calc.ast_allowlist",
        ran=[CALC],
    ),
    # ---- out of domain
    stop(
        "cake",
        "Bake me a chocolate cake",
        "unsupported",
        "unsupported",
        [],
        "unsupported_request",
        "Bake me a chocolate cake",
    ),
    stop(
        "weather",
        "What's the weather in Paris?",
        "unsupported",
        "unsupported",
        [],
        "unsupported_request",
        "weather",
    ),
    here_only(
        stop(
            "restart",
            "Restart the payments service",
            "unsupported",
            "unsupported",
            [],
            "unsupported_request",
            "Restart",
        )
    ),
    stop(
        "partly-unsupported",
        "Check payments and restart it",
        "unsupported",
        "unsupported",
        [],
        "unsupported_request",
        "'restart it'",
    ),
    here_only(
        stop("joke", "Tell me a joke", "unsupported", "unsupported", [], "unsupported_request", "It can:")
    ),
    here_only(
        stop(
            "delete",
            "Delete all incidents",
            "unsupported",
            "unsupported",
            [],
            "unsupported_request",
            "Delete all incidents",
        )
    ),
    # ---- ambiguous: what is missing is named
    stop(
        "no-service", "open an incident", "ambiguous", "ambiguous", [], "ambiguous_request", "which service"
    ),
    stop(
        "compute-it",
        "compute it",
        "ambiguous",
        "ambiguous",
        [],
        "ambiguous_request",
        "what to compute in 'compute it'",
    ),
    here_only(
        stop(
            "summarize-it",
            "Summarize it",
            "ambiguous",
            "ambiguous",
            [],
            "ambiguous_request",
            "what to summarize",
        )
    ),
    stop(
        "window",
        "Get search metrics over the last week",
        "ambiguous",
        "ambiguous",
        [],
        "ambiguous_request",
        "'last week'",
    ),
    stop(
        "file-name",
        "Fetch mock data and save it",
        "ambiguous",
        "ambiguous",
        [],
        "ambiguous_request",
        "a file name",
    ),
    stop(
        "condition-service",
        "If the error rate is above 5 %, notify oncall",
        "ambiguous",
        "ambiguous",
        [],
        "ambiguous_request",
        "which service",
    ),
    # a clause with words MAOO does not know is not doable: the true cause is unsupported, not a missing detail
    stop(
        "leftover",
        "Fetch mock data, then make coffee",
        "unsupported",
        "unsupported",
        [],
        "unsupported_request",
        "'coffee'",
    ),
]


@pytest.fixture
def planning_settings(monkeypatch):
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:8765")
    reload_settings()


def test_the_table_is_large_and_ids_are_unique():
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_request_is_perceived_and_planned_as_expected(planning_settings, case):
    perception = perceive(case.request)

    assert (perception.task_type, perception.intent) == (case.task_type, case.intent), (
        perception.missing or perception.unsupported
    )
    if case.task_type in ("unsupported", "ambiguous"):
        assert perception.missing or perception.unsupported
        return
    plan = make_plan(perception)
    assert tuple(step.tool for step in plan.steps) == case.tools
    assert critique(plan, perception) == []
    assert len(perception.success_criteria) >= len(perception.subtasks)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.status == "succeeded" and set(c.tools) == {CALC}], ids=lambda c: c.id
)
def test_arithmetic_gives_the_answer_the_user_reads(planning_settings, case):
    """Pure arithmetic, evaluated the way the calc tool does and summarized the way the final output is."""
    results: dict = {}
    for step in make_plan(perceive(case.request)).steps:
        expression = resolve(step.args, lambda sid, path: lookup(results, sid, path))["expression"]
        results[step.id] = {"expression": expression, "value": evaluate(expression)}

    answer = summarize(list(results.values()))
    for text in case.says:
        assert text in answer


WORDS = [
    "fetch",
    "the",
    "error rate",
    "of",
    "payments",
    "search",
    "if",
    "above",
    "5 %",
    ",",
    "and",
    "then",
    "open an incident",
    "notify oncall",
    "save it to",
    "report.md",
    "summarize",
    "it",
    "two plus two",
    "otherwise",
    "in at most 3 steps",
    "read only",
    "last hour",
    "compute",
    "15% of 80",
    "list",
    "incidents",
    "deployments",
    "database",
    ".",
    "restart",
]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=120), st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join)))
def test_any_text_is_perceived_without_crashing_and_what_is_actionable_can_be_planned(text):
    perception = perceive(text)

    if perception.task_type in ("unsupported", "ambiguous"):
        assert perception.unsupported or perception.missing or not perception.subtasks
        return
    assert perception.subtasks
    try:
        plan = make_plan(perception)
    except NoRouteError:
        return  # e.g. "save it" with nothing before: the Plan state ends the run with no_route and says why
    assert critique(plan, perception) == []
