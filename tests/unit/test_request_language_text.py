"""The request language's one-line text: what a person reads before anything runs."""

from __future__ import annotations

import pytest

from chalicelib.perception.language import render
from chalicelib.perception.request_reader import perceive


@pytest.mark.parametrize(
    ("request_text", "understood"),
    [
        (
            "checkout incidents that are not resolved",
            "#1 = incidents | where service = checkout and status != resolved",
        ),
        ("how many tier 1 services are there", "#1 = query services | where tier = 1 | count"),
        (
            "error count for each service over 24 h",
            "#1 = metrics | where window = 24h | sum errors | by service",
        ),
        (
            "auth p50 over 24 h in seconds",
            "#1 = metrics | where window = 24h and service = auth | list p50_ms | in s",
        ),
        (
            "if there are at least 3 open incidents notify ops 'busy', otherwise write 'calm' to calm.txt",
            '#1 = incidents | where status = open | count ; #2 = if #1 >= 3: notify #ops "busy" ; '
            '#3 = if #1 < 3: write calm.txt "calm"',
        ),
        (
            "checkout's 5m p95 divided by its 1h p95",
            "#1 = metrics | where window = 5m and service = checkout | list p95_ms ; "
            "#2 = metrics | where window = 1h and service = checkout | list p95_ms ; #3 = calc #1 / #2",
        ),
    ],
)
def test_a_reading_is_shown_as_one_line_of_the_request_language(request_text: str, understood: str) -> None:
    assert render(perceive(request_text)) == understood


def test_a_request_read_as_nothing_shows_nothing() -> None:
    assert render(perceive("tell me a joke")) == ""
