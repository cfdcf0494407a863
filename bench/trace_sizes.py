"""Trace file sizes as a run grows: ``python -m bench.trace_sizes [--steps 20 40]``.

Runs ``calculate 1 + 1, calculate 2 + 2, ...`` with 20 and 40 steps through the embedded engine
(in a temporary runtime folder) and reports each trace file's size, the states entered, the
bytes per state entered and how much the trace grew from the shortest run to each longer one.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def request(steps: int) -> str:
    return ", ".join(f"calculate {i} + {i}" for i in range(1, steps + 1))


def measure(steps: tuple[int, ...] = (20, 40)) -> dict[str, Any]:
    """Run each size once (after a warm-up run) and read its trace file."""
    from chalicelib.config import reload_settings
    from localrun.session import Session

    saved = os.environ.get("MAOO_RUNTIME_DIR")
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="maoo-bench-traces-") as folder:
        os.environ["MAOO_RUNTIME_DIR"] = folder
        try:
            with Session() as session:
                session.run("calculate 1 + 1")
                for n in steps:
                    doc = session.run(request(n), {"max_steps": 2 * n, "budget": 100})
                    size = Path(doc["trace_file"]).stat().st_size
                    rows[f"{n}-step"] = {
                        "status": doc["status"],
                        "trace_bytes": size,
                        "states": len(doc["states"]),
                        "bytes_per_state": round(size / max(len(doc["states"]), 1)),
                    }
        finally:
            if saved is None:
                os.environ.pop("MAOO_RUNTIME_DIR", None)
            else:
                os.environ["MAOO_RUNTIME_DIR"] = saved
            reload_settings()
    first = rows[f"{steps[0]}-step"]["trace_bytes"]
    for row in rows.values():
        row["growth"] = round(row["trace_bytes"] / first, 2)
    return rows


def markdown(rows: dict[str, Any]) -> list[str]:
    lines = [
        "Trace file size (`python -m bench.trace_sizes`; each state document stored once, as what changed):",
        "",
        "| workload | states entered | trace (KB) | bytes per state entered | size against the shortest |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, row in rows.items():
        lines.append(
            f"| {label} | {row['states']} | {row['trace_bytes'] / 1024:.1f} | {row['bytes_per_state']} | "
            f"{row['growth']:.2f}x |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trace_sizes", description=__doc__)
    parser.add_argument("--steps", type=int, nargs="+", default=[20, 40])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("MAOO_BACKOFF_BASE_SECONDS", "0")
    rows = measure(tuple(args.steps))
    print(json.dumps(rows, indent=2) if args.json else "\n".join(markdown(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
