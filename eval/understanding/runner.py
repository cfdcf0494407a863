"""Running corpus entries through the real pipeline, as ``python -m cli run`` does.

One mock API and one embedded engine serve the whole corpus (a fresh runtime folder each time the
corpus is run). Before every request the mock API is reset (incidents opened by one request never
change what the next one sees) and the file sandbox is emptied. Requests run without long-term
memory, so each is judged on what it says alone.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from chalicelib.trace_history import trace_history
from eval.understanding.corpus import Entry
from eval.understanding.judge import Verdict, judge


def _final_results(doc: dict[str, Any]) -> dict[str, Any]:
    """The run's full results (step previews are cut short), from the last state output in its trace."""
    try:
        trace = json.loads(Path(doc["trace_file"]).read_text(encoding="utf-8"))
    except (KeyError, TypeError, OSError, ValueError):
        return {}
    for event in reversed(trace_history(trace)):
        for details in event.values():
            output = details.get("output") if isinstance(details, dict) else None
            if isinstance(output, str) and '"results"' in output:
                try:
                    results = json.loads(output).get("results")
                except ValueError:
                    continue
                if isinstance(results, dict):
                    return results
    return {}


def _outputs(doc: dict[str, Any]) -> str:
    """Every tool output of the run (large ones from the run store) and its final output, as text."""
    from chalicelib.memory.store import get_run_store

    parts: list[Any] = [doc.get("final_output") or "", _final_results(doc)]
    for step in doc.get("steps") or []:
        if not step.get("ok"):
            continue
        if step.get("output_ref"):
            try:
                parts.append(get_run_store().get_blob(step["output_ref"]))
                continue
            except Exception:  # an unreadable blob leaves the preview to judge by
                pass
        parts.append(step.get("output_preview"))
    return json.dumps(parts, default=str)


def run_entries(
    entries: Iterable[Entry], on_result: Callable[[Verdict], None] | None = None
) -> list[Verdict]:
    """Each entry's verdict, in order."""
    from chalicelib.config import get_settings, reload_settings
    from localrun.session import Session

    runtime = Path(tempfile.mkdtemp(prefix="maoo-understanding-"))
    saved = {k: os.environ.get(k) for k in ("MAOO_RUNTIME_DIR", "MAOO_BACKOFF_BASE_SECONDS")}
    os.environ.update({"MAOO_RUNTIME_DIR": str(runtime), "MAOO_BACKOFF_BASE_SECONDS": "0"})
    verdicts: list[Verdict] = []
    try:
        with Session() as session:
            files_dir = get_settings().files_dir
            for entry in entries:
                session.arm_faults([])
                shutil.rmtree(files_dir, ignore_errors=True)
                files_dir.mkdir(parents=True, exist_ok=True)
                try:
                    doc = session.run(entry.request, use_memory=False)
                    verdict = judge(entry, doc, _outputs(doc), files_dir, _final_results(doc))
                except Exception as exc:  # a run that cannot be made is wrong, and the corpus goes on
                    verdict = Verdict(
                        entry.id,
                        entry.category,
                        entry.request,
                        "error",
                        False,
                        False,
                        [f"the run could not be made: {type(exc).__name__}: {exc}"],
                    )
                verdicts.append(verdict)
                if on_result:
                    on_result(verdict)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reload_settings()
        shutil.rmtree(runtime, ignore_errors=True)
    return verdicts


def summary(verdicts: list[Verdict]) -> dict[str, Any]:
    """Right / total and false successes, per category and overall."""
    by_category: dict[str, dict[str, int]] = {}
    for v in verdicts:
        row = by_category.setdefault(v.category, {"right": 0, "total": 0, "false_successes": 0})
        row["total"] += 1
        row["right"] += v.right
        row["false_successes"] += v.false_success
    total = len(verdicts)
    right = sum(v.right for v in verdicts)
    return {
        "right": right,
        "total": total,
        "accuracy": round(100 * right / total, 1) if total else 0.0,
        "false_successes": sum(v.false_success for v in verdicts),
        "categories": by_category,
    }
