"""What 1,000 runs cost on AWS, from measured state transitions and Lambda durations.

Prices are AWS's published list prices for us-east-1, x86, read on 2026-11-24
(aws.amazon.com/step-functions/pricing, aws.amazon.com/lambda/pricing). Free tiers are ignored.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

PRICES_AS_OF = "2026-11-24 (us-east-1, x86, list prices, free tiers ignored)"
STANDARD_PER_TRANSITION = 0.025 / 1000
EXPRESS_PER_REQUEST = 1.00 / 1_000_000
EXPRESS_PER_GB_SECOND = 0.00001667  # billed in 64 MB chunks, duration rounded up to 100 ms
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PER_GB_SECOND = 0.0000166667  # billed per 1 ms

ROOT = Path(__file__).resolve().parent.parent


def function_memory_mb() -> dict[str, int]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    default = config.get("lambda_memory_size", 128)
    return {
        name: spec.get("lambda_memory_size", default)
        for name, spec in config.get("lambda_functions", {}).items()
    }


def per_thousand_runs(
    transitions: float,
    invocations: dict[str, tuple[int, float]],
    run_seconds: float,
    express_memory_mb: int = 64,
) -> dict[str, float]:
    """``invocations``: function name -> (calls per run, mean ms per call)."""
    memory = function_memory_mb()
    lambda_cost = 0.0
    for name, (calls, mean_ms) in invocations.items():
        gb_seconds = calls * (memory.get(name, 128) / 1024) * (math.ceil(mean_ms) / 1000)
        lambda_cost += calls * LAMBDA_PER_REQUEST + gb_seconds * LAMBDA_PER_GB_SECOND
    express_duration = math.ceil(run_seconds * 10) / 10
    express = (
        EXPRESS_PER_REQUEST
        + (math.ceil(express_memory_mb / 64) * 64 / 1024) * express_duration * EXPRESS_PER_GB_SECOND
    )
    standard = transitions * STANDARD_PER_TRANSITION
    return {
        "lambda_usd": round(lambda_cost * 1000, 4),
        "standard_workflow_usd": round(standard * 1000, 4),
        "express_workflow_usd": round(express * 1000, 4),
        "total_standard_usd": round((lambda_cost + standard) * 1000, 4),
        "total_express_usd": round((lambda_cost + express) * 1000, 4),
    }
