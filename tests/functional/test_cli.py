"""The CLI as a user drives it: views, --json, exit codes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from chalicelib.tools.names import TOOL_NAMES
from cli.main import app

runner = CliRunner()
REQUIRED = {
    "run_id",
    "engine",
    "request",
    "status",
    "stop_reason",
    "perception",
    "plan",
    "steps",
    "final_output",
    "trace_file",
}


def test_run_json_prints_one_document_with_the_promised_fields(maoo):
    result = runner.invoke(
        app, ["run", "--request", "Fetch mock data, calculate 2 + 2, and summarize the result", "--json"]
    )

    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert REQUIRED <= set(doc)
    assert doc["engine"] == "embedded" and doc["status"] == "succeeded" and doc["stop_reason"] is None
    assert {"tool", "args", "attempt", "ok", "signal", "decision", "latency_ms"} <= set(doc["steps"][0])
    assert "4" in doc["final_output"]


def test_demo_views_show_the_five_views(maoo):
    result = runner.invoke(app, ["demo", "happy"])

    assert result.exit_code == 0
    for heading in ("User request", "Perceived intent", "Plan", "Execution log", "Final output"):
        assert heading in result.stdout
    assert "SUCCEEDED" in result.stdout


def test_stopped_run_exits_1(maoo):
    result = runner.invoke(app, ["run", "--request", "Bake me a cake", "--json"])

    assert result.exit_code == 1
    assert json.loads(result.stdout)["stop_reason"] == "unsupported_request"


def test_empty_request_exits_2_with_a_clear_message(maoo):
    result = runner.invoke(app, ["run", "--request", "  "])

    assert result.exit_code == 2
    assert "the request is empty" in result.output
    assert "Traceback" not in result.output


def test_unknown_demo_exits_2_and_names_the_choices(maoo):
    result = runner.invoke(app, ["demo", "fireworks"])

    assert result.exit_code == 2
    assert "happy, refinement, stop" in result.output


def test_show_replays_a_past_run_and_unknown_ids_exit_2(maoo):
    doc = json.loads(runner.invoke(app, ["run", "--request", "calculate 6 * 7", "--json"]).stdout)

    shown = runner.invoke(app, ["show", doc["run_id"], "--json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["final_output"] == doc["final_output"]
    listed = runner.invoke(app, ["runs"])
    assert doc["run_id"] in listed.stdout
    missing = runner.invoke(app, ["show", "run-nope"])
    assert missing.exit_code == 2 and "no run" in missing.output


def test_bad_setting_exits_2_naming_the_variable(maoo, monkeypatch):
    monkeypatch.setenv("MAOO_ENGINE", "kubernetes")

    result = runner.invoke(app, ["run", "--request", "calculate 1 + 1"])

    assert result.exit_code == 2
    assert "MAOO_ENGINE" in result.output and "embedded" in result.output


def test_tools_lists_every_tool_with_its_side_effect_class(maoo):
    result = runner.invoke(app, ["tools", "--json"])

    tools = {t["name"]: t for t in json.loads(result.stdout)}
    assert set(tools) == set(TOOL_NAMES)
    assert tools["http_post"]["side_effect"] == "write-idempotent" and tools["calc"]["side_effect"] == "read"
    assert tools["calc"]["args_schema"]["required"] == ["expression"]
