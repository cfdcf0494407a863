"""The eval report links each scenario to its run page, written beside the report."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from chalicelib.config import reload_settings
from chalicelib.workflow.definition import load_definition
from cli.main import app

SCENARIOS = [
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
        "id": "cake",
        "category": "unsupported",
        "request": "Bake me a chocolate cake",
        "expect": {"status": "stopped", "stop_reason": "unsupported_request"},
    },
]


def test_each_scenario_links_to_its_own_run_page(mock_api, isolated_runtime, monkeypatch, tmp_path):
    monkeypatch.setenv("MAOO_MOCK_API_URL", mock_api.url)
    reload_settings()
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps({"scenarios": SCENARIOS}))

    result = CliRunner().invoke(app, ["eval", "--scenarios", str(path)])

    assert result.exit_code == 0, result.output
    traces = isolated_runtime / "traces"
    report = (traces / "eval_report.html").read_text()
    summary = json.loads((traces / "eval_summary.json").read_text())
    for scenario in summary["scenarios"]:
        run_id = json.loads((traces / f"{scenario['id']}.trace.json").read_text())["run"]["run_id"]
        href = f"runs/{run_id}.html"
        assert f'class="run-page" href="{href}"' in report
        page = (traces / href).read_text()
        assert run_id in page
        assert re.findall(r'data-state="([^"]+)" data-count', page) == list(load_definition()["States"])
    stopped = (
        traces / f"runs/{json.loads((traces / 'cake.trace.json').read_text())['run']['run_id']}.html"
    ).read_text()
    assert '<b id="stop-reason">unsupported_request</b>' in stopped
