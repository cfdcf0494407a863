"""The eval's reports: a JSON summary, a JUnit XML file and a self-contained HTML page.

``write_reports`` writes all three into the traces folder:

- ``eval_summary.json``: per scenario its result, failed checks, duration, retries and replans;
  totals (pass rate, known gaps) and the same per category;
- ``eval_junit.xml``: one ``testcase`` per scenario (classname ``eval.<category>``); a failed
  check, an error or an unexpected pass is a ``failure``; a known gap is ``skipped`` with its
  reason, so CI dashboards show it apart;
- ``eval_report.html``: one page, inline CSS, no script and no external asset. Per scenario: its
  result and checks, the path it took through the state machine (one line per loop, each
  ``Decide`` labelled with the decision taken), and the timeline of tool calls.
"""

from __future__ import annotations

import html
import json
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from eval.models import CATEGORIES
from eval.runner import EvalRun, ScenarioOutcome

SUMMARY_FILE = "eval_summary.json"
JUNIT_FILE = "eval_junit.xml"
HTML_FILE = "eval_report.html"
RESULTS = ("passed", "failed", "error", "known_gap", "unexpected_pass")
RESULT_LABELS = {
    "passed": "passed",
    "failed": "FAILED",
    "error": "ERROR",
    "known_gap": "known gap",
    "unexpected_pass": "UNEXPECTED PASS",
}


def _rate(met: int, total: int) -> float:
    return round(met / total, 4) if total else 0.0


def _met(outcome: ScenarioOutcome) -> bool:
    """Every expectation met (a known gap that now passes has met them too)."""
    return outcome.result in ("passed", "unexpected_pass")


def _totals(outcomes: list[ScenarioOutcome]) -> dict[str, Any]:
    counts: Counter[str] = Counter(o.result for o in outcomes)
    met = sum(1 for o in outcomes if _met(o))
    gaps = counts["known_gap"]
    return {
        "scenarios": len(outcomes),
        **{result: counts[result] for result in RESULTS},
        "pass_rate": _rate(met, len(outcomes)),
        "pass_rate_without_known_gaps": _rate(
            counts["passed"], len(outcomes) - gaps - counts["unexpected_pass"]
        ),
    }


def summarize(run: EvalRun) -> dict[str, Any]:
    """The summary document (what ``eval_summary.json`` holds)."""
    per_category = {}
    for category in CATEGORIES:
        members = [o for o in run.outcomes if o.category == category]
        if members:
            per_category[category] = _totals(members)
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "engine": run.engine,
        "workers": run.workers,
        "duration_s": run.duration_s,
        "ok": run.ok,
        "totals": _totals(run.outcomes),
        "per_category": per_category,
        "scenarios": [
            {
                "id": o.id,
                "category": o.category,
                "result": o.result,
                "request": o.scenario["request"],
                "status": (o.doc or {}).get("status"),
                "stop_reason": (o.doc or {}).get("stop_reason"),
                "failed_checks": [{"name": c["name"], "reason": c["reason"]} for c in o.failed_checks],
                "known_gap": o.known_gap,
                "error": o.error,
                "duration_ms": o.duration_ms,
                "tool_calls": o.counters.get("tool_calls", 0),
                "retries": o.counters.get("retries", 0),
                "replans": o.counters.get("replans", 0),
                "trace_file": o.trace_file,
            }
            for o in run.outcomes
        ],
    }


def write_summary(run: EvalRun, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summarize(run), indent=2) + "\n", encoding="utf-8")
    return path


def write_junit(run: EvalRun, path: Path) -> Path:
    totals = _totals(run.outcomes)
    suite = ET.Element(
        "testsuite",
        {
            "name": "maoo-eval",
            "tests": str(totals["scenarios"]),
            "failures": str(totals["failed"] + totals["unexpected_pass"]),
            "errors": str(totals["error"]),
            "skipped": str(totals["known_gap"]),
            "time": f"{run.duration_s:.3f}",
        },
    )
    for o in run.outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"eval.{o.category}", "name": o.id, "time": f"{o.duration_ms / 1000:.3f}"},
        )
        failed = "; ".join(f"{c['name']}: {c['reason']}" for c in o.failed_checks)
        if o.result == "failed":
            ET.SubElement(case, "failure", {"message": failed[:500], "type": "expectation"}).text = failed
        elif o.result == "error":
            ET.SubElement(case, "error", {"message": (o.error or "")[:500], "type": "run"}).text = o.error
        elif o.result == "unexpected_pass":
            message = f"known gap now passes; remove its known_gap marker ({o.known_gap})"
            ET.SubElement(case, "failure", {"message": message, "type": "unexpected_pass"}).text = message
        elif o.result == "known_gap":
            ET.SubElement(case, "skipped", {"message": f"known gap: {o.known_gap}"}).text = failed
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
    return path


# ---------------------------------------------------------------- HTML

_CSS = """
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2430;background:#f4f5f8}
main{max-width:1240px;margin:0 auto;padding:24px}h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}
.muted{color:#6b7280}.tiles{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.tile{background:#fff;border-radius:10px;padding:12px 16px;min-width:130px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.tile b{display:block;font-size:26px}.tile span{color:#6b7280;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;width:100%;background:#fff;border-radius:8px;overflow:hidden;box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{padding:6px 10px;text-align:left;vertical-align:top;border-bottom:1px solid #eceef2}th{background:#f0f1f5;font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:#4b5263}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}a{color:#2952cc;text-decoration:none}a:hover{text-decoration:underline}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.r-passed{background:#dcf5e3;color:#17603a}.r-failed{background:#fde0e0;color:#9b1c1c}.r-error{background:#9b1c1c;color:#fff}
.r-known_gap{background:#fdf0d2;color:#8a5300}.r-unexpected_pass{background:#ece1fb;color:#5b2a9e}
.bar{display:flex;height:10px;border-radius:5px;overflow:hidden;background:#e5e7eb;min-width:160px}
.bar i{display:block}.b-passed{background:#2f9e5b}.b-failed{background:#d64545}.b-error{background:#7f1d1d}.b-known_gap{background:#e3a008}.b-unexpected_pass{background:#8b5cf6}
details.sc{background:#fff;border-radius:10px;margin:10px 0;box-shadow:0 1px 2px rgba(0,0,0,.08);border-left:5px solid #cbd5e1}
details.sc.x-passed{border-left-color:#2f9e5b}details.sc.x-failed,details.sc.x-error{border-left-color:#d64545}
details.sc.x-known_gap{border-left-color:#e3a008}details.sc.x-unexpected_pass{border-left-color:#8b5cf6}
details.sc>summary{cursor:pointer;padding:10px 14px;display:flex;gap:10px;align-items:center;flex-wrap:wrap;list-style:none}
details.sc>summary::-webkit-details-marker{display:none}.sid{font-weight:700;font-family:ui-monospace,Menlo,Consolas,monospace}
.body{padding:0 16px 14px}.req{font-size:15px;margin:2px 0 8px}.gap{background:#fff8e6;border:1px solid #f3d38a;border-radius:6px;padding:6px 10px;margin:6px 0}
.err{background:#fde8e8;border:1px solid #f5b5b5;border-radius:6px;padding:6px 10px;margin:6px 0}
ul.checks{list-style:none;padding:0;margin:6px 0;columns:2;column-gap:24px}ul.checks li{break-inside:avoid;padding:1px 0}
.ok{color:#17803d;font-weight:700}.ko{color:#c81e1e;font-weight:700}
.path{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;background:#f8f9fb;border-radius:6px;padding:8px 10px}
.path div{margin:2px 0}.st{display:inline-block;padding:0 6px;border-radius:4px;background:#e8eaf0;margin:1px 0}
.st.call{background:#dbe7ff;color:#1d3f99;font-weight:600}.st.plan{background:#efe3ff;color:#5b2a9e}.st.wait{background:#fdecc8;color:#8a5300}
.st.end{background:#e2e8f0;color:#334155;font-weight:600}.st.fail{background:#fde0e0;color:#9b1c1c}.arrow{color:#9aa1ae;margin:0 3px}
.d-retry{color:#b45309;font-weight:700}.d-replan{color:#6d28d9;font-weight:700}.d-patch_args{color:#0369a1;font-weight:700}
.d-abort{color:#c81e1e;font-weight:700}.d-continue{color:#17803d}
table.tl td{font-size:13px}table.tl tr.f td{background:#fff6f6}pre{white-space:pre-wrap;word-break:break-word;background:#f8f9fb;border-radius:6px;padding:8px 10px;margin:6px 0;font-size:12.5px}
.args{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11px;color:#6b7280;word-break:break-all}.lbl{font-size:12px;text-transform:uppercase;color:#6b7280;letter-spacing:.04em;margin-top:10px}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _badge(result: str) -> str:
    return f'<span class="badge r-{result}">{_e(RESULT_LABELS.get(result, result))}</span>'


def _bar(totals: dict[str, Any]) -> str:
    total = totals["scenarios"] or 1
    parts = "".join(
        f'<i class="b-{r}" style="width:{100 * totals[r] / total:.2f}%" title="{_e(r)}: {totals[r]}"></i>'
        for r in RESULTS
        if totals[r]
    )
    return f'<div class="bar">{parts}</div>'


def _state_class(name: str) -> str:
    if name.startswith("Call"):
        return "st call"
    if name == "Plan":
        return "st plan"
    if name == "Backoff":
        return "st wait"
    if name in ("Finalize", "Done"):
        return "st end"
    if name in ("Unroutable", "UnknownDecision") or name.lower().startswith("fail"):
        return "st fail"
    return "st"


def state_path_html(states: list[str], steps: list[dict[str, Any]]) -> str:
    """The states entered, one line per loop; each ``Decide`` labelled with that call's decision."""
    if not states:
        return '<div class="path muted">no state entered (the execution did not start)</div>'
    lines: list[list[str]] = [[]]
    decisions = iter(steps)
    for name in states:
        label = _e(name)
        if name == "Decide":
            step = next(decisions, None)
            if step is not None:
                label += f' <span class="d-{_e(step["decision"])}">[{_e(step["decision"])}]</span>'
        if name == "NextStep" and lines[-1]:
            lines.append([])
        lines[-1].append(f'<span class="{_state_class(name)}">{label}</span>')
    arrow = '<span class="arrow">→</span>'
    return (
        '<div class="path">' + "".join(f"<div>{arrow.join(line)}</div>" for line in lines if line) + "</div>"
    )


def _args(args: Any, limit: int = 110) -> str:
    text = json.dumps(args, default=str) if args else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _timeline(steps: list[dict[str, Any]]) -> str:
    if not steps:
        return '<p class="muted">No tool was called.</p>'
    rows = []
    for index, s in enumerate(steps, 1):
        error = (s.get("error") or {}).get("message") if isinstance(s.get("error"), dict) else s.get("error")
        note = _e(error) if error else ""
        if s.get("reason") and s.get("decision") != "continue":
            note += ("<br>" if note else "") + f'<span class="muted">→ {_e(s["reason"])}</span>'
        wait = f"{s.get('wait_seconds', 0):g}s" if s.get("wait_seconds") else ""
        rows.append(
            f'<tr class="{"" if s.get("ok") else "f"}"><td class="num">{index}</td><td>{_e(s.get("step_id"))}</td>'
            f'<td><b>{_e(s.get("tool"))}</b><div class="args">{_e(_args(s.get("args")))}</div></td>'
            f'<td class="num">{_e(s.get("attempt"))}</td>'
            f"<td>{'✓' if s.get('ok') else '✗'} {_e(s.get('signal'))}</td>"
            f'<td><span class="d-{_e(s.get("decision"))}">{_e(s.get("decision"))}</span> {wait}</td>'
            f'<td class="num">{float(s.get("latency_ms") or 0):.0f}</td><td>{note}</td></tr>'
        )
    return (
        '<table class="tl"><tr><th class="num">#</th><th>step</th><th>tool (arguments)</th><th class="num">try</th><th>signal</th>'
        '<th>decision</th><th class="num">ms</th><th>error / reason</th></tr>' + "".join(rows) + "</table>"
    )


def _page_link(o: ScenarioOutcome) -> str:
    from eval.run_pages import page_href

    href = page_href(o)
    return f' · <a class="run-page" href="{_e(href)}">run page</a>' if href else ""


def _scenario_section(o: ScenarioOutcome) -> str:
    doc = o.doc or {}
    sc = o.scenario
    checks = "".join(
        f'<li><span class="{"ok" if c["passed"] else "ko"}">{"✓" if c["passed"] else "✗"}</span> '
        f"<b>{_e(c['name'])}</b>: {_e(c['reason'])}</li>"
        for c in o.checks
    )
    extras = []
    if o.known_gap:
        extras.append(f'<div class="gap"><b>Known gap:</b> {_e(o.known_gap)}</div>')
    if o.error:
        extras.append(f'<div class="err"><b>Error:</b> {_e(o.error)}</div>')
    armed = []
    if sc.get("faults"):
        armed.append(
            "faults: "
            + "; ".join(
                f"{r.get('method') or '*'} {r['path']} → {r['fault']}"
                f"{' ×' + str(r['count']) if r.get('count') else ' (always)'}"
                for r in sc["faults"]
            )
        )
    guards = {k: v for k, v in (sc.get("overrides") or {}).get("guards", {}).items() if v is not None}
    if guards:
        armed.append("guards: " + ", ".join(f"{k}={v}" for k, v in guards.items()))
    if (sc.get("overrides") or {}).get("env"):
        armed.append("env: " + ", ".join(f"{k}={v}" for k, v in sc["overrides"]["env"].items()))
    for prior in o.setup:
        armed.append(
            f"run before it: “{prior.get('request')}” → {prior.get('status')}"
            f"{' (' + str(prior.get('stop_reason')) + ')' if prior.get('stop_reason') else ''}"
        )
    c = doc.get("counters") or {}
    status = _e(doc.get("status", "-")) + (
        f" · {_e(doc.get('stop_reason'))}" if doc.get("stop_reason") else ""
    )
    return f"""
<details class="sc x-{o.result}" id="{_e(o.id)}"{" open" if o.result != "passed" else ""}>
<summary>{_badge(o.result)}<span class="sid">{_e(o.id)}</span><span class="muted">{_e(o.category)}</span>
<span>run: <b>{status}</b></span><span class="muted">{c.get("tool_calls", 0)} calls · {c.get("retries", 0)} retries · {c.get("replans", 0)} replans · {o.duration_ms:.0f} ms</span></summary>
<div class="body">
<div class="req">“{_e(sc["request"])}”</div>{f'<div class="muted">{_e(sc.get("description"))}</div>' if sc.get("description") else ""}
{"".join(f'<div class="muted">{_e(a)}</div>' for a in armed)}
{"".join(extras)}
<div class="lbl">Checks ({sum(1 for x in o.checks if x["passed"])}/{len(o.checks)} passed)</div><ul class="checks">{checks}</ul>
<div class="lbl">Path through the state machine</div>{state_path_html(doc.get("states") or [], doc.get("steps") or [])}
<div class="lbl">Tool calls</div>{_timeline(doc.get("steps") or [])}
<div class="lbl">Final output</div><pre>{_e(doc.get("final_output") or "(none)")}</pre>
<div class="muted">trace: {_e(o.trace_file)}{_page_link(o)}</div>
</div></details>"""


def render_html(run: EvalRun) -> str:
    summary = summarize(run)
    totals = summary["totals"]
    tiles = [
        ("pass rate", f"{100 * totals['pass_rate']:.1f}%"),
        ("scenarios", totals["scenarios"]),
        ("passed", totals["passed"]),
        ("failed", totals["failed"] + totals["error"]),
        ("known gaps", totals["known_gap"]),
        ("unexpected passes", totals["unexpected_pass"]),
        ("duration", f"{run.duration_s:.1f} s"),
    ]
    category_rows = "".join(
        f'<tr><td>{_e(name)}</td><td class="num">{t["scenarios"]}</td><td class="num">{t["passed"]}</td>'
        f'<td class="num">{t["failed"] + t["error"]}</td><td class="num">{t["known_gap"]}</td><td class="num">{t["unexpected_pass"]}</td>'
        f'<td class="num">{100 * t["pass_rate"]:.0f}%</td><td>{_bar(t)}</td></tr>'
        for name, t in summary["per_category"].items()
    )
    index_rows = "".join(
        f'<tr><td><a href="#{_e(o.id)}">{_e(o.id)}</a>{_page_link(o)}</td><td>{_e(o.category)}</td><td>{_badge(o.result)}</td>'
        f"<td>{_e((o.doc or {}).get('status', '-'))}{' · ' + _e((o.doc or {}).get('stop_reason')) if (o.doc or {}).get('stop_reason') else ''}</td>"
        f'<td class="num">{o.counters.get("tool_calls", 0)}</td><td class="num">{o.counters.get("retries", 0)}</td>'
        f'<td class="num">{o.counters.get("replans", 0)}</td><td class="num">{o.duration_ms:.0f}</td>'
        f"<td>{_e('; '.join(c['name'] for c in o.failed_checks))}</td></tr>"
        for o in run.outcomes
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>MAOO eval: {totals["passed"]}/{totals["scenarios"]} passed</title><style>{_CSS}</style></head>
<body><main>
<h1>MAOO evaluation</h1>
<div class="muted">{_e(summary["generated_at"])} · engine {_e(run.engine)} · {run.workers} worker(s) ·
result: <b>{"OK" if run.ok else "FAILING"}</b> (failed, errors and unexpected passes fail the eval; known gaps are listed apart)</div>
<div class="tiles">{"".join(f'<div class="tile"><b>{_e(v)}</b><span>{_e(k)}</span></div>' for k, v in tiles)}</div>
<h2>By category</h2>
<table><tr><th>category</th><th class="num">scenarios</th><th class="num">passed</th><th class="num">failed</th><th class="num">known gaps</th>
<th class="num">unexpected</th><th class="num">pass rate</th><th></th></tr>{category_rows}</table>
<h2>Scenarios</h2>
<table><tr><th>scenario</th><th>category</th><th>result</th><th>run</th><th class="num">calls</th><th class="num">retries</th>
<th class="num">replans</th><th class="num">ms</th><th>failed checks</th></tr>{index_rows}</table>
<h2>Details</h2>
{"".join(_scenario_section(o) for o in run.outcomes)}
</main></body></html>
"""


def write_html(run: EvalRun, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(run), encoding="utf-8")
    return path


def write_reports(run: EvalRun, traces_dir: Path) -> dict[str, Path]:
    """Write the summary, JUnit and HTML files into ``traces_dir``; returns their paths by kind."""
    from eval.run_pages import write_run_pages

    write_run_pages(run, traces_dir)  # the pages the report links to
    return {
        "summary": write_summary(run, traces_dir / SUMMARY_FILE),
        "junit": write_junit(run, traces_dir / JUNIT_FILE),
        "html": write_html(run, traces_dir / HTML_FILE),
    }
