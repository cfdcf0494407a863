"""Cold start cannot regress silently: ``import app`` (what every Lambda does first) stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUDGET_MS = 300  # measured about 40 ms on the 2-core dev machine (python -m bench); the margin is generous
HEAVY = (
    "pydantic",
    "boto3",
    "botocore",
    "requests",
    "moto",
    "aws_xray_sdk",
    "fastapi",
    "chalicelib.perception.fragments",
)

_PROBE = f"""
import json, sys, time
t = time.perf_counter()
import app
elapsed = (time.perf_counter() - t) * 1000
print(json.dumps({{"ms": elapsed, "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


def _probe() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": "true"},
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_importing_app_loads_no_heavy_module():
    assert _probe()["loaded"] == []


def test_importing_app_stays_within_its_time_budget():
    best = min(_probe()["ms"] for _ in range(3))  # the best of three: a busy machine only ever adds time
    assert best < BUDGET_MS, f"import app took {best:.0f} ms; budget {BUDGET_MS} ms"
