"""One run page per scenario, beside the eval's HTML report (``runs/<run_id>.html``).

The report links each scenario to its page. The pages are the same self-contained HTML that
``GET /runs/{id}/view`` serves, made from each scenario's exported trace file.
"""

from __future__ import annotations

import json
from pathlib import Path

from eval.runner import EvalRun, ScenarioOutcome

PAGES_DIR = "runs"


def page_href(outcome: ScenarioOutcome) -> str | None:
    """The page's address relative to the report, or ``None`` when the scenario left no trace."""
    run_id = (outcome.doc or {}).get("run_id")
    return f"{PAGES_DIR}/{run_id}.html" if run_id and outcome.trace_file else None


def write_run_pages(run: EvalRun, report_dir: Path) -> list[Path]:
    """Write a page for every scenario whose trace file exists; returns the files written."""
    from chalicelib.viewer import render_trace

    written = []
    for outcome in run.outcomes:
        href = page_href(outcome)
        if href is None or not Path(str(outcome.trace_file)).is_file():
            continue
        trace = json.loads(Path(str(outcome.trace_file)).read_text(encoding="utf-8"))
        target = report_dir / href
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_trace(trace), encoding="utf-8")
        written.append(target)
    return written
