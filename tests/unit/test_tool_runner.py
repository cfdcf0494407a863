"""``run_tool``: validation, failures as data, large outputs by reference, writes at most once."""

from __future__ import annotations

import json

import pytest

from chalicelib.config import get_settings, reload_settings
from chalicelib.contracts import ToolCall
from chalicelib.memory.store import get_run_store
from chalicelib.tools.invocation import run_tool
from chalicelib.tools.summarize import summarize


class _LambdaContext:
    """What the Lambda runtime passes; Powertools reads the time left to expire in-progress records."""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _call(tool: str, args: dict, step_id: str = "s1", idempotency_key: str | None = None) -> ToolCall:
    return ToolCall(run_id="run-1", step_id=step_id, tool=tool, args=args, idempotency_key=idempotency_key)


@pytest.fixture
def small_outputs(monkeypatch):
    monkeypatch.setenv("MAOO_LARGE_OUTPUT_BYTES", "256")
    reload_settings()


def test_unknown_tool_is_denied_by_the_allowlist():
    result = run_tool(_call("shell", {"cmd": "rm -rf /"}))
    assert result.ok is False
    assert result.tool == "shell"
    assert result.error.kind == "policy_denied"
    assert result.error.details == {"rule": "tool.allowlist"}
    assert "'shell'" in result.error.message


def test_bad_arguments_report_the_offending_fields():
    result = run_tool(_call("calc", {"expr": "2 + 2"}))
    assert result.ok is False
    assert result.error.kind == "bad_args"
    assert {f["field"] for f in result.error.details["fields"]} == {"expression", "expr"}


def test_tool_failure_is_returned_as_data():
    result = run_tool(_call("calc", {"expression": "__import__('os')"}))
    assert result.ok is False
    assert result.error.kind == "policy_denied"
    assert result.error.details["rule"].startswith("calc.")


def test_small_output_travels_inline():
    result = run_tool(_call("calc", {"expression": "2 + 2"}))
    assert result.ok is True
    assert result.output == {"expression": "2 + 2", "value": 4}
    assert result.output_ref is None


def test_large_summary_is_stored_by_reference(small_outputs):
    # given inputs whose summary is well over 256 bytes
    inputs = [
        f"Service number {n} reported a steady error rate during the last hour of traffic." for n in range(6)
    ]
    # when summarize runs
    result = run_tool(_call("summarize", {"inputs": inputs, "max_sentences": 6}))
    # then the state carries a short preview and a reference to the full output
    assert result.ok is True
    assert result.output_ref is not None
    assert isinstance(result.output, str) and len(result.output) <= 500
    stored = get_run_store().get_blob(result.output_ref)
    assert stored["summary"] == summarize(inputs, 6)
    assert result.output == json.dumps(stored)[:500]


def test_large_query_result_is_stored_by_reference(small_outputs):
    result = run_tool(
        _call(
            "db_query",
            {"sql": "SELECT service, window, requests, errors FROM metrics ORDER BY service, window"},
        )
    )
    assert result.ok is True
    assert result.output_ref is not None
    stored = get_run_store().get_blob(result.output_ref)
    assert stored["row_count"] == len(stored["rows"]) == 15
    assert {"service": "payments", "window": "1h", "requests": 12000, "errors": 240} in stored["rows"]


def test_write_repeated_with_same_idempotency_key_returns_the_first_output():
    # given a file write that completed
    call = _call(
        "file_write",
        {"path": "reports/incidents.md", "content": "# Incidents\n"},
        idempotency_key="run-1:s1:abc",
    )
    first = run_tool(call, _LambdaContext())
    # when the same call is delivered again
    second = run_tool(call, _LambdaContext())
    # then the saved output comes back: replayed stays False, so the tool did not run again
    assert first.ok and second.ok
    assert first.output == {"path": "reports/incidents.md", "bytes": 12, "replayed": False}
    assert second.output == first.output
    assert (get_settings().files_dir / "reports" / "incidents.md").read_text() == "# Incidents\n"


def test_write_reusing_an_idempotency_key_with_other_arguments_is_refused():
    run_tool(
        _call("file_write", {"path": "a.md", "content": "first"}, idempotency_key="run-1:s1:abc"),
        _LambdaContext(),
    )
    result = run_tool(
        _call(
            "file_write",
            {"path": "a.md", "content": "second", "overwrite": True},
            idempotency_key="run-1:s1:abc",
        ),
        _LambdaContext(),
    )
    assert result.ok is False
    assert result.error.kind == "policy_denied"
    assert result.error.details == {"rule": "idempotency.key_reuse"}
    assert (get_settings().files_dir / "a.md").read_text() == "first"


def _left_in_progress(call: ToolCall) -> None:
    """The call's idempotency record, as a process killed while the call was in flight leaves it."""
    from aws_lambda_powertools.utilities.idempotency.base import IdempotencyHandler

    from chalicelib.memory.idempotency import get_persistence_layer, idempotency_config

    def killed() -> None:
        raise SystemExit  # what a kill leaves: the record is never completed nor deleted

    handler = IdempotencyHandler(
        function=killed,
        function_payload={"idempotency_key": call.idempotency_key, "args": call.args},
        config=idempotency_config(_LambdaContext()),
        persistence_store=get_persistence_layer(),
        key_prefix=f"maoo.{call.tool}",
        function_args=(),
        function_kwargs={},
    )
    with pytest.raises(SystemExit):
        handler.handle()


def test_a_record_left_in_progress_is_replayed_by_the_run_that_took_the_call_over():
    # given a file write whose process died with its record in progress
    call = _call("file_write", {"path": "report.md", "content": "# Report\n"}, idempotency_key="run-1:s6:abc")
    _left_in_progress(call)
    # when the run that took it over makes the call again
    result = run_tool(call.model_copy(update={"replay": True}), _LambdaContext())
    # then it runs, with the same key, and completes the record
    assert result.ok and result.output == {"path": "report.md", "bytes": 9, "replayed": False}
    assert run_tool(call, _LambdaContext()).output == result.output  # answered from the record now


def test_a_record_another_live_invocation_holds_is_an_unknown_outcome_with_the_time_its_hold_ends():
    # given a file write in another invocation's hands, with 60 s left
    call = _call("file_write", {"path": "report.md", "content": "# Report\n"}, idempotency_key="run-1:s6:abc")
    _left_in_progress(call)
    # when this invocation (which did not take the call over) makes it
    result = run_tool(call, _LambdaContext())
    # then nothing is written, and the outcome is unknown until the hold ends
    assert result.ok is False and result.error.kind == "unknown_outcome"
    assert result.error.details["rule"] == "idempotency.in_progress"
    assert 50 < result.error.retry_after <= 60
    assert not (get_settings().files_dir / "report.md").exists()


@pytest.fixture
def silent_origin(monkeypatch):
    """A loopback origin that accepts connections and never answers, allowlisted, with a short limit."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    origin = f"http://127.0.0.1:{listener.getsockname()[1]}"
    monkeypatch.setenv("MAOO_HTTP_ALLOWLIST", origin)
    monkeypatch.setenv("MAOO_HTTP_TIMEOUT_SECONDS", "0.2")
    reload_settings()
    yield origin, listener
    listener.close()


def test_a_post_sent_without_an_answer_is_an_unknown_outcome_not_a_failure_of_the_api(silent_origin):
    origin, _ = silent_origin
    result = run_tool(_call("http_post", {"url": f"{origin}/incidents", "json_body": {"title": "x"}}))
    assert result.error.kind == "unknown_outcome" and "may have been applied" in result.error.message


def test_a_post_that_never_left_is_a_connection_failure(silent_origin):
    origin, listener = silent_origin
    listener.close()  # nothing listens: the connection is refused before anything is sent
    result = run_tool(_call("http_post", {"url": f"{origin}/incidents", "json_body": {"title": "x"}}))
    assert result.error.kind == "connection"
    read = run_tool(_call("http_get", {"url": f"{origin}/services"}))
    assert read.error.kind == "connection"


def test_a_file_write_killed_before_its_rename_leaves_no_debris_once_made_again(isolated_runtime):
    import os
    import subprocess
    import sys

    # given a process killed (SIGKILL) after writing the temporary file, before renaming it into place
    child = """
import os, signal
from chalicelib.contracts import ToolCall
from chalicelib.tools import file_write
from chalicelib.tools.invocation import run_tool
file_write.os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
run_tool(ToolCall(run_id="run-1", step_id="s6", tool="file_write", idempotency_key="run-1:s6:abc",
                  args={"path": "report.md", "content": "# Report\\n"}))
"""
    env = {**os.environ, "MAOO_RUNTIME_DIR": str(isolated_runtime)}
    killed = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, timeout=60)
    assert killed.returncode == -9, killed.stderr
    files = get_settings().files_dir
    assert [p.name for p in files.iterdir()] != ["report.md"]  # only the half-done temporary file
    # when the run that took the call over makes it again, with the same key
    call = _call("file_write", {"path": "report.md", "content": "# Report\n"}, idempotency_key="run-1:s6:abc")
    result = run_tool(call.model_copy(update={"replay": True}), _LambdaContext())
    # then the report is in place, once, and nothing else is left in the folder
    assert result.ok
    assert [p.name for p in files.iterdir()] == ["report.md"]
    assert (files / "report.md").read_text() == "# Report\n"
