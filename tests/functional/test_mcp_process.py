"""``python -m cli mcp`` as a real process: an MCP client over stdio, raw JSON-RPC lines, and the
streamable HTTP transport on loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import requests
from mcp import Client, StdioServerParameters

from tests.async_runs import run_async

pytestmark = pytest.mark.functional

ROOT = Path(__file__).resolve().parents[2]
WRITE_REQUEST = "Open an incident for the checkout service with severity high"


def _env(runtime: Path) -> dict[str, str]:
    """What the server process gets: a client passes only the variables it is given (and a few of its own)."""
    return {
        "PYTHONPATH": str(ROOT),
        "MAOO_RUNTIME_DIR": str(runtime),
        "MAOO_BACKOFF_BASE_SECONDS": "0",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def _stdio(runtime: Path) -> StdioServerParameters:
    return StdioServerParameters(
        # the longest wait: these runs take about a second, and must not answer `running` on a slow machine
        command=sys.executable,
        args=["-m", "cli", "mcp", "--wait-seconds", "50"],
        env=_env(runtime),
        cwd=str(ROOT),
    )


def _answer(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return result.structured_content


def _mock_url(command: str) -> str:
    """The server's in-process mock API, as its approve command names it."""
    return re.search(r"MAOO_MOCK_API_URL=(\S+)", command).group(1)


def test_a_client_over_stdio_runs_reads_holds_a_write_lists_runs_and_reads_a_bad_input(tmp_path):
    async def session():
        async with Client(_stdio(tmp_path / "runtime")) as client:
            read = _answer(await client.call_tool("run_request", {"request": "calculate 2 + 2"}))
            held = _answer(await client.call_tool("run_request", {"request": WRITE_REQUEST}))
            side_effects = requests.get(
                f"{_mock_url(held['waiting_for']['approve_command'])}/_admin/side-effects", timeout=5
            ).json()["side_effects"]
            listed = _answer(await client.call_tool("list_runs", {}))
            bad = await client.call_tool(
                "run_request", {"request": "calculate 1 + 1", "guards": {"budget": -1}}
            )
            return read, held, side_effects, listed, bad

    read, held, side_effects, listed, bad = run_async(session)

    assert read["status"] == "succeeded" and "4" in read["answer"]
    assert held["status"] == "awaiting_approval" and held["waiting_for"]["tool"] == "http_post"
    assert side_effects == []  # nothing is written before a person approves
    assert [(r["run_id"], r["status"]) for r in listed["runs"]] == [
        (held["run_id"], "awaiting_approval"),
        (read["run_id"], "succeeded"),
    ]
    assert bad.is_error and "guards.budget=-1.0 is not accepted" in bad.content[0].text


def _shell(command: str) -> subprocess.CompletedProcess:
    """``command`` as a person pastes it into a shell in the project folder, where `python` is this interpreter."""
    venv_bin = str(Path(sys.executable).parent)
    return subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_approve_command_a_held_run_names_works_while_the_server_runs(tmp_path):
    """A person runs the command exactly as shown; the write happens once, and the client sees the run end."""
    runtime = tmp_path / "runtime"
    # a run held by the CLI before the server started: planned against the CLI's own mock API
    earlier = _shell(
        f"MAOO_RUNTIME_DIR={runtime} POWERTOOLS_TRACE_DISABLED=true "
        f"python -m cli run --request '{WRITE_REQUEST}' --approve writes --json"
    )
    assert earlier.returncode == 3, earlier.stderr[-2000:]
    earlier_id = json.loads(earlier.stdout)["run_id"]

    async def session():
        async with Client(_stdio(runtime)) as client:
            held = _answer(await client.call_tool("run_request", {"request": WRITE_REQUEST}))
            command = held["waiting_for"]["approve_command"]
            done = await anyio.to_thread.run_sync(_shell, command)
            after = _answer(await client.call_tool("get_run", {"run_id": held["run_id"]}))
            side_effects = requests.get(f"{_mock_url(command)}/_admin/side-effects", timeout=5).json()
            other = _answer(await client.call_tool("get_run", {"run_id": earlier_id}))["waiting_for"]
            other_done = await anyio.to_thread.run_sync(_shell, other["approve_command"])
            other_after = _answer(await client.call_tool("get_run", {"run_id": earlier_id}))
            return done, after, side_effects["side_effects"], other, other_done, other_after

    done, after, side_effects, other, other_done, other_after = run_async(session)

    assert done.returncode == 0, done.stderr[-2000:]
    assert after["status"] == "succeeded" and after["waiting_for"] is None
    assert len(side_effects) == 1 and side_effects[0]["object"]["service"] == "checkout"
    assert side_effects[0]["idempotency_key"].startswith(f"{after['run_id']}:s1:")  # the held step's key
    # the CLI's run is approved against the mock API it was planned against, which the CLI serves again
    assert "MAOO_MOCK_API_URL" not in other["approve_command"]
    assert other_done.returncode == 0, other_done.stderr[-2000:]
    assert other_after["status"] == "succeeded"


@pytest.fixture
def raw_server(tmp_path) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "mcp"],
        cwd=ROOT,
        env={**os.environ, **_env(tmp_path / "runtime")},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(10)


def test_a_malformed_message_does_not_stop_the_server(raw_server):
    def send(message: Any) -> None:
        raw_server.stdin.write((message if isinstance(message, str) else json.dumps(message)) + "\n")
        raw_server.stdin.flush()

    def answer() -> dict[str, Any]:
        return json.loads(raw_server.stdout.readline())

    client = {"name": "test", "version": "0"}
    send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
          "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": client}})  # fmt: skip
    assert answer()["result"]["serverInfo"]["name"] == "maoo"
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send("this is not JSON {")
    send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": 5}})
    assert answer()["error"]["code"] == -32602
    send({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_run", "arguments": {}}})
    refused = answer()["result"]
    assert refused["isError"] and "run_id: Field required" in refused["content"][0]["text"]
    send({"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
    assert {tool["name"] for tool in answer()["result"]["tools"]} >= {"run_request", "get_run"}
    raw_server.stdin.close()
    assert raw_server.wait(30) == 0
    assert "Traceback" not in raw_server.stderr.read()


@pytest.fixture(scope="module")
def http_server(tmp_path_factory) -> Iterator[str]:
    """One server for the module's HTTP tests (each start costs about 2 s of imports)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "mcp", "--http", "--port", "0", "--wait-seconds", "50"],
        cwd=ROOT,
        env={**os.environ, **_env(tmp_path_factory.mktemp("mcp-http") / "runtime")},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stderr.readline()
        found = re.search(r"on (http://127\.0\.0\.1:\d+/mcp);", line)
        assert found, f"no address in {line!r}"
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(10)


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"},
    },
}


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Host": "evil.example"}, 421),
        ({"Host": "127.0.0.1:1"}, 421),  # loopback, but not this server's address
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "http://localhost.evil.example"}, 403),
    ],
)
def test_http_refuses_another_host_or_origin(http_server, headers, status):
    accept = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

    refused = requests.post(http_server, json=INITIALIZE, headers={**accept, **headers}, timeout=10)
    served = requests.post(http_server, json=INITIALIZE, headers=accept, timeout=10)

    assert refused.status_code == status
    assert served.status_code == 200 and '"serverInfo"' in served.text


def test_a_malformed_message_over_http_is_a_json_rpc_error_and_the_server_goes_on(http_server):
    accept = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

    garbled = requests.post(http_server, data="not JSON {", headers=accept, timeout=10)
    served = requests.post(http_server, json=INITIALIZE, headers=accept, timeout=10)

    assert garbled.status_code == 400 and garbled.json()["error"]["code"] == -32700
    assert served.status_code == 200 and '"serverInfo"' in served.text


def test_a_client_over_http_runs_a_request_with_progress(http_server):
    async def session():
        progress: list[str] = []

        async def on_progress(_value, _total, message):
            progress.append(message)

        async with Client(http_server) as client:
            result = await client.call_tool(
                "run_request", {"request": "calculate 2 + 2"}, progress_callback=on_progress
            )
            return _answer(result), progress

    answer, progress = run_async(session)

    assert answer["status"] == "succeeded" and "4" in answer["answer"]
    assert "NextStep: calling calc (step s1, attempt 1)" in progress


def test_the_http_server_listens_on_loopback_only(http_server):
    port = int(re.search(r":(\d+)/mcp", http_server).group(1))
    listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
    if listening.returncode != 0:
        pytest.skip("ss is not available")

    assert listening.stdout.strip() and all("127.0.0.1:" in line for line in listening.stdout.splitlines())


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--port", "9000"], "--port applies only with --http"),
        (["--api-url", "ftp://x"], "is not an http(s) URL"),
        (["--wait-seconds", "90"], "--wait-seconds"),
        (["--http", "--port", "TAKEN"], "choose another --port"),
    ],
)
def test_bad_options_exit_2_saying_what_is_accepted(tmp_path, args, needle):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        done = subprocess.run(
            [sys.executable, "-m", "cli", "mcp", *[port if a == "TAKEN" else a for a in args]],
            cwd=ROOT,
            env={**os.environ, **_env(tmp_path / "runtime")},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert done.returncode == 2 and needle in done.stderr and "Traceback" not in done.stderr
