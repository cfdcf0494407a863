"""The eval's files: a summary, JUnit XML and an HTML page a person can read, for every scenario."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html import escape as html_escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chalicelib.config import reload_settings
from chalicelib.trace_history import trace_history
from cli.main import app
from eval.models import load_scenarios, parse_scenarios
from eval.report import render_html, summarize, write_reports
from eval.runner import EvalRun, ScenarioOutcome, run_scenarios

RESULT_LABELS = {
    "passed": "passed",
    "failed": "FAILED",
    "error": "ERROR",
    "known_gap": "known gap",
    "unexpected_pass": "UNEXPECTED PASS",
}


def outcome(scenario, result: str) -> ScenarioOutcome:
    """A finished scenario as the runner reports it; the run document holds what a user sees."""
    failed = result in ("failed", "known_gap")
    steps = [
        {
            "step_id": "s1",
            "tool": "http_get",
            "args": {},
            "attempt": 1,
            "ok": False,
            "signal": "transient",
            "decision": "retry",
            "reason": "503 -> retry 1 of 2",
            "latency_ms": 12.0,
            "wait_seconds": 0.5,
            "error": {"message": "503"},
        },
        {
            "step_id": "s1",
            "tool": "http_get",
            "args": {},
            "attempt": 2,
            "ok": True,
            "signal": "ok",
            "decision": "continue",
            "reason": "",
            "latency_ms": 9.0,
            "wait_seconds": 0.0,
            "error": None,
        },
    ]
    doc = {
        "status": "succeeded",
        "stop_reason": None,
        "steps": steps,
        "final_output": "<b>4</b> items",
        "states": [
            "Perceive",
            "Plan",
            "PlanOK?",
            "NextStep",
            "Route",
            "CallHttpGet",
            "Observe",
            "Decide",
            "Backoff",
            "NextStep",
            "Route",
            "CallHttpGet",
            "Observe",
            "Decide",
            "NextStep",
            "Route",
            "Finalize",
            "Done",
        ],
        "counters": {"tool_calls": 2, "retries": 1, "replans": 0},
    }
    checks = [
        {"name": "status", "passed": True, "reason": "status is 'succeeded'"},
        {"name": "tools_sequence", "passed": not failed, "reason": "tools called ['http_get', 'http_get']"},
    ]
    return ScenarioOutcome(
        scenario=scenario.model_dump(mode="json"),
        result=result,
        checks=checks,
        duration_ms=120.0,
        doc=None if result == "error" else doc,
        error="BadRequestError: boom" if result == "error" else None,
        trace_file=f"runtime/traces/{scenario.id}.trace.json",
    )


@pytest.fixture
def every_scenario_run() -> EvalRun:
    """Every shipped scenario, with each of the five results given to some of them."""
    results = list(RESULT_LABELS)
    return EvalRun(
        [outcome(s, results[i % len(results)]) for i, s in enumerate(load_scenarios())], 12.5, "embedded", 1
    )


class _Page(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "link", "img", "iframe"):
            self.problems.append(f"<{tag}> in a self-contained page")
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.problems.append(f"external {name}={value}")
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:]}")
        else:
            self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_names_every_scenario_with_its_result_and_is_self_contained(every_scenario_run):
    page = _Page()
    page.feed(render_html(every_scenario_run))

    assert page.problems == [] and page.open == []
    text = " ".join(page.text)
    assert "<b>4</b> items" in text  # the final output is shown as text, never as markup
    html = render_html(every_scenario_run)
    for o in every_scenario_run.outcomes:
        section = re.search(
            rf'<details class="sc x-{o.result}" id="{re.escape(o.id)}"[^>]*>(.*?)</details>', html, re.S
        )
        assert section, f"no section for {o.id}"
        assert RESULT_LABELS[o.result] in section.group(1)
        assert html_escape(o.scenario["request"]) in section.group(1)
        if o.doc:
            assert 'Decide <span class="d-retry">[retry]</span>' in section.group(
                1
            )  # the path shows each decision
            assert "Backoff" in section.group(1) and "CallHttpGet" in section.group(1)


def test_summary_counts_results_and_pass_rates(every_scenario_run, tmp_path):
    files = write_reports(every_scenario_run, tmp_path)
    summary = json.loads(files["summary"].read_text())

    n = len(every_scenario_run.outcomes)
    totals = summary["totals"]
    assert totals["scenarios"] == n
    assert sum(totals[r] for r in RESULT_LABELS) == n
    assert totals["pass_rate"] == round((totals["passed"] + totals["unexpected_pass"]) / n, 4)
    assert totals["pass_rate_without_known_gaps"] == round(
        totals["passed"] / (n - totals["known_gap"] - totals["unexpected_pass"]), 4
    )
    assert summary["ok"] is False
    assert sum(c["scenarios"] for c in summary["per_category"].values()) == n
    first_failed = next(s for s in summary["scenarios"] if s["result"] == "failed")
    assert first_failed["failed_checks"] == [
        {"name": "tools_sequence", "reason": "tools called ['http_get', 'http_get']"}
    ]
    assert {"duration_ms", "retries", "replans"} <= set(first_failed)


def test_junit_reports_failures_errors_and_known_gaps_apart(every_scenario_run, tmp_path):
    files = write_reports(every_scenario_run, tmp_path)
    suite = ET.parse(files["junit"]).getroot()

    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {o.id for o in every_scenario_run.outcomes}
    for o in every_scenario_run.outcomes:
        children = [child.tag for child in cases[o.id]]
        expected = {
            "passed": [],
            "failed": ["failure"],
            "error": ["error"],
            "known_gap": ["skipped"],
            "unexpected_pass": ["failure"],
        }[o.result]
        assert children == expected, o.id
        assert cases[o.id].get("classname") == f"eval.{o.category}"
    counts = summarize(every_scenario_run)["totals"]
    assert suite.get("failures") == str(counts["failed"] + counts["unexpected_pass"])
    assert suite.get("skipped") == str(counts["known_gap"]) and suite.get("errors") == str(counts["error"])


SMALL = [
    {
        "id": "calc-42",
        "category": "happy_path",
        "request": "calculate 6 * 7",
        "expect": {
            "status": "succeeded",
            "tools_sequence": ["calc"],
            "final_output": {"numbers": [{"value": 42}]},
        },
    },
    {
        "id": "calc-wrong-answer",
        "category": "happy_path",
        "request": "calculate 6 * 7",
        "expect": {"status": "succeeded", "final_output": {"numbers": [{"value": 41}]}},
    },
    {
        "id": "cake-gap",
        "category": "unsupported",
        "request": "Bake me a chocolate cake",
        "expect": {"status": "succeeded"},
        "known_gap": "MAOO does not bake",
    },
    {
        "id": "cake-gap-fixed",
        "category": "unsupported",
        "request": "Bake me a chocolate cake",
        "expect": {"status": "stopped", "stop_reason": "unsupported_request"},
        "known_gap": "was fixed",
    },
]


def test_eval_command_runs_scores_and_writes_every_file(mock_api, isolated_runtime, monkeypatch, tmp_path):
    monkeypatch.setenv("MAOO_MOCK_API_URL", mock_api.url)
    reload_settings()
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps({"scenarios": SMALL}))

    traces = isolated_runtime / "traces"

    result = CliRunner().invoke(app, ["eval", "--scenarios", str(path), "--filter", "calc"])
    assert result.exit_code == 1, result.output  # calc-wrong-answer fails
    assert "FAILED" in result.output and "calc-wrong-answer" in result.output
    summary = json.loads((traces / "eval_summary.json").read_text())
    assert [(s["id"], s["result"]) for s in summary["scenarios"]] == [
        ("calc-42", "passed"),
        ("calc-wrong-answer", "failed"),
    ]
    assert summary["scenarios"][1]["failed_checks"] == [
        {"name": "final_output number 41±1e-06", "reason": "numbers in the output: [6.0, 7.0, 42.0]"}
    ]

    result = CliRunner().invoke(app, ["eval", "--scenarios", str(path), "--category", "unsupported"])
    assert result.exit_code == 1  # a known gap that passes must have its marker removed
    assert "UNEXPECTED PASS" in result.output and "known gaps 1" in result.output

    summary = json.loads((traces / "eval_summary.json").read_text())
    assert [(s["id"], s["result"]) for s in summary["scenarios"]] == [
        ("cake-gap", "known_gap"),
        ("cake-gap-fixed", "unexpected_pass"),
    ]
    trace = json.loads((traces / "cake-gap-fixed.trace.json").read_text())
    assert trace["scenario"]["id"] == "cake-gap-fixed" and all(s["passed"] for s in trace["scores"])
    assert trace["run"]["stop_reason"] == "unsupported_request" and trace_history(trace)
    assert ET.parse(traces / "eval_junit.xml").getroot().get("tests") == "2"
    assert "cake-gap-fixed" in (traces / "eval_report.html").read_text()


def test_eval_command_refuses_a_filter_that_matches_nothing():
    result = CliRunner().invoke(app, ["eval", "--filter", "no-such-scenario"])

    assert result.exit_code == 2 and "no scenario matches" in result.output


def test_parallel_workers_give_the_same_results_in_file_order(isolated_runtime):
    scenarios = parse_scenarios({"scenarios": SMALL})

    run = run_scenarios(scenarios, workers=2)

    assert [(o.id, o.result) for o in run.outcomes] == [
        ("calc-42", "passed"),
        ("calc-wrong-answer", "failed"),
        ("cake-gap", "known_gap"),
        ("cake-gap-fixed", "unexpected_pass"),
    ]
    assert all(Path(o.trace_file).is_file() for o in run.outcomes)
    assert {Path(o.trace_file).parent for o in run.outcomes} == {isolated_runtime / "traces"}
