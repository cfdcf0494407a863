"""Time limits that bound: a server that trickles its answer, and a query that builds a huge value.

Each hostile server here would, given the time, send a complete and valid answer. So a limit that
does not bound shows up as a step that *succeeds*; a limit that bounds shows up as a ``timeout``
naming the limit that was hit.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from chalicelib.config import reload_settings
from tests.security.conftest import call_tool

_BODY = b'{"status": "ok", "note": "' + b"slow " * 20 + b'"}'
_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n" % len(_BODY)
)


class TrickleServer:
    """A loopback server that sends a valid answer one byte per ``delay`` seconds.

    ``mode`` picks what trickles: ``headers`` (the status line and headers, then the body) or
    ``body`` (the head at once, then the body). Whole, the answer takes well over a minute.
    """

    def __init__(self, delay: float = 0.4) -> None:
        self.delay = delay
        self.mode = "headers"
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                slow = _HEAD + _BODY if self.mode == "headers" else _BODY
                if self.mode == "body":
                    conn.sendall(_HEAD)
                for byte in slow:
                    if self._stop.wait(self.delay):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return  # the client hung up: what a bounded client does

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


@pytest.fixture
def trickle(monkeypatch) -> Iterator[TrickleServer]:
    server = TrickleServer()
    monkeypatch.setenv("MAOO_HTTP_ALLOWLIST", server.url)
    monkeypatch.setenv("MAOO_HTTP_TIMEOUT_SECONDS", "1")
    reload_settings()
    yield server
    server.close()


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_trickled_answer_is_cut_off_at_the_call_limit_and_the_message_names_it(trickle, mode):
    trickle.mode = mode

    result = call_tool("http_get", {"url": f"{trickle.url}/data"})

    assert not result.ok and result.error is not None
    assert result.error.kind == "timeout"
    assert "within 1 s" in result.error.message and "MAOO_HTTP_TIMEOUT_SECONDS" in result.error.message


def test_run_against_a_trickling_server_ends_with_timeouts_not_with_its_answer(maoo, trickle, monkeypatch):
    monkeypatch.setenv("MAOO_HTTP_ALLOWLIST", f"{trickle.url},{maoo.url}")
    reload_settings()
    trickle.mode = "headers"

    doc = maoo.run(f"Fetch {trickle.url}/data and summarize it")

    calls = [s for s in doc["steps"] if s["tool"] == "http_get"]
    assert calls and {s["signal"] for s in calls} == {"timeout"}
    assert all("within 1 s" in s["error"]["message"] for s in calls)
    assert doc["status"] != "succeeded"
    assert trickle.connections == len(calls)


def test_printf_query_building_a_gigabyte_string_is_refused(maoo):
    sql = "SELECT count(printf('%.*c', 999999999, service)) FROM metrics"

    result = call_tool("db_query", {"sql": sql})

    assert not result.ok and result.error is not None
    assert result.error.kind == "policy_denied"
    assert result.error.details["rule"] in ("sql.size_limit", "sql.time_limit"), result.error.message


def test_printf_query_through_the_state_machine_stops_with_the_rule(maoo):
    doc = maoo.run("Run the SQL query: SELECT count(printf('%.*c', 999999999, service)) FROM metrics")

    assert (doc["status"], doc["stop_reason"]) == ("stopped", "policy_denied")
    assert "sql.size_limit" in doc["stop_detail"] or "sql.time_limit" in doc["stop_detail"]
    assert [s["tool"] for s in doc["steps"]] == ["db_query"]


def test_a_retry_wait_that_would_pass_the_deadline_is_not_scheduled(maoo, monkeypatch):
    monkeypatch.setenv("MAOO_BACKOFF_BASE_SECONDS", "30")
    monkeypatch.setenv("MAOO_BACKOFF_MAX_SECONDS", "30")
    reload_settings()

    doc = maoo.run(
        "Fetch mock data",
        faults=[{"path": "/data", "method": "GET", "fault": "http_503"}],
        deadline_seconds=5,
    )

    assert (doc["status"], doc["stop_reason"]) == ("stopped", "deadline")
    assert "Backoff" not in doc["states"]
    assert "deadline" in doc["stop_detail"]


def test_model_endpoint_that_trickles_its_answer_is_cut_off_at_the_llm_limit(trickle):
    from chalicelib.llm.client import ChatClient
    from chalicelib.llm.errors import LLMTimeoutError

    chat = ChatClient(f"{trickle.url}/v1", "sk-test", "scripted", timeout_seconds=1, max_retries=0)

    with pytest.raises(LLMTimeoutError) as raised:
        chat.complete_json(system="s", user="u", schema_name="x", schema={"type": "object"})

    assert "within 1 s" in str(raised.value)
    assert trickle.connections == 1
