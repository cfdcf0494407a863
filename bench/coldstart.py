"""Cold start: a fresh interpreter per handler imports ``app`` (what Lambda does on a cold start) and resolves the handler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PROBE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
name = sys.argv[1]
handler = getattr(app, name)
rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"import_ms": (t1 - t0) * 1000, "peak_rss_mb_after_import": rss_import / 1024}))
"""

_BASELINE = "import time; t = time.perf_counter(); print((time.perf_counter() - t) * 1000)"

HANDLERS = ("perceive", "plan", "next_step", "observe", "finalize", "tool_http_get", "tool_http_post",
            "tool_db_query", "tool_file_write", "tool_calc", "tool_summarize")


def _interpreter_ms(repeat: int) -> float:
    import time

    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples.append((time.perf_counter() - t) * 1000)
    return sorted(samples)[len(samples) // 2]


def measure(repeat: int = 3) -> dict:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0", "POWERTOOLS_TRACE_DISABLED": "true"}
    results = {}
    for name in HANDLERS:
        runs = []
        for _ in range(repeat):
            out = subprocess.run([sys.executable, "-c", _PROBE, name], cwd=ROOT, env=env, check=True,
                                 capture_output=True, text=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
        runs.sort(key=lambda r: r["import_ms"])
        results[name] = runs[len(runs) // 2]
    return {"interpreter_start_ms": _interpreter_ms(repeat), "handlers": results}
