"""A malformed scenario is a clear error naming the scenario and the field."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from eval.models import ScenarioFileError, load_scenarios, parse_scenarios, select


def scenario(**changes):
    base = {
        "id": "calc-ok",
        "category": "happy_path",
        "request": "calculate 6 * 7",
        "expect": {"status": "succeeded", "tools_sequence": ["calc"]},
    }
    base.update(changes)
    return base


def error_for(items) -> str:
    with pytest.raises(ScenarioFileError) as caught:
        parse_scenarios({"scenarios": items})
    return str(caught.value)


def test_a_misspelt_expectation_names_the_scenario_and_the_field():
    message = error_for(
        [scenario(), scenario(id="typo", expect={"status": "stopped", "stop_reson": "budget"})]
    )

    assert "scenario 'typo' (index 1)" in message
    assert "expect.stop_reson: Extra inputs are not permitted" in message
    assert "calc-ok" not in message


def test_a_scenario_without_an_id_is_named_by_its_index():
    bad = scenario()
    del bad["id"]

    message = error_for([scenario(), bad])

    assert "scenario at index 1" in message and "id: Field required" in message


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"category": "happy"}, "category"),
        ({"expect": {"status": "done"}}, "expect.status"),
        ({"expect": {"status": "succeeded", "tools_sequence": ["shell"]}}, "expect.tools_sequence.0"),
        ({"expect": {"status": "succeeded", "decisions": ["give_up"]}}, "expect.decisions.0"),
        (
            {"expect": {"status": "succeeded", "final_output": {"numbers": [{"value": 4, "tolerance": -1}]}}},
            "expect.final_output.numbers.0.tolerance",
        ),
        ({"faults": [{"path": "/data", "fault": "http_999"}]}, "faults.0.fault"),
        ({"faults": [{"path": "/data", "fault": "http_500", "params": {"retry_after": 1}}]}, "faults.0"),
        ({"overrides": {"guards": {"max_stepz": 3}}}, "overrides.guards.max_stepz"),
        ({"overrides": {"env": {"HOME": "/tmp"}}}, "overrides.env"),
        ({"overrides": {"env": {"MAOO_RUNTIME_DIR": "/tmp"}}}, "overrides.env"),
        ({"setup": [{"request": "calculate 1 + 1", "guard": {}}]}, "setup.0.guard"),
        ({"known_gap": ""}, "known_gap"),
    ],
)
def test_each_bad_field_is_named(changes, field):
    message = error_for([scenario(**changes)])

    assert "scenario 'calc-ok' (index 0)" in message or "scenario at index 0" in message
    assert f"{field}:" in message


def test_a_repeated_id_is_refused():
    message = error_for([scenario(), scenario()])

    assert "scenario 'calc-ok' (index 1): id repeats the scenario at index 0" in message


def test_a_file_that_is_not_json_names_the_line(tmp_path):
    path = tmp_path / "scenarios.json"
    path.write_text('{"scenarios": [\n  {"id": "x",}\n]}')

    with pytest.raises(ScenarioFileError, match=r"not valid JSON: .* line 2"):
        load_scenarios(path)


def test_an_unknown_category_filter_lists_the_categories():
    with pytest.raises(ScenarioFileError, match="unknown category 'happy'; use one of: happy_path"):
        select(load_scenarios(), category="happy")


def test_the_eval_command_reports_a_bad_scenario_file_with_exit_code_2(tmp_path):
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps({"scenarios": [scenario(expect={"status": "succeeded", "tool": ["calc"]})]}))

    result = CliRunner().invoke(app, ["eval", "--scenarios", str(path)])

    assert result.exit_code == 2
    assert "calc-ok" in result.output and "expect.tool" in result.output
