"""The MCP server's tools and resources, through the SDK's in-memory client, on the embedded engine."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from chalicelib.api import RunService
from chalicelib.trace_history import trace_history
from embedded_engine import open_embedded_runner
from mcp_server.answers import McpOptions
from mcp_server.server import build_server
from tests.async_runs import run_async

pytestmark = pytest.mark.functional

READ_REQUEST = "Fetch mock data, calculate 2 + 2, and summarize the result"
WRITE_REQUEST = "Open an incident for the checkout service with severity high"


def _handlers() -> dict[str, Any]:
    from app import app

    return app.handler_map


class Mcp:
    """One MCP server over a fresh run service; each call is a new in-memory client session."""

    def __init__(self, options: McpOptions) -> None:
        self.server = build_server(RunService(_handlers, embedded=open_embedded_runner), options)

    def session(self, work):
        async def go():
            async with Client(self.server) as client:
                return await work(client)

        return run_async(go)

    def call(self, tool: str, arguments: dict[str, Any], progress: list[str] | None = None):
        async def on_progress(_value, _total, message):
            if progress is not None:
                progress.append(message)

        return self.session(lambda client: client.call_tool(tool, arguments, progress_callback=on_progress))

    def ok(self, tool: str, arguments: dict[str, Any], **kw: Any) -> dict[str, Any]:
        result = self.call(tool, arguments, **kw)
        assert not result.is_error, result.content[0].text
        assert result.structured_content is not None
        return result.structured_content

    def error(self, tool: str, arguments: dict[str, Any]) -> str:
        result = self.call(tool, arguments)
        assert result.is_error, result.structured_content
        return result.content[0].text


@pytest.fixture
def mcp(maoo):
    # the longest wait: these runs take well under a second, and must not answer `running` on a slow machine
    return Mcp(McpOptions(wait_seconds=50))


def test_the_tools_carry_schemas_and_read_only_annotations_and_none_approves(mcp):
    listed = mcp.session(lambda client: client.list_tools()).tools

    tools = {tool.name: tool for tool in listed}
    assert set(tools) == {"run_request", "get_run", "list_runs", "list_tools"}
    assert tools["run_request"].input_schema["required"] == ["request"]
    assert {"guards", "idempotency_key"} <= set(tools["run_request"].input_schema["properties"])
    assert "approve" not in json.dumps(tools["run_request"].input_schema).lower().replace("approval", "")
    assert tools["run_request"].annotations.read_only_hint is False
    assert all(tools[name].annotations.read_only_hint for name in ("get_run", "list_runs", "list_tools"))
    assert "status" in tools["get_run"].output_schema["properties"]
    assert "No tool here approves" in mcp.server.instructions


def test_a_read_request_answers_its_run_with_progress_while_it_executes(mcp, maoo):
    progress: list[str] = []

    answer = mcp.ok("run_request", {"request": READ_REQUEST}, progress=progress)

    assert answer["status"] == "succeeded" and "2 + 2 = 4" in answer["answer"]
    assert [step["tool"] for step in answer["steps"]] == ["http_get", "calc", "summarize"]
    assert "NextStep: calling http_get (step s1, attempt 1)" in progress
    assert progress[0] == "Runner: start" and progress[-1] == "Finalize: the run ended succeeded"
    again = mcp.ok("get_run", {"run_id": answer["run_id"]})
    assert (again["status"], again["answer"]) == ("succeeded", answer["answer"])


def test_a_write_waits_for_a_person_and_nothing_is_written(mcp, maoo):
    answer = mcp.ok("run_request", {"request": WRITE_REQUEST})

    assert answer["status"] == "awaiting_approval"
    held = answer["waiting_for"]
    assert held["tool"] == "http_post" and held["writes"]["url"].endswith("/incidents")
    assert held["approve_command"].endswith(f"python -m cli approve {answer['run_id']}")
    assert "You cannot approve it" in answer["next"] and held["run_page"] is None
    assert maoo.side_effects() == []
    seen = mcp.ok("get_run", {"run_id": answer["run_id"]})
    assert seen["status"] == "awaiting_approval" and seen["waiting_for"] == held


def test_a_file_write_after_a_read_waits_and_no_file_is_written(mcp, isolated_runtime):
    answer = mcp.ok(
        "run_request", {"request": "List open incidents for checkout and save them to incidents.md"}
    )

    assert answer["status"] == "awaiting_approval" and [s["tool"] for s in answer["steps"]] == ["http_get"]
    held = answer["waiting_for"]
    assert (held["tool"], held["writes"]["path"]) == ("file_write", "incidents.md")
    assert "checkout" in held["writes"]["content"]
    assert not (isolated_runtime / "files" / "incidents.md").exists()


def test_the_run_page_is_named_when_the_operator_gives_the_api_url(maoo):
    mcp = Mcp(McpOptions(wait_seconds=50, api_url="http://127.0.0.1:8000"))

    held = mcp.ok("run_request", {"request": WRITE_REQUEST})["waiting_for"]

    assert held["run_page"].startswith("http://127.0.0.1:8000/runs/run-") and held["run_page"].endswith(
        "/view"
    )


def test_a_client_cannot_choose_its_own_approval_policy(mcp, maoo):
    message = mcp.error("run_request", {"request": WRITE_REQUEST, "approve": "none"})

    assert "does not take approve" in message and "accepted arguments: request" in message
    assert maoo.side_effects() == [] and mcp.ok("list_runs", {})["runs"] == []


def test_an_operator_flag_lets_writes_run_and_the_server_says_so(maoo):
    mcp = Mcp(McpOptions(wait_seconds=50, allow_writes=True))

    answer = mcp.ok("run_request", {"request": WRITE_REQUEST})

    assert answer["status"] == "succeeded" and len(maoo.side_effects()) == 1
    assert "--allow-writes" in mcp.server.instructions
    tools = {tool["name"]: tool for tool in mcp.ok("list_tools", {})["tools"]}
    assert tools["http_post"]["held_for_approval"] is False


def test_with_writes_allowed_the_servers_own_approval_setting_still_holds_them(maoo, monkeypatch):
    from chalicelib.config import reload_settings

    monkeypatch.setenv("MAOO_APPROVAL", "writes")
    reload_settings()
    mcp = Mcp(McpOptions(wait_seconds=50, allow_writes=True))

    answer = mcp.ok("run_request", {"request": WRITE_REQUEST})

    assert answer["status"] == "awaiting_approval" and maoo.side_effects() == []
    assert "No tool here approves" in mcp.server.instructions


def test_list_tools_gives_each_tool_its_side_effect_class_and_whether_it_is_held(mcp):
    tools = {tool["name"]: tool for tool in mcp.ok("list_tools", {})["tools"]}

    assert tools["http_get"]["side_effect"] == "read" and tools["http_get"]["held_for_approval"] is False
    assert tools["http_post"]["side_effect"] == "write-idempotent" and tools["http_post"]["held_for_approval"]
    assert tools["file_write"]["held_for_approval"] and "properties" in tools["calc"]["args_schema"]


@pytest.mark.parametrize(
    "options, asked",
    [(McpOptions(wait_seconds=0.5), {}), (McpOptions(), {"wait_seconds": 0})],
    ids=["the server's wait", "the client's shorter wait"],
)
def test_a_run_longer_than_the_wait_answers_running_and_get_run_follows_it(
    maoo, engine, monkeypatch, options, asked
):
    release = threading.Event()
    calc = engine.handlers["tool_calc"]

    def held_calc(event, context):
        assert release.wait(60), "the test never released the calc step"
        return calc(event, context)

    monkeypatch.setitem(engine.handlers, "tool_calc", held_calc)
    mcp = Mcp(options)

    answer = mcp.ok("run_request", {"request": "calculate 6 * 7", **asked})

    assert answer["status"] == "running" and "call get_run" in answer["next"]
    release.set()
    for _ in range(2400):  # bounded polling (2 min at most): a few rounds normally
        seen = mcp.ok("get_run", {"run_id": answer["run_id"]})
        if seen["status"] != "running":
            break
        time.sleep(0.05)
    assert seen["status"] == "succeeded" and "42" in seen["answer"]


def test_list_runs_filters_by_status(mcp):
    done = mcp.ok("run_request", {"request": "calculate 1 + 1"})
    held = mcp.ok("run_request", {"request": WRITE_REQUEST})

    assert [r["run_id"] for r in mcp.ok("list_runs", {})["runs"]] == [held["run_id"], done["run_id"]]
    only = mcp.ok("list_runs", {"status": "awaiting_approval"})["runs"]
    assert [r["run_id"] for r in only] == [held["run_id"]]
    assert mcp.ok("list_runs", {"limit": 1})["runs"][0]["run_id"] == held["run_id"]


def test_an_idempotency_key_sent_again_answers_the_run_it_started(mcp):
    first = mcp.ok("run_request", {"request": "calculate 3 + 4", "idempotency_key": "ask-1"})
    again = mcp.ok("run_request", {"request": "calculate 3 + 4", "idempotency_key": "ask-1"})

    assert again["run_id"] == first["run_id"] and len(mcp.ok("list_runs", {})["runs"]) == 1
    message = mcp.error("run_request", {"request": "calculate 9 + 9", "idempotency_key": "ask-1"})
    assert f"was already used for run {first['run_id']}" in message


@pytest.mark.parametrize(
    "tool, arguments, needles",
    [
        ("run_request", {}, ["request: Field required", "accepted arguments: request"]),
        ("run_request", {"request": ""}, ["request: String should have at least 1 character"]),
        ("run_request", {"request": "   "}, ["the request is empty"]),
        (
            "run_request",
            {"request": "calculate 1 + 1", "guards": {"max_steps": "many"}},
            ["guards.max_steps"],
        ),
        ("run_request", {"request": "calculate 1 + 1", "guards": {"max_steps": 0}}, ["from 1 to 200"]),
        (
            "run_request",
            {"request": "calculate 1 + 1", "guards": {"speed": 3}},
            ["guards.speed", "max_steps"],
        ),
        ("run_request", {"request": "calculate 1 + 1", "idempotency_key": "a b"}, ["no spaces"]),
        ("get_run", {"run_id": "run-nope"}, ["no run 'run-nope'", "list_runs"]),
        ("list_runs", {"status": "done"}, ["status: Input should be", "'awaiting_approval'"]),
        ("list_runs", {"limit": 0}, ["limit: Input should be greater than or equal to 1"]),
        ("approve", {"run_id": "run-x"}, ["there is no tool 'approve'", "run_request, get_run"]),
    ],
)
def test_bad_input_is_a_tool_error_naming_what_was_wrong(mcp, tool, arguments, needles):
    message = mcp.error(tool, arguments)

    assert all(needle in message for needle in needles), message
    assert "Traceback" not in message and "Error executing tool" not in message


def test_a_policy_denial_is_a_tool_error_with_the_reason(mcp, maoo):
    result = mcp.call("run_request", {"request": "Fetch http://169.254.169.254/latest/meta-data"})

    assert result.is_error
    answer = result.structured_content
    assert (answer["status"], answer["stop_reason"]) == ("stopped", "policy_denied")
    assert "policy_denied" in answer["next"] and "http." in answer["stop_detail"]
    assert answer["steps"] == [] and maoo.requests_seen() == []


def test_a_run_and_its_trace_are_resources(mcp):
    answer = mcp.ok("run_request", {"request": "calculate 2 * 21"})
    run_id = answer["run_id"]

    async def read(client):
        templates = (await client.list_resource_templates()).resource_templates
        document = (await client.read_resource(f"maoo://runs/{run_id}")).contents[0].text
        trace = (await client.read_resource(f"maoo://runs/{run_id}/trace")).contents[0].text
        return [t.uri_template for t in templates], json.loads(document), json.loads(trace)

    templates, document, trace = mcp.session(read)
    assert templates == ["maoo://runs/{run_id}", "maoo://runs/{run_id}/trace"]
    assert document["run_id"] == run_id and document["status"] == "succeeded" and document["plan"]
    assert trace["events"][0]["kind"] == "start" and trace_history(trace)


def test_an_unknown_run_resource_is_an_error_naming_the_run(mcp):
    async def read(client):
        with pytest.raises(MCPError, match="no run 'run-nope'"):
            await client.read_resource("maoo://runs/run-nope")
        return await client.list_tools()  # the session goes on

    assert mcp.session(read).tools


def _store_fails(monkeypatch, method: str, when=lambda *args: True) -> dict[str, int]:
    """The run store refuses one ``method`` call for which ``when(args)`` holds, as a database locked too long would."""
    from chalicelib.errors import StoreError
    from chalicelib.memory.store import SqliteRunStore

    real = getattr(SqliteRunStore, method)
    failed = {"n": 0}

    def locked_once(self, *args, **kwargs):
        if not failed["n"] and when(*args):
            failed["n"] += 1
            raise StoreError(f"the run store {self.path} could not be written: database is locked")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SqliteRunStore, method, locked_once)
    return failed


def test_a_store_failure_mid_run_is_a_tool_error_and_the_run_reads_interrupted(mcp, monkeypatch):
    # given a store that refuses the calc step's checkpoint once
    failed = _store_fails(
        monkeypatch, "record_transition", lambda run_id, kind, state, *rest: state == "CallCalc"
    )
    # when a run is requested
    result = mcp.call("run_request", {"request": READ_REQUEST})
    # then the call answers at once with the store's error, and the run reads interrupted with its way out
    assert failed["n"] == 1 and result.is_error
    answer = result.structured_content
    assert answer["status"] == "interrupted" and "database is locked" in answer["stop_detail"]
    assert answer["answer"].startswith("Interrupted after NextStep: the run store failed.")
    assert f"python -m cli resume {answer['run_id']}" in answer["next"]
    seen = mcp.ok("get_run", {"run_id": answer["run_id"]})
    assert seen["status"] == "interrupted" and seen["stop_detail"] == answer["stop_detail"]
    assert [step["tool"] for step in seen["steps"]] == ["http_get"]  # its last checkpoint


def test_a_store_failure_at_the_start_is_a_tool_error_naming_the_store(mcp, monkeypatch):
    _store_fails(monkeypatch, "put_run")

    message = mcp.error("run_request", {"request": "calculate 1 + 1"})

    assert "could not be written: database is locked" in message and "(run run-" in message
