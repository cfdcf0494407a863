"""A long-lived server stays flat: many runs in one process, memory read as they go.

Runs go through ``chalicelib.api.RunService`` exactly as ``chalice local``'s ``POST /runs`` does
(``wait: true``, the embedded engine, the in-process mock API), in a fresh process of their own so
that nothing else measured shares its memory. ``growth_mb`` is the resident memory after the last
run minus that after the first ``settle`` runs, which pay for imports, caches and the engine's
start; ``held`` is what the engine still holds at the end (``EmbeddedEngine.held``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUEST = "calculate 2 + 2"


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
    return kb / 1024


def soak(runs: int, settle: int, forget: bool = True) -> dict[str, Any]:
    """Run in this process: ``runs`` requests, resident memory sampled every ``settle`` runs.
    ``forget=False`` keeps every execution, as the engine did before it forgot them."""
    import gc

    from app import app
    from chalicelib.api import RunService
    from chalicelib.config import get_settings
    from embedded_engine import EmbeddedEngine, get_embedded_engine, open_embedded_runner
    from localrun.mock_on_demand import MockApiOnDemand

    if not forget:
        EmbeddedEngine.keep_finished = runs

    mock = MockApiOnDemand()
    os.environ["MAOO_MOCK_API_URL"] = mock.url
    service = RunService(lambda: app.handler_map, embedded=open_embedded_runner)
    samples: list[tuple[int, float]] = []
    failed = 0
    try:
        for number in range(1, runs + 1):
            status, body = service.start(json.dumps({"request": REQUEST, "use_memory": False}))
            failed += status != 200 or body.get("status") != "succeeded"
            if number % settle == 0 or number == runs:
                gc.collect()
                samples.append((number, round(_rss_mb(), 1)))
        held = get_embedded_engine(get_settings(), {}).held()
    finally:
        mock.stop()
    after_settle = next(rss for number, rss in samples if number >= settle)
    return {
        "runs": runs,
        "settle": settle,
        "failed": failed,
        "rss_mb_after_settle": after_settle,
        "rss_mb_at_end": samples[-1][1],
        "growth_mb": round(samples[-1][1] - after_settle, 1),
        "samples": samples,
        "held": held,
    }


def measure(runs: int = 1000, settle: int = 100, forget: bool = True) -> dict[str, Any]:
    """``soak`` in a fresh process with its own runtime folder."""
    with tempfile.TemporaryDirectory(prefix="maoo-bench-soak-") as folder:
        env = {key: value for key, value in os.environ.items() if key != "MAOO_MOCK_API_URL"}
        env.update(
            {"MAOO_RUNTIME_DIR": folder, "POWERTOOLS_TRACE_DISABLED": "true", "MAOO_LOG_LEVEL": "warning"}
        )
        done = subprocess.run(
            [sys.executable, "-m", "bench.soak", "--runs", str(runs), "--settle", str(settle), "--here"]
            + ([] if forget else ["--keep-executions"]),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(data: dict[str, Any]) -> list[str]:
    return [
        f"Long-lived process ({data['runs']} runs of {REQUEST!r} through RunService, "
        f"as `chalice local` serves POST /runs): "
        f"{data['rss_mb_after_settle']} MB after the first {data['settle']}, "
        f"{data['rss_mb_at_end']} MB after the last: growth {data['growth_mb']} MB; "
        f"the engine holds {data['held']['executions']} executions at the end; {data['failed']} runs failed."
    ]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--settle", type=int, default=100)
    parser.add_argument("--here", action="store_true", help="run in this process (what measure() starts)")
    parser.add_argument(
        "--keep-executions", action="store_true", help="keep every execution (the engine before)"
    )
    args = parser.parse_args()
    forget = not args.keep_executions
    result = soak(args.runs, args.settle, forget) if args.here else measure(args.runs, args.settle, forget)
    print(json.dumps(result))
