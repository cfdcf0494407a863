"""How long perception takes per request, warm: ``python -m bench.perception``.

Every request of the understanding corpus's tuning part is read once to warm the caches, then each
is read ``--repeat`` times; the figures are per request (median and 95th percentile), from
``time.perf_counter``. The target is at most 5 ms for a typical request.
"""

from __future__ import annotations

import argparse
import statistics
import time

from chalicelib.perception.request_reader import perceive
from eval.understanding.corpus import load


def measure(repeat: int = 5) -> dict[str, float]:
    requests = [entry.request for entry in load("tuning_v2").requests]
    for request in requests:  # warm: the lexicon, the vocabulary and the patterns are built once
        perceive(request)
    samples: list[float] = []
    for request in requests:
        started = time.perf_counter()
        for _ in range(repeat):
            perceive(request)
        samples.append((time.perf_counter() - started) / repeat * 1000)
    samples.sort()
    return {
        "requests": len(samples),
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[int(len(samples) * 0.95)], 3),
        "max_ms": round(samples[-1], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    figures = measure(parser.parse_args().repeat)
    print(
        f"perception, warm, per request over {figures['requests']} requests: median {figures['median_ms']} ms, "
        f"p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms"
    )


if __name__ == "__main__":
    main()
