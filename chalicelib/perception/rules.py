"""Perception's rules, as a table: each a name, a small pattern, a builder, and its own examples.

A clause is offered to the rules in order; the first whose pattern matches and whose builder reads
the clause wins, and its name is recorded in the perceived state (``readings``), so a user and a
test can see which rule read which clause. Action rules come first (a URL to fetch, an incident to
open, a channel to notify, a summary, a file), then data rules (a window MAOO has no data for, a
count, an error rate, arithmetic, a resource to read, arithmetic written as code, a computation
with nothing to compute). The patterns are the lexicon's (``lexicon.py``), built from the domain
catalogue; no regular expression lives outside the lexicon. Each rule's examples are run by
``tests/unit/test_rule_table.py``: the clause must be read by that rule into those sub-task kinds.

Builders are methods of the clause reader (``_reader.Reader``) named by ``build``: they take the
clause, the services and window it names and the condition that governs it, and return whether
they read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.perception import lexicon as lx


@dataclass(frozen=True)
class Rule:
    name: str  # shown in the perceived state; a builder may add what it read ("read" -> "read_metrics")
    pattern: Callable[[str, list[str]], bool]  # (clause, services it names) -> does this rule apply?
    build: str  # the Reader method that builds the sub-tasks
    examples: tuple[
        tuple[str, tuple[str, ...]], ...
    ]  # (clause, the sub-task kinds it reads into; () = asks for more)


def _named(_: str, named: list[str]) -> bool:
    return bool(named)


ACTION_RULES: tuple[Rule, ...] = (
    Rule(
        "fetch_url",
        lambda t, n: bool(lx.URL.search(t) and lx.URL_LEAD.match(t)),
        "_fetch_url",
        (("fetch http://127.0.0.1:1/health", ("fetch",)),),
    ),
    Rule(
        "create_incident",
        lambda t, n: bool(lx.CREATE_INCIDENT.search(t)),
        "_create",
        (
            ("open a sev2 incident for search", ("create",)),
            ("raise a critical incident for auth", ("create",)),
            ("open an incident", ()),
        ),
    ),
    Rule(
        "notify",
        lambda t, n: bool(lx.NOTIFY.match(t)),
        "_notify",
        (
            ("page the on-call", ("notify",)),
            ("let the sre team know", ("notify",)),
            ("notify ops about the error rate of search", ("fetch", "compute", "notify")),
        ),
    ),
    Rule(
        "summarize",
        lambda t, n: bool(lx.SUMMARIZE_LEAD.match(t) or (lx.SUMMARIZE.search(t) and not lx.SAVE.match(t))),
        "_summarize",
        (
            ("summarize the open incidents of checkout", ("fetch", "summarize")),
            ("give me a short recap of the deployments", ("query", "summarize")),
        ),
    ),
    Rule(
        "save_file",
        lambda t, n: bool(lx.SAVE.match(t)),
        "_save",
        (("save the services to inventory.json", ("query", "save")), ("write the incidents to a file", ())),
    ),
)

DATA_RULES: tuple[Rule, ...] = (
    Rule(
        "window_unavailable",
        lambda t, n: bool(
            (lx.ERROR_RATE.search(t) or lx.METRICS.search(t)) and not _window(t) and lx.OTHER_WINDOW.search(t)
        ),
        "_window_unavailable",
        (("metrics of auth for the last 3 weeks", ()),),
    ),
    Rule(
        "count",
        lambda t, n: bool(
            lx.COUNT.search(t)
            and (lx.INCIDENTS.search(t) or lx.DEPLOYMENTS.search(t) or (lx.SERVICES_LIST.search(t) and not n))
        ),
        "_count",
        (
            ("how many resolved incidents are there", ("query",)),
            ("count the failed deployments", ("query",)),
            ("number of services in us-east-1", ("query",)),
        ),
    ),
    Rule(
        "error_rate",
        lambda t, n: bool(lx.ERROR_RATE.search(t) and not lx.ARITHMETIC_WORD.search(t)),
        "_error_rate_rule",
        (("failure rate of payments over 5 minutes", ("fetch", "compute")), ("the error rate", ())),
    ),
    Rule(
        "arithmetic",
        lambda t, n: True,
        "_arithmetic",
        (
            ("seven times six", ("compute",)),
            ("the average of 2, 4 and 6", ("compute",)),
            ("a third of 27", ("compute",)),
        ),
    ),
    Rule(
        "read",
        lambda t, n: True,
        "_read_resources",
        (
            ("p95 of auth over 24h", ("fetch",)),
            ("which services are degraded", ("query",)),
            ("deployments of search", ("query",)),
            ("who owns payments", ("fetch",)),
            ("the mock data", ("fetch",)),
        ),
    ),
    Rule(
        "arithmetic_as_written",
        lambda t, n: bool(lx.RAW_EXPRESSION.match(t)),
        "_raw_expression",
        (("calculate max(3, 4)", ("compute",)),),
    ),
    Rule(
        "compute_missing",
        lambda t, n: bool(
            lx.COMPUTE_LEAD.match(t) or (lx.QUESTION_LEAD.match(t) and lx.NUMBER_OR_RESULT.search(t))
        ),
        "_nothing_to_compute",
        (("calculate it", ()),),
    ),
)


def _window(text: str) -> bool:
    return any(pattern.search(text) for pattern, _ in lx.WINDOWS)


RULES: tuple[Rule, ...] = ACTION_RULES + DATA_RULES
