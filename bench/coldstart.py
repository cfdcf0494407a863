"""Cold start: a fresh interpreter per handler imports ``app`` (what Lambda does on a cold start),
then answers the handler's sample event (tests/events/<name>.json) once.

``import_ms`` is the module import Lambda does before the first event; ``first_call_ms`` is the
first invocation, where each function imports what it alone needs; ``peak_rss_mb`` is the
process's own high-water mark (VmHWM: ``ru_maxrss`` would include the parent's across exec).
The HTTP tools' sample events name a mock API that is not running: their first call includes a
refused connection, a few milliseconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chalicelib.tools.names import TOOL_NAMES

ROOT = Path(__file__).resolve().parent.parent

_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
name, event_file = sys.argv[1], sys.argv[2]
event = json.load(open(event_file))
from embedded_engine import LambdaContext
t2 = time.perf_counter()
app.app.handler_map[name](event, LambdaContext(function_name=name, aws_request_id="cold"))
t3 = time.perf_counter()
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_call_ms": (t3 - t2) * 1000, "peak_rss_mb": hwm / 1024}))
"""
_BASELINE = "import time; t = time.perf_counter(); print((time.perf_counter() - t) * 1000)"

HANDLERS = (
    "perceive",
    "plan",
    "next_step",
    "observe",
    "finalize",
    *(f"tool_{tool}" for tool in TOOL_NAMES),
)


def _interpreter_ms(repeat: int) -> float:
    import time

    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples.append((time.perf_counter() - t) * 1000)
    return sorted(samples)[len(samples) // 2]


def measure(repeat: int = 3) -> dict:
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"}
    env.pop("MAOO_MOCK_API_URL", None)
    results = {}
    for name in HANDLERS:
        runs = []
        for _ in range(repeat):
            event = ROOT / "tests" / "events" / f"{name}.json"
            out = subprocess.run(
                [sys.executable, "-c", _PROBE, name, str(event)],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
        runs.sort(key=lambda r: r["import_ms"])
        results[name] = runs[len(runs) // 2]
    return {"interpreter_start_ms": _interpreter_ms(repeat), "handlers": results}
