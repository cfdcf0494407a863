"""Hostile and unlucky input at the edges: the HTTP API and the CLI's settings.

Every case is answered with a clear error in the project's shape (HTTP ``{"error", "message"}``
with 400, 413, 415 or 503; CLI exit code 2), naming what was wrong and what is accepted. None is a
500, a traceback, or a run that quietly starts with a default in place of the bad value.
"""

from __future__ import annotations

import json

import pytest
from chalice.test import Client
from typer.testing import CliRunner

from cli.main import app as cli_app

SEED = "Fetch mock data, calculate 2 + 2, and summarize the result"


@pytest.fixture
def client(maoo):
    from app import app

    with Client(app, stage_name="local") as chalice_client:
        yield chalice_client


def _post(client, raw: str | bytes, content_type: str = "application/json"):
    return client.http.post("/runs", headers={"Content-Type": content_type}, body=raw)


def _assert_error(response, status: int, code: str, *needles: str) -> None:
    assert response.status_code == status, response.body
    body = json.loads(response.body)
    assert set(body) >= {"error", "message"} and body["error"] == code, body
    for needle in needles:
        assert needle in body["message"], body["message"]


def _runs_listed(client) -> list:
    return json.loads(client.http.get("/runs").body)["runs"]


@pytest.mark.parametrize(
    "raw, needles",
    [
        ('{"request": "calculate 1 + 1", "guards": {"budget": Infinity}}', ["Infinity", "not a JSON number"]),
        ('{"request": "calculate 1 + 1", "guards": {"budget": NaN}}', ["NaN"]),
        (
            '{"request": "calculate 1 + 1", "guards": {"budget": 1e999}}',
            ["guards.budget", "greater than 0 and at most 10000"],
        ),
        ('{"request": "calculate 1 + 1", "guards": {"budget": 0}}', ["guards.budget", "greater than 0"]),
        (
            '{"request": "calculate 1 + 1", "guards": {"max_steps": -5}}',
            ["guards.max_steps", "whole number from 1 to 200"],
        ),
        (
            '{"request": "calculate 1 + 1", "guards": {"max_steps": 2.5}}',
            ["guards.max_steps", "whole number"],
        ),
        (
            '{"request": "calculate 1 + 1", "guards": {"max_steps": true}}',
            ["guards.max_steps", "not a number"],
        ),
        (
            '{"request": "calculate 1 + 1", "guards": {"deadline_seconds": 100000}}',
            ["guards.deadline_seconds", "840"],
        ),
        ('{"request": "calculate 1 + 1", "guards": [1]}', ["guards"]),
        ('{"request": 5}', ["request"]),
        ('{"request": "calculate 1 + 1", "wait": [1]}', ["wait"]),
        ('{"request": "calculate 1 + 1", "colour": "red"}', ["colour", "accepted fields"]),
        ("[" * 30_000 + "]" * 30_000, ["nested too deeply"]),
        ('{"request": ' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + "}", ["nested too deeply"]),
        (b'{"request": "\xff\xfe"}', ["not JSON"]),
    ],
)
def test_hostile_body_is_a_400_naming_what_is_wrong_and_no_run_starts(client, raw, needles):
    response = _post(client, raw)

    _assert_error(response, 400, "bad_request", *needles)
    assert _runs_listed(client) == []


def test_huge_body_is_a_413(client):
    response = _post(client, json.dumps({"request": "calculate 1 + 1", "pad": "x" * 200_000}))

    _assert_error(response, 413, "payload_too_large", "at most 65536")


@pytest.mark.parametrize("limit", ["%C2%B2", "%D9%A3", "0", "501", "-1", "1e3", "abc"])
def test_list_limit_that_is_not_ascii_digits_in_range_is_a_400(client, limit):
    response = client.http.get(f"/runs?limit={limit}")

    _assert_error(response, 400, "bad_request", "limit", "whole number from 1 to 500")


def test_what_chalice_rejects_itself_comes_back_in_the_project_shape(client):
    _assert_error(
        _post(client, "request=x", content_type="text/plain"),
        415,
        "unsupported_media_type",
        "application/json",
    )
    _assert_error(client.http.delete("/runs"), 405, "method_not_allowed", "DELETE")


def test_request_with_markup_and_a_valid_body_still_runs(client):
    response = _post(client, json.dumps({"request": "calculate 2 + 2 [/bold] [red]"}))

    assert response.status_code == 200
    assert json.loads(response.body)["request"] == "calculate 2 + 2 [/bold] [red]"


def test_ops_api_run_without_a_mock_api_url_is_refused_with_how_to_start_it(isolated_runtime):
    from app import app

    with Client(app, stage_name="local") as bare:
        response = _post(bare, json.dumps({"request": SEED}))
        calc = _post(bare, json.dumps({"request": "calculate 2 + 2"}))

    _assert_error(response, 503, "mock_api_not_configured", "MAOO_MOCK_API_URL", "python -m mock_api.server")
    assert calc.status_code == 200 and json.loads(calc.body)["status"] == "succeeded"


# ---------------------------------------------------------------- settings through the CLI

runner = CliRunner()


@pytest.mark.parametrize(
    "variable, value, needles",
    [
        ("MAOO_BUDGET", "inf", ["MAOO_BUDGET", "'inf'", "greater than 0 and at most 10000"]),
        ("MAOO_BUDGET", "nan", ["MAOO_BUDGET", "'nan'"]),
        ("MAOO_MAX_STEPS", "-1", ["MAOO_MAX_STEPS", "'-1'", "from 1 to 200"]),
        ("MAOO_HTTP_TIMEOUT_SECONDS", "inf", ["MAOO_HTTP_TIMEOUT_SECONDS", "from 0.05 to 12"]),
    ],
)
def test_setting_outside_its_range_is_exit_2_naming_the_variable(maoo, monkeypatch, variable, value, needles):
    monkeypatch.setenv(variable, value)

    result = runner.invoke(cli_app, ["run", "--request", "calculate 2 + 2", "--json"])

    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    for needle in needles:
        assert needle in text
    assert "Traceback" not in result.output


@pytest.mark.parametrize("make", ["file", "proc"])
def test_runtime_folder_that_cannot_be_written_is_exit_2_naming_the_variable(
    maoo, monkeypatch, tmp_path, make
):
    if make == "file":
        target = tmp_path / "a-file"
        target.write_text("not a folder")
    else:
        target = "/proc/maoo-runtime"
    monkeypatch.setenv("MAOO_RUNTIME_DIR", str(target))

    result = runner.invoke(cli_app, ["run", "--request", "calculate 2 + 2"])

    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "MAOO_RUNTIME_DIR" in text and "Traceback" not in result.output
