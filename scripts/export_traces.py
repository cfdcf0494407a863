"""Regenerate ``examples/traces/``: run the three demos and keep their exported traces.

python -m scripts.export_traces examples/traces      (or: make traces)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from cli.demos import DEMOS
from localrun.session import Session


def export(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    with Session() as session:
        for name, demo in DEMOS.items():
            session.arm_faults(demo.faults)
            doc = session.run(demo.request, demo.guards, use_memory=demo.use_memory)
            destination = target / f"{name}.trace.json"
            shutil.copyfile(doc["trace_file"], destination)
            written.append(destination)
            print(f"{name:<11} {doc['status']:<10} {doc['stop_reason'] or '-':<14} -> {destination}")
    return written


if __name__ == "__main__":
    export(Path(sys.argv[1] if len(sys.argv) > 1 else "examples/traces"))
