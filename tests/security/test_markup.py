"""Text from users and tools is shown as text: Rich markup in a request, a tool's output or an error
is printed as typed by every view (``run``, ``runs``, ``show``), never read as markup.

Before, a request containing ``[/bold]`` made these views crash with a Rich ``MarkupError`` for as
long as that run was listed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from chalicelib.config import reload_settings
from cli.main import app

runner = CliRunner()
MARKUP_OUTPUT = {"note": "[/bold] closes nothing [link=file:///etc/passwd]click[/link] [red]alarm"}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        ok = self.path.startswith("/markup")
        body = json.dumps(MARKUP_OUTPUT if ok else {"detail": "[/red] no such page [bold]"}).encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def markup_api(maoo, monkeypatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("MAOO_HTTP_ALLOWLIST", url)
    reload_settings()
    yield url
    server.shutdown()
    server.server_close()


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
