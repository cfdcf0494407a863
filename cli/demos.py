"""The three demos: a request, the faults armed on the mock API for it, and guard overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Demo:
    name: str
    request: str
    explains: str
    faults: list[dict[str, Any]] = field(default_factory=list)
    guards: dict[str, Any] = field(default_factory=dict)
    use_memory: bool = False
    """Demos do not consult long-term memory, so that each shows the same thing every time."""


DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo(
            name="happy",
            request="Fetch mock data, calculate 2 + 2, and summarize the result",
            explains="Every tool answers; the plan runs straight through.",
        ),
        Demo(
            name="refinement",
            request=(
                "Fetch the payments service metrics, compute its error rate, list open incidents for checkout, "
                "and summarize the result"
            ),
            explains=(
                "The metrics endpoint answers 429 (Retry-After 1 s), then drifts its schema (errors -> "
                "error_count): the run retries, then patches the arguments. The incidents endpoint answers 503 "
                "every time: after two retries the run replans to the ops database."
            ),
            faults=[
                {
                    "path": "/services/payments/metrics",
                    "method": "GET",
                    "fault": "http_429",
                    "count": 1,
                    "params": {"retry_after": 1},
                },
                {
                    "path": "/services/payments/metrics",
                    "method": "GET",
                    "fault": "schema_drift",
                    "count": None,
                },
                {"path": "/incidents", "method": "GET", "fault": "http_503", "count": None},
            ],
        ),
        Demo(
            name="stop",
            request="Open a sev2 incident for search",
            explains=(
                "The incidents endpoint answers 503 every time. Retries are allowed, but the same call failing "
                "the same way again and again is no progress: the non-progress guard ends the run."
            ),
            faults=[{"path": "/incidents", "method": "POST", "fault": "http_503", "count": None}],
            guards={"max_retries_per_step": 10},
        ),
    )
}
