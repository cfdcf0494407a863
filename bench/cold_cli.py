"""Cold ``python -m cli run`` against its peer, a fresh-process LangGraph run of the same handlers.

Each sample is a new process, timed from spawn to exit (``wall_ms``), with its peak resident
memory (``ru_maxrss`` of that child alone, from ``wait4``). The rows are measured interleaved, one
sample of each in turn, so that load on the machine falls on all of them alike; each gets one
untimed run first (it writes ``.pyc`` files and the parsed-definition cache, as a user's first
run does once). ``--baseline DIR`` adds the same CLI rows for another checkout (say, the commit
before a change), run by the same interpreter side by side.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CALC = "calculate 2 + 2"
SEED = "Fetch mock data, calculate 2 + 2, and summarize the result"


@dataclass
class Row:
    """One command measured cold: where it runs and what it runs."""

    label: str
    argv: list[str]
    cwd: Path
    walls_ms: list[float] = field(default_factory=list)
    peaks_mb: list[float] = field(default_factory=list)
    cpus_ms: list[float] = field(default_factory=list)
    failures: int = 0


def _cli(request: str) -> list[str]:
    return ["-m", "cli", "run", "--request", request, "--json", "--no-memory"]


def _peer(request: str) -> list[str]:
    return ["-m", "bench.langgraph_peer", "--request", request]


def _sample(row: Row, env: dict[str, str], record: bool) -> None:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *row.argv],
        cwd=row.cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed_ms = (time.perf_counter() - started) * 1000
    process.returncode = os.waitstatus_to_exitcode(status)
    if not record:
        return
    if process.returncode != 0:
        row.failures += 1
        return
    row.walls_ms.append(elapsed_ms)
    row.peaks_mb.append(usage.ru_maxrss / 1024)  # kilobytes on Linux
    row.cpus_ms.append((usage.ru_utime + usage.ru_stime) * 1000)  # what load on the machine does not stretch


def rows_for(baseline: Path | None) -> list[Row]:
    rows = [
        Row("cli run cold: calc", _cli(CALC), ROOT),
        Row("LangGraph peer cold: calc", _peer(CALC), ROOT),
        Row("cli run cold: seed request", _cli(SEED), ROOT),
        Row("LangGraph peer cold: seed request", _peer(SEED), ROOT),
        Row("cli demo happy cold", ["-m", "cli", "demo", "happy", "--json"], ROOT),
    ]
    if baseline is not None:
        rows += [
            Row("baseline cli run cold: calc", _cli(CALC), baseline),
            Row("baseline cli run cold: seed request", _cli(SEED), baseline),
            Row("baseline cli demo happy cold", ["-m", "cli", "demo", "happy", "--json"], baseline),
        ]
    return rows


def _summary(row: Row) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(row.walls_ms), 1) if row.walls_ms else None,
        "min_ms": round(min(row.walls_ms), 1) if row.walls_ms else None,
        "peak_rss_mb": round(statistics.median(row.peaks_mb), 1) if row.peaks_mb else None,
        "cpu_ms": round(statistics.median(row.cpus_ms), 1) if row.cpus_ms else None,
        "samples": len(row.walls_ms),
        "failures": row.failures,
    }


def _ratio(numerator: dict[str, Any], denominator: dict[str, Any]) -> float | None:
    if not numerator.get("median_ms") or not denominator.get("median_ms"):
        return None
    return round(numerator["median_ms"] / denominator["median_ms"], 2)


def measure_apart(repeat: int = 7, baseline: Path | None = None) -> dict[str, Any]:
    """``measure`` run from a fresh, small process. A child's peak RSS counts its parent's size
    when it was forked (the pages are shared until exec), so a large parent (the benchmark with
    its engine loaded) would show in every row."""
    import json

    argv = [sys.executable, "-m", "bench.cold_cli", "--repeat", str(repeat), "--json"]
    if baseline is not None:
        argv += ["--baseline", str(baseline)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(repeat: int = 7, baseline: Path | None = None) -> dict[str, Any]:
    """Medians of ``repeat`` cold samples per row, and the ratios the issue asks for."""
    rows = rows_for(baseline)
    with tempfile.TemporaryDirectory(prefix="maoo-bench-cold-") as folder:
        env = {key: value for key, value in os.environ.items() if key != "MAOO_MOCK_API_URL"}
        env.update(
            {
                "POWERTOOLS_TRACE_DISABLED": "true",
                "PYTHONDONTWRITEBYTECODE": "",
                "MAOO_BACKOFF_BASE_SECONDS": "0",
            }
        )
        for row in rows:  # one untimed run each: .pyc files and each checkout's own runtime folder
            row_env = {**env, "MAOO_RUNTIME_DIR": str(Path(folder) / row.cwd.name)}
            _sample(row, row_env, record=False)
        for _ in range(repeat):
            for row in rows:
                _sample(row, {**env, "MAOO_RUNTIME_DIR": str(Path(folder) / row.cwd.name)}, record=True)
    summary = {row.label: _summary(row) for row in rows}
    peer_calc, peer_seed = summary["LangGraph peer cold: calc"], summary["LangGraph peer cold: seed request"]
    ratios = {
        "cli_over_peer_calc": _ratio(summary["cli run cold: calc"], peer_calc),
        "cli_over_peer_seed": _ratio(summary["cli run cold: seed request"], peer_seed),
        "demo_happy_over_peer_seed": _ratio(summary["cli demo happy cold"], peer_seed),
    }
    if baseline is not None:
        ratios.update(
            {
                "baseline_over_peer_calc": _ratio(summary["baseline cli run cold: calc"], peer_calc),
                "baseline_over_peer_seed": _ratio(summary["baseline cli run cold: seed request"], peer_seed),
                "baseline_demo_happy_over_peer_seed": _ratio(
                    summary["baseline cli demo happy cold"], peer_seed
                ),
            }
        )
    return {
        "repeat": repeat,
        "rows": summary,
        "ratios": ratios,
        "baseline": str(baseline) if baseline else None,
    }


def markdown(data: dict[str, Any]) -> list[str]:
    """The README's table: one line per row, then the ratios."""
    lines = [
        f"Cold CLI against the LangGraph peer (fresh process each; median of {data['repeat']}, interleaved):",
        "",
        "| command | median (ms) | fastest (ms) | CPU, median (ms) | peak RSS (MB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, row in data["rows"].items():
        lines.append(
            f"| {label} | {row['median_ms']} | {row['min_ms']} | {row['cpu_ms']} | {row['peak_rss_mb']} |"
            + (f" ({row['failures']} failed)" if row["failures"] else "")
        )
    lines += [
        "",
        "Ratios (median over the peer's median): "
        + "; ".join(f"{name.replace('_', ' ')} {value}" for name, value in data["ratios"].items()),
    ]
    return lines


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.cold_cli", description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--baseline", type=Path, default=None, help="another checkout to measure side by side"
    )
    parser.add_argument("--json", action="store_true", help="print the result as one line of JSON only")
    args = parser.parse_args()
    result = measure(args.repeat, args.baseline)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
        print("\n".join(markdown(result)))
