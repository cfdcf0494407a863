"""Text from users and tools is shown as text: Rich markup in a request, a tool's output or an error
is printed as typed by every view (``run``, ``runs``, ``show``), never read as markup.

Before, a request containing ``[/bold]`` made these views crash with a Rich ``MarkupError`` for as
long as that run was listed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.security.conftest import allowlisted_json_api

runner = CliRunner()
MARKUP_OUTPUT = {"note": "[/bold] closes nothing [link=file:///etc/passwd]click[/link] [red]alarm"}


def _answer(path: str) -> tuple[int, bytes]:
    if path.startswith("/markup"):
        return 200, json.dumps(MARKUP_OUTPUT).encode()
    return 404, json.dumps({"detail": "[/red] no such page [bold]"}).encode()


@pytest.fixture
def markup_api(maoo, monkeypatch) -> Iterator[str]:
    with allowlisted_json_api(monkeypatch, _answer) as url:
        yield url


def _flat(text: str) -> str:
    return "".join(text.split())


def test_run_runs_and_show_print_markup_from_the_request_and_the_tool_as_text(markup_api):
    request = f"Fetch {markup_api}/markup?tag=[/bold][red] and summarize it"

    ran = runner.invoke(app, ["run", "--request", request])
    listed = runner.invoke(app, ["runs"])
    run_id = json.loads(runner.invoke(app, ["run", "--request", request, "--json"]).stdout)["run_id"]
    shown = runner.invoke(app, ["show", run_id])

    for result in (ran, listed, shown):
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code in (0, 1), result.output
        assert "[/bold]" in result.output and "[red]" in result.output
    assert _flat("[link=file:///etc/passwd]") in _flat(ran.output)


def test_an_error_message_with_markup_is_shown_as_text(markup_api):
    ran = runner.invoke(app, ["run", "--request", f"Fetch {markup_api}/missing[/bold]"])

    assert ran.exit_code == 1, ran.output
    assert "[/bold]" in ran.output and "404" in ran.output
