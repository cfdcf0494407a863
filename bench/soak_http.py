"""The real HTTP server stays flat: ``chalice local`` serving many ``POST /runs``, memory read as they go.

``python -m bench.soak_http [--runs 1000] [--concurrency 8]`` starts ``chalice local --stage
local`` on a free loopback port (its own runtime folder), sends ``runs`` requests from
``concurrency`` clients at once, and reads the server's resident memory from ``/proc`` after the
first ``settle`` runs and after the last. ``runs_per_second`` is the server's throughput as the
clients saw it; ``failed`` counts answers other than a succeeded run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUEST = "calculate 2 + 2"


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
    return round(kb / 1024, 1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chalice local exited {process.returncode}")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"chalice local did not answer on {url} in {timeout:g} s")


def measure(runs: int = 1000, concurrency: int = 8, settle: int = 100) -> dict[str, Any]:
    import requests

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="maoo-bench-soak-http-") as folder:
        env = {key: value for key, value in os.environ.items() if key != "MAOO_MOCK_API_URL"}
        env.update(
            {"MAOO_RUNTIME_DIR": folder, "POWERTOOLS_TRACE_DISABLED": "true", "MAOO_LOG_LEVEL": "warning"}
        )
        command = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())",
                   "local", "--host", "127.0.0.1", "--port", str(port), "--stage", "local", "--no-autoreload"]  # fmt: skip
        with open(os.path.join(folder, "server.log"), "w") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(url, process)
            session = requests.Session()
            body = json.dumps({"request": REQUEST, "use_memory": False})

            def one(_: int) -> bool:
                response = session.post(
                    f"{url}/runs", data=body, headers={"Content-Type": "application/json"}, timeout=120
                )
                return response.status_code == 200 and response.json().get("status") == "succeeded"

            with ThreadPoolExecutor(concurrency) as pool:
                settled = list(pool.map(one, range(settle)))
                after_settle = _rss_mb(process.pid)
                started = time.perf_counter()
                rest = list(pool.map(one, range(runs - settle)))
                seconds = time.perf_counter() - started
            at_end = _rss_mb(process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
    return {
        "runs": runs,
        "concurrency": concurrency,
        "settle": settle,
        "failed": sum(1 for ok in settled + rest if not ok),
        "rss_mb_after_settle": after_settle,
        "rss_mb_at_end": at_end,
        "growth_mb": round(at_end - after_settle, 1),
        "runs_per_second": round((runs - settle) / seconds, 1),
    }


def markdown(data: dict[str, Any]) -> list[str]:
    return [
        f"HTTP server (`chalice local`, {data['runs']} POST /runs of {REQUEST!r}, {data['concurrency']} "
        f"clients at once): {data['rss_mb_after_settle']} MB after the first {data['settle']}, "
        f"{data['rss_mb_at_end']} MB after the last: growth {data['growth_mb']} MB; "
        f"{data['runs_per_second']} runs/s; {data['failed']} runs failed."
    ]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.soak_http", description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--settle", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(measure(args.runs, args.concurrency, min(args.settle, args.runs))))
