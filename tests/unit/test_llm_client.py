"""The LLM client against the mock API's scripted ``/v1/chat/completions``, over loopback.

No test reaches a real model: ``only_loopback_models`` (autouse) fails any request that leaves
loopback, and the first test proves that switch works.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from chalicelib.config import reload_settings
from chalicelib.errors import ConfigError
from chalicelib.llm.client import ChatClient
from chalicelib.llm.errors import (
    LLMHTTPError,
    LLMMalformedError,
    LLMRefusalError,
    LLMTimeoutError,
    LLMUnavailableError,
)
from chalicelib.redaction import redact
from mock_api.server import is_loopback, start_in_thread

KEY = "maoo-unit-key-3c9e51d0"  # not credential-shaped on purpose: what hides it must be MAOO, not a regex
SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}


class RealModelRequestError(AssertionError):
    """A test sent a request beyond loopback: it could have reached a real model."""


@pytest.fixture(autouse=True)
def only_loopback_models(monkeypatch):
    """Every request leaving loopback fails at once, and again at teardown if something swallowed it."""
    attempted: list[str] = []
    real_send = requests.adapters.HTTPAdapter.send

    def send(adapter, request, *args, **kwargs):
        if not is_loopback(urlsplit(request.url).hostname or ""):
            attempted.append(request.url)
            raise RealModelRequestError(
                f"a test tried to reach {request.url}; tests speak to the mock model on loopback only"
            )
        return real_send(adapter, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    yield attempted
    assert not attempted, f"requests beyond loopback were attempted: {attempted}"


@pytest.fixture(scope="module")
def mock_api():
    with start_in_thread() as running:
        yield running


@pytest.fixture
def model(mock_api):
    """The scripted model, reset before and after (which also releases a slow answer still waiting)."""
    requests.post(f"{mock_api.url}/_admin/llm/reset", timeout=5).raise_for_status()
    yield mock_api.url
    requests.post(f"{mock_api.url}/_admin/llm/reset", timeout=5).raise_for_status()


def script(url: str, *answers: dict) -> None:
    requests.post(f"{url}/_admin/llm/script", json={"answers": list(answers)}, timeout=5).raise_for_status()


def seen(url: str) -> list[dict]:
    return requests.get(f"{url}/_admin/llm/requests", timeout=5).json()["requests"]


def client(url: str, **options) -> tuple[ChatClient, list[float]]:
    """A client on the mock; its backoff waits are recorded instead of slept."""
    waits: list[float] = []
    return ChatClient(f"{url}/v1", KEY, "mock-model", sleep=waits.append, **options), waits


def ask(chat: ChatClient, user: str = "answer please"):
    return chat.complete_json(system="Answer as JSON.", user=user, schema_name="Answer", schema=SCHEMA)


def test_a_request_beyond_loopback_fails_loudly(only_loopback_models):
    chat = ChatClient("https://api.openai.com/v1", KEY, "gpt-4o-mini", max_retries=0)
    with pytest.raises(RealModelRequestError):
        ask(chat)
    assert only_loopback_models == ["https://api.openai.com/v1/chat/completions"]
    only_loopback_models.clear()  # seen and accounted for: the teardown check is for the other tests


def test_success_returns_parsed_json_with_usage_and_sends_schema_and_bearer_key(model):
    chat, waits = client(model)
    completion = ask(chat, "hello [[mock-llm:echo]]")
    assert completion.data == {"echo": "hello [[mock-llm:echo]]"}
    assert completion.model == "mock-model"
    assert completion.attempts == 1 and waits == []
    assert completion.usage.total > 0 and not completion.usage.estimated
    [request] = seen(model)
    assert request["authorization"] == f"Bearer {KEY}"
    assert request["body"]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Answer", "schema": SCHEMA, "strict": False},
    }
    assert request["body"]["messages"][0] == {"role": "system", "content": "Answer as JSON."}


def test_429_and_5xx_are_retried_with_backoff_then_succeed(model):
    script(
        model,
        {"kind": "error", "status": 429, "retry_after": 0},
        {"kind": "error", "status": 503},
        {"kind": "content", "content": {"answer": 4}, "usage": {"prompt_tokens": 30, "completion_tokens": 5}},
    )
    chat, waits = client(model, max_retries=2, backoff_seconds=0.5, backoff_max_seconds=4)
    completion = ask(chat)
    assert completion.data == {"answer": 4}
    assert completion.attempts == 3
    assert (completion.usage.prompt, completion.usage.completion, completion.usage.total) == (30, 5, 35)
    assert waits == [0.5, 1.0]
    assert [r["answer"] for r in seen(model)] == ["error", "error", "content"]


def test_retry_after_is_honoured_within_the_backoff_cap(model):
    script(
        model,
        {"kind": "error", "status": 429, "retry_after": 30},
        {"kind": "content", "content": {"answer": 1}},
    )
    chat, waits = client(model, backoff_seconds=0.1, backoff_max_seconds=2)
    assert ask(chat).data == {"answer": 1}
    assert waits == [2]


def test_retries_are_bounded_and_end_in_unavailable(model):
    script(model, *[{"kind": "error", "status": 500, "message": "boom"}] * 5)
    chat, waits = client(model, max_retries=2, backoff_seconds=0)
    with pytest.raises(LLMUnavailableError) as raised:
        ask(chat)
    assert raised.value.reason == "unavailable"
    assert (
        "HTTP 500" in str(raised.value) and "boom" in str(raised.value) and "3 attempts" in str(raised.value)
    )
    assert len(seen(model)) == 3


def test_a_late_answer_times_out_and_is_not_retried(model):
    chat, _ = client(model, timeout_seconds=0.2, max_retries=2)
    with pytest.raises(LLMTimeoutError) as raised:
        ask(chat, "take your time [[mock-llm:slow]]")
    assert raised.value.reason == "timeout"
    assert len(seen(model)) == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"kind": "content", "content": '{"answer": '},
        {"kind": "content", "content": "Sure! The answer is 4."},
        {"kind": "content", "content": '{"answer": 4', "finish_reason": "length"},
    ],
)
def test_an_answer_that_is_not_json_is_a_malformed_error_with_its_tokens(model, answer):
    script(model, answer)
    chat, _ = client(model)
    with pytest.raises(LLMMalformedError) as raised:
        ask(chat)
    assert raised.value.reason == "malformed"
    assert (
        raised.value.usage is not None and raised.value.usage.total > 0
    )  # the tokens were spent all the same
    assert len(seen(model)) == 1  # a bad answer is not asked for again


def test_json_in_a_code_fence_is_accepted(model):
    script(model, {"kind": "content", "content": '```json\n{"answer": 7}\n```'})
    assert ask(client(model)[0]).data == {"answer": 7}


def test_a_refusal_is_a_refusal_error(model):
    script(model, {"kind": "refusal", "message": "I won't do that."})
    with pytest.raises(LLMRefusalError) as raised:
        ask(client(model)[0])
    assert raised.value.reason == "refused"
    assert "I won't do that." in str(raised.value)


def test_a_client_error_is_not_retried_and_an_echoed_key_is_scrubbed(model):
    script(model, {"kind": "error", "status": 401, "message": "invalid api key", "echo_authorization": True})
    chat, waits = client(model)
    with pytest.raises(LLMHTTPError) as raised:
        ask(chat)
    assert raised.value.reason == "http_401" and waits == []
    assert "invalid api key" in str(raised.value) and "[REDACTED]" in str(raised.value)
    assert KEY not in str(raised.value)
    assert KEY in seen(model)[0]["authorization"]  # the key really was in play


def test_an_unreachable_endpoint_is_unavailable_after_the_retries():
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    chat, waits = client(f"http://127.0.0.1:{port}", max_retries=1, backoff_seconds=0.25)
    with pytest.raises(LLMUnavailableError) as raised:
        ask(chat)
    assert "cannot reach" in str(raised.value)
    assert waits == [0.25]


def test_the_key_stays_out_of_reprs_and_redaction_covers_it(monkeypatch):
    chat, _ = client("http://127.0.0.1:9")
    assert KEY not in repr(chat)
    monkeypatch.setenv("MAOO_OPENAI_API_KEY", KEY)
    assert KEY not in repr(reload_settings())
    openai_shaped = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" * 2
    recorded = redact(
        {
            "api_key": KEY,
            "headers": {"Authorization": f"Bearer {KEY}"},
            "cause": f"401 for Authorization: Bearer {KEY}",
            "echo": f"bad key {openai_shaped}",
        }
    )
    assert KEY not in str(recorded) and openai_shaped not in str(recorded)


@pytest.mark.parametrize(
    "variable, value, words",
    [
        ("MAOO_OPENAI_BASE_URL", "api.openai.com/v1", ["MAOO_OPENAI_BASE_URL", "not an http(s) URL"]),
        ("MAOO_LLM_TIMEOUT_SECONDS", "soon", ["MAOO_LLM_TIMEOUT_SECONDS", "not a number"]),
        ("MAOO_LLM_MAX_RETRIES", "1.5", ["MAOO_LLM_MAX_RETRIES", "whole number"]),
        ("MAOO_LLM_MAX_RETRIES", "-1", ["MAOO_LLM_MAX_RETRIES", "whole number from 0 to 10"]),
        ("MAOO_LLM_TOKEN_BUDGET", "lots", ["MAOO_LLM_TOKEN_BUDGET", "not a number"]),
    ],
)
def test_a_bad_llm_setting_is_a_config_error_naming_the_variable(monkeypatch, variable, value, words):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        reload_settings()
    assert all(word in str(raised.value) for word in words)


def test_llm_settings_default_to_off_and_name_what_llm_mode_is_missing(monkeypatch):
    for name in ("MAOO_NO_LLM_MODE", "MAOO_OPENAI_BASE_URL", "MAOO_OPENAI_API_KEY", "MAOO_OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)
    settings = reload_settings()
    assert settings.llm_requested is False
    monkeypatch.setenv("MAOO_NO_LLM_MODE", "false")
    monkeypatch.setenv("MAOO_OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/")
    monkeypatch.setenv("MAOO_LLM_TOKEN_BUDGET", "1200")
    settings = reload_settings()
    assert settings.llm_requested is True
    assert settings.openai_base_url == "http://127.0.0.1:11434/v1"
    assert settings.llm_missing() == ["MAOO_OPENAI_API_KEY", "MAOO_OPENAI_MODEL"]
    assert settings.guards_overrides["llm_token_budget"] == 1200
