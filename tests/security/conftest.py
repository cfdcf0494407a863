"""Fixtures for the adversarial suites: a canary server that counts every connection, tool calls
made the way a tool Lambda receives them, and snapshots that show nothing changed on disk."""

from __future__ import annotations

import hashlib
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib.config import reload_settings
from chalicelib.contracts import ToolCall, ToolResult
from chalicelib.tools.invocation import run_tool
from tests.functional.conftest import maoo, mock_api  # noqa: F401  (the functional fixtures, for runs through the state machine)


class Canary:
    """A loopback TCP server that counts every connection it accepts, then answers as told.

    It counts connections, not parsed requests, so even a connection that never sends a request
    line is seen. ``mode`` picks the answer: ``json`` (200), ``redirect`` (302 to ``location``),
    ``big`` (a body over the HTTP tools' size limit), ``gzip`` (a compressed body) or ``silent``
    (never answers).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits = 0
        self.mode = "json"
        self.location = ""
        self.big_bytes = 0
        self.requests: list[bytes] = []
        self._release = threading.Event()
        canary = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 5

            def handle(self) -> None:
                with canary._lock:
                    canary._hits += 1
                head = b""
                try:
                    while not head.endswith(b"\r\n\r\n") and len(head) < 65536:
                        line = self.rfile.readline()
                        if not line:
                            break
                        head += line
                except OSError:
                    return
                canary.requests.append(head)
                if canary.mode == "silent":
                    canary._release.wait(10)
                    return
                self.wfile.write(canary._answer())

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"canary-{self.port}", daemon=True
        )
        self._thread.start()

    def _answer(self) -> bytes:
        headers = [b"Content-Type: application/json", b"Connection: close"]
        status, body = b"200 OK", b'{"canary": "reached"}'
        if self.mode == "redirect":
            status, body = b"302 Found", b"{}"
            headers.append(b"Location: " + self.location.encode())
        elif self.mode == "big":
            body = b'"' + b"x" * self.big_bytes + b'"'
        elif self.mode == "gzip":
            import gzip

            body = gzip.compress(body)
            headers.append(b"Content-Encoding: gzip")
        headers.append(b"Content-Length: %d" % len(body))
        return b"HTTP/1.1 " + status + b"\r\n" + b"\r\n".join(headers) + b"\r\n\r\n" + body

    @property
    def hits(self) -> int:
        with self._lock:
            return self._hits

    def reset(self) -> None:
        with self._lock:
            self._hits = 0
        self.mode, self.location, self.big_bytes = "json", "", 0
        self.requests.clear()

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="session")
def _canaries():
    first, second = Canary(), Canary()
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture
def canary(_canaries) -> Canary:
    """A canary on its own loopback port, with its count at zero."""
    _canaries[0].reset()
    return _canaries[0]


@pytest.fixture
def second_canary(_canaries) -> Canary:
    _canaries[1].reset()
    return _canaries[1]


def call_tool(
    tool: str, args: dict[str, Any], *, run_id: str = "run-security", step_id: str = "s1"
) -> ToolResult:
    """Call a tool exactly as its Lambda would be called (validation, run, failure as data)."""
    return run_tool(ToolCall(run_id=run_id, step_id=step_id, tool=tool, args=args))


def assert_denied(result: ToolResult, rule: str) -> None:
    """The result is a ``policy_denied`` failure naming ``rule``, with a message for the user."""
    assert not result.ok, f"expected a denial by {rule}, got output {result.output!r}"
    assert result.error is not None
    assert (result.error.kind, result.error.details.get("rule")) == ("policy_denied", rule), (
        result.error.message
    )
    assert result.error.message


def tree_snapshot(root: Path) -> dict[str, str]:
    """Every file (and symlink) under ``root`` with a digest of its content: equal snapshots, no write."""
    snapshot: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if path.is_symlink():
            snapshot[relative] = f"-> {path.readlink()}"
        elif path.is_file():
            snapshot[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return snapshot


@contextmanager
def allowlisted_json_api(
    monkeypatch: pytest.MonkeyPatch, answer: Callable[[str], tuple[int, bytes]]
) -> Iterator[str]:
    """A loopback JSON server, allowlisted for the run: ``answer(path)`` gives each GET's status and body."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            status, body = answer(self.path.split("?")[0])
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("MAOO_HTTP_ALLOWLIST", url)
    reload_settings()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
