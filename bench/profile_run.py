"""``python -m bench.profile_run``: where a whole run's time goes, in a warm process (cProfile).

A run as ``POST /runs`` makes it (``RunService.start``: execution, run document, trace stored),
the bench's 20-step workload by default, after warm-up runs. The execution runs in the engine's
own thread, so every thread started while profiling gets a profiler of its own; the table adds
them up. ``--runs`` profiled runs, ``--top`` rows, sorted by ``--sort`` (``tottime`` or
``cumulative``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import threading
import time
from typing import Any

from bench.__main__ import WORKLOADS


def _profiled_threads(profiles: list[cProfile.Profile]) -> Any:
    """A ``threading.setprofile`` hook that gives each new thread its own running profiler."""

    def hook(*_: Any) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()  # replaces this hook in the thread

    return hook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workload", default="20-step", choices=list(WORKLOADS))
    parser.add_argument("--warm", type=int, default=5, help="runs before profiling")
    parser.add_argument("--runs", type=int, default=5, help="runs profiled")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    args = parser.parse_args()

    from app import app
    from chalicelib.api import RunService
    from embedded_engine import open_embedded_runner
    from localrun.session import Session

    request, guards = WORKLOADS[args.workload]
    body = json.dumps({"request": request, "guards": guards})
    with Session() as session:
        session.arm_faults([])
        session.run("calculate 1 + 1")
        service = RunService(lambda: app.handler_map, embedded=open_embedded_runner)
        for _ in range(args.warm):
            service.start(body)
        profiles: list[cProfile.Profile] = []
        main_profile = cProfile.Profile()
        threading.setprofile(_profiled_threads(profiles))
        started = time.perf_counter()
        main_profile.enable()
        for _ in range(args.runs):
            status, doc = service.start(body)
            assert status == 200 and doc["status"] == "succeeded", doc
        main_profile.disable()
        elapsed = time.perf_counter() - started
        threading.setprofile(None)  # type: ignore[arg-type,unused-ignore]
        for profile in profiles:
            profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(main_profile, stream=out)
    for profile in profiles:
        stats.add(profile)
    stats.sort_stats(args.sort).print_stats(args.top)
    print(f"{args.runs} runs of {args.workload}: {elapsed / args.runs * 1000:.1f} ms each (profiled)")
    print(out.getvalue())


if __name__ == "__main__":
    main()
