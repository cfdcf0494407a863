"""A modifier MAOO does not support, added to a request it handles, never lets the request succeed.

The requests below are each read and planned as they are; with a modifier appended (or put first)
that no part of MAOO can carry out, the reading must stop before any tool runs. Hypothesis draws the
pairs; the state-machine test at the end drives a few such runs through the embedded engine.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.perception.request_reader import perceive

SUPPORTED = (
    "what is the error rate of payments over the last hour",
    "count the open incidents of checkout",
    "list the services that are degraded other than checkout",
    "which service has the most errors over 24h",
    "auth p50 over 24 h in seconds",
    "error count for each service over 24 h",
    "deployments that failed or were rolled back",
    "what did DEP-2004 ship",
    "calculate 2 + 2",
    "a fifth of 350",
    "sum of errors across payments and auth over 1 h",
    "checkout's 5m p95 divided by its 1h p95",
    "write 'all clear' to status.txt",
    "notify ops 'deploy freeze'",
    "if there are at least 3 open incidents notify ops 'busy'",
    "open a sev2 incident for search",
    "fetch mock data and summarize it",
    "average p95 of tier 1 services over 24h rounded to 1 decimal places",
)
MODIFIERS = (
    "in furlongs",
    "in fortnights",
    "rounded to the nearest googol",
    "but only on weekends",
    "in Klingon",
    "sorted by vibes",
    "weighted by mood",
    "per moon phase",
    "in cubits",
    "unless it is raining",
)


@pytest.mark.parametrize("request_text", SUPPORTED)
def test_every_request_of_the_list_is_read_as_it_is(request_text: str) -> None:
    assert perceive(request_text).task_type in ("single", "multi_step", "conditional"), request_text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SUPPORTED), st.sampled_from(MODIFIERS), st.booleans())
def test_an_unsupported_modifier_stops_the_request_before_any_tool(
    request_text: str, modifier: str, first: bool
) -> None:
    modified = f"{modifier}, {request_text}" if first else f"{request_text}, {modifier}"
    perception = perceive(modified)
    assert perception.task_type in ("unsupported", "ambiguous"), (modified, perception.understood)


# modifiers made of ordinary words MAOO knows one by one ("in", "order", "hour"): the reading must still
# account for them, at the end of the clause they modify, whichever rule read the clause
KNOWN_WORD_MODIFIERS = (
    "sorted by name",
    "in reverse order",
    "only the first two",
    "as a table",
    "in French",
    "twice",
    "every hour",
    "at 5pm",
    "for the last week",
    "excluding weekends",
    "in uppercase",
    "with a chart",
    "for yesterday",
    "compared to last month",
    "in descending order",
    "only if it is Monday",
    "without the first row",
    "rounded down",
    "to three significant figures",
    "in bold",
    "in JSON",
    "top 3",
    "per second",
    "p99",
    "standard deviation",
    "by hour",
    "since Monday",
    "before the deploy",
    "after 10:00",
    "in UTC",
    "newest first",
    "oldest first",
)


@pytest.mark.parametrize("modifier", KNOWN_WORD_MODIFIERS)
def test_a_modifier_of_known_words_at_the_end_stops_every_request(modifier: str) -> None:
    planned = [
        text
        for request_text in SUPPORTED
        for text in (f"{request_text}, {modifier}", f"{request_text} {modifier}")
        if perceive(text).task_type not in ("unsupported", "ambiguous")
    ]
    assert planned == []


def test_a_second_quoted_message_nothing_posts_stops_the_request() -> None:
    perception = perceive("notify ops 'deploy freeze' and 'rollback at 5'")
    assert perception.task_type == "unsupported" and "rollback at 5" in " ".join(perception.unsupported)
