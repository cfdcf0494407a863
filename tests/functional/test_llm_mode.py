"""LLM mode through the embedded state machine, with the mock API's scripted model on loopback.

The model's answers go through the same contracts, policy, validator and critic as the rules';
an answer that cannot be used falls back to the rules and the trace says why; the token budget
stops a run; the API key never lands in what MAOO writes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.config import get_settings, reload_settings
from chalicelib.contracts import PerceivedState, Plan
from chalicelib.perception.request_reader import perceive
from tests.unit.test_llm_client import only_loopback_models  # noqa: F401  (autouse: no real model is ever reached)

KEY = "maoo-functional-key-58d1e0b7a2"  # not credential-shaped: only MAOO itself can keep it out of the files
MODEL = "mock-gpt"
REQUEST = "Fetch mock data, calculate 2 + 2, and summarize the result"
RULE_TOOLS = ["http_get", "calc", "summarize"]  # what the rules plan for REQUEST


@dataclass
class LLMHarness:
    maoo: Any
    url: str

    def script(self, *answers: dict[str, Any]) -> None:
        requests.post(
            f"{self.url}/_admin/llm/script", json={"answers": list(answers)}, timeout=5
        ).raise_for_status()

    def model_requests(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.url}/_admin/llm/requests", timeout=5).json()["requests"]

    def run(self, request: str = REQUEST, **guards: Any) -> dict[str, Any]:
        return self.maoo.run(request, **guards)

    @staticmethod
    def events(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
        trace = json.loads(Path(document["trace_file"]).read_text())
        return [{"state": e["state"], **e["data"]} for e in trace["events"] if e["kind"] == kind]


@pytest.fixture
def llm(mock_api, monkeypatch, request):
    """LLM mode on, pointing at the mock API's /v1; backoff waits are zero."""
    monkeypatch.setenv("MAOO_NO_LLM_MODE", "false")
    monkeypatch.setenv("MAOO_OPENAI_BASE_URL", f"{mock_api.url}/v1")
    monkeypatch.setenv("MAOO_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("MAOO_OPENAI_MODEL", MODEL)
    monkeypatch.setenv("MAOO_LLM_TIMEOUT_SECONDS", "10")
    monkeypatch.setenv("MAOO_LLM_BACKOFF_SECONDS", "0")
    requests.post(f"{mock_api.url}/_admin/llm/reset", timeout=5).raise_for_status()
    harness = LLMHarness(request.getfixturevalue("maoo"), mock_api.url)
    yield harness
    requests.post(f"{mock_api.url}/_admin/llm/reset", timeout=5).raise_for_status()  # releases a slow answer


def content(value: Any, prompt: int = 100, completion: int = 20) -> dict[str, Any]:
    return {
        "kind": "content",
        "content": value,
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion},
    }


def model_perception(request: str = REQUEST) -> dict[str, Any]:
    """What a good model answers: the rules' reading, recognisably the model's by its intent."""
    return (
        perceive(request)
        .model_copy(update={"intent": "model: " + perceive(request).intent})
        .model_dump(mode="json")
    )


def plan_with(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"steps": list(steps), "rationale": "the model's plan"}


MODEL_PLAN = plan_with(
    {"id": "s1", "tool": "db_query", "args": {"sql": "SELECT id, name, value FROM mock_items ORDER BY id"}},
    {"id": "s2", "tool": "calc", "args": {"expression": "2 + 2"}},
    {"id": "s3", "tool": "summarize", "args": {"inputs": ["{{s1}}", "{{s2}}"]}, "depends_on": ["s1", "s2"]},
)


def test_rule_based_mode_is_the_default_and_never_asks_a_model(maoo):
    document = maoo.run(REQUEST)
    assert document["status"] == "succeeded"
    assert requests.get(f"{maoo.url}/_admin/llm/requests", timeout=5).json()["requests"] == []
    assert LLMHarness.events(document, "llm") == []
    assert document["counters"]["llm_tokens"] == 0


def test_a_valid_model_perception_and_plan_are_used(llm):
    llm.script(content(model_perception(), 300, 50), content(MODEL_PLAN, 400, 60))
    document = llm.run()
    assert document["status"] == "succeeded"
    assert document["perception"]["intent"] == "model: fetch+compute+summarize"
    assert document["plan"]["rationale"] == "the model's plan"
    assert [s["tool"] for s in document["steps"]] == ["db_query", "calc", "summarize"]
    assert "4" in document["final_output"]
    assert document["counters"]["llm_tokens"] == 810
    events = llm.events(document, "llm")
    assert [(e["state"], e["purpose"], e["outcome"], e["model"]) for e in events] == [
        ("Perceive", "perception", "used", MODEL),
        ("Plan", "plan", "used", MODEL),
    ]
    assert [e["tokens"]["total"] for e in events] == [350, 460]
    first, second = llm.model_requests()
    assert first["authorization"] == second["authorization"] == f"Bearer {KEY}"
    assert first["body"]["response_format"]["json_schema"]["schema"] == PerceivedState.model_json_schema()
    assert second["body"]["response_format"]["json_schema"]["schema"] == Plan.model_json_schema()
    assert (
        json.dumps(Plan.model_json_schema(), separators=(",", ":"))
        in second["body"]["messages"][0]["content"]
    )
    assert json.loads(first["body"]["messages"][1]["content"]) == {"request": REQUEST}


@pytest.mark.parametrize(
    "answer, reason",
    [
        ({"kind": "content", "content": '{"intent": "fetch", "steps": ['}, "malformed"),
        (content({"intent": 42, "steps": "all of them"}), "schema"),
        ({"kind": "refusal", "message": "I cannot help with operations."}, "refused"),
        ({"kind": "content", "content": {"late": True}, "delay_seconds": 30}, "timeout"),
        ({"kind": "error", "status": 500, "message": "model crashed"}, "unavailable"),
    ],
)
def test_an_unusable_answer_falls_back_to_the_rules_and_the_trace_says_why(llm, monkeypatch, answer, reason):
    if reason == "timeout":
        monkeypatch.setenv("MAOO_LLM_TIMEOUT_SECONDS", "0.3")
        reload_settings()
    llm.script(*[answer] * 6)  # every question (perception, plan, and any retry) gets the same kind of answer
    document = llm.run()
    assert document["status"] == "succeeded"
    assert [s["tool"] for s in document["steps"]] == RULE_TOOLS
    assert document["perception"]["intent"] == "fetch+compute+summarize"
    events = llm.events(document, "llm")
    assert [(e["purpose"], e["outcome"], e["reason"]) for e in events] == [
        ("perception", "fallback", reason),
        ("plan", "fallback", reason),
    ]
    assert all(e["detail"] for e in events)
    assert any(note.startswith(f"llm: rule-based plan ({reason}:") for note in document["plan_notes"])


def test_a_model_plan_goes_through_the_same_validator(llm):
    llm.script(
        content(model_perception()),
        content(plan_with({"id": "s1", "tool": "calc", "args": {"expression": "{{s9.value}} + 1"}})),
    )
    document = llm.run()
    assert (document["status"], document["stop_reason"]) == ("stopped", "invalid_plan")
    assert "s9" in document["stop_detail"]
    assert document["steps"] == []


@pytest.mark.parametrize(
    "request_text, step, rule",
    [
        (
            REQUEST,
            {"id": "s1", "tool": "http_get", "args": {"url": "http://169.254.169.254/latest/meta-data/"}},
            "http.metadata",
        ),
        (
            REQUEST,
            {"id": "s1", "tool": "http_get", "args": {"url": "https://exfiltrate.example.com/data"}},
            "http.allowlist",
        ),
        (
            "Fetch mock data and save it to report.md",
            {"id": "s2", "tool": "file_write", "args": {"path": "../../outside.md", "content": "hello"}},
            "file.traversal",
        ),
        (REQUEST, {"id": "s1", "tool": "shell", "args": {"command": "cat /etc/passwd"}}, "tool.allowlist"),
    ],
)
def test_a_model_plan_past_the_policy_is_denied_like_any_plan(llm, request_text, step, rule):
    llm.script(content(model_perception(request_text)), content(plan_with(step)))
    document = llm.run(request_text)
    assert (document["status"], document["stop_reason"]) == ("stopped", "policy_denied")
    assert f"[{rule}]" in document["stop_detail"]
    assert document["steps"] == []
    assert [e["outcome"] for e in llm.events(document, "llm")] == ["used", "used"]
    assert [r["path"] for r in llm.maoo.requests_seen() if not r["path"].startswith("/v1/")] == []
    assert not (get_settings().runtime_dir.parent / "outside.md").exists()


@pytest.mark.parametrize(
    "perception_tokens, plan_tokens, stopped_in", [(5000, 0, "Perceive"), (300, 900, "Plan")]
)
def test_exceeding_the_token_budget_stops_the_run(llm, perception_tokens, plan_tokens, stopped_in):
    llm.script(content(model_perception(), perception_tokens, 0), content(MODEL_PLAN, plan_tokens, 0))
    document = llm.run(llm_token_budget=1000)
    assert (document["status"], document["stop_reason"]) == ("stopped", "llm_token_budget")
    assert document["counters"]["llm_tokens"] == perception_tokens + plan_tokens
    assert document["steps"] == [] and document["counters"]["tool_calls"] == 0
    assert "llm_token_budget is 1000" in document["stop_detail"]
    last = llm.events(document, "llm")[-1]
    assert (last["state"], last["outcome"], last["reason"]) == (stopped_in, "stopped", "llm_token_budget")
    assert len(llm.model_requests()) == (1 if stopped_in == "Perceive" else 2)


def test_a_missing_endpoint_setting_leaves_the_run_rule_based_with_a_trace_note(llm, monkeypatch):
    monkeypatch.delenv("MAOO_OPENAI_MODEL")
    reload_settings()
    document = llm.run()
    assert document["status"] == "succeeded"
    assert [s["tool"] for s in document["steps"]] == RULE_TOOLS
    events = llm.events(document, "llm")
    assert [(e["outcome"], e["reason"]) for e in events] == [("fallback", "not_configured")] * 2
    assert "MAOO_OPENAI_MODEL" in events[0]["detail"]
    assert llm.model_requests() == []


def test_the_api_key_never_appears_in_the_trace_the_run_document_or_the_logs(llm):
    llm.script(
        {"kind": "error", "status": 401, "message": "invalid key", "echo_authorization": True},
        content(MODEL_PLAN),
    )
    document = llm.run()
    assert document["status"] == "succeeded"
    assert KEY in llm.model_requests()[0]["authorization"]  # the key was sent, and the server echoed it back
    [perception_event] = [e for e in llm.events(document, "llm") if e["purpose"] == "perception"]
    assert perception_event["reason"] == "http_401" and "[REDACTED]" in perception_event["detail"]
    runtime = get_settings().runtime_dir
    logs = _log_files(runtime)
    assert any(document["run_id"] in f.read_text() for f in logs), (
        "this run's log lines were not found to check"
    )
    assert KEY not in json.dumps(document)
    assert KEY not in Path(document["trace_file"]).read_text()
    for written in [*logs, *runtime.rglob("*.sqlite3*")]:
        assert KEY.encode() not in written.read_bytes(), f"the API key is in {written}"


def _log_files(runtime: Path) -> list[Path]:
    """The files under runtime/logs/ this process writes: its own, and those the (process-wide) logger opened."""
    folders = {runtime / "logs"}
    for handler in logging.getLogger("maoo").handlers:
        name = getattr(getattr(handler, "stream", None), "name", None)
        if isinstance(name, str) and Path(name).is_file():
            folders.add(Path(name).parent)
    return sorted(f for folder in folders if folder.is_dir() for f in folder.iterdir() if f.is_file())
