"""Secrets: API keys and tokens never reach a trace event, a log line, a run document or an export."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.memory.events import record_event
from chalicelib.memory.store import get_run_store
from chalicelib.redaction import REDACTED, is_secret_key, redact, redact_text

OPENAI_KEY = "sk-proj-Zq8vT3xLm2Kp9WbR4nYc7HdE"
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMtYm90In0.c2lnbmF0dXJlLXZhbHVl"
SECRETS = [
    OPENAI_KEY,
    AWS_KEY_ID,
    JWT,
    "hunter2-but-longer",
    "ghp_" + "a1B2c3D4" * 5,
    "xoxb-1234567890-abcdefghij",
]


def _leaks(value: object) -> list[str]:
    text = json.dumps(value, default=str)
    return [secret for secret in SECRETS if secret in text]


def test_secret_named_keys_are_redacted_at_any_depth():
    data = {
        "api_key": "plain-value-1",
        "Authorization": "Token abc",
        "x-auth-token": "plain-value-2",
        "nested": [
            {"clientSecret": "plain-value-3", "password": "hunter2-but-longer", "AWS_SECRET_ACCESS_KEY": "v"}
        ],
        "headers": {"Cookie": "session=abc", "Idempotency-Key": "run-1:s2:abcd"},
    }

    cleaned = redact(data)

    assert cleaned["api_key"] == cleaned["Authorization"] == cleaned["x-auth-token"] == REDACTED
    assert cleaned["nested"][0] == {
        "clientSecret": REDACTED,
        "password": REDACTED,
        "AWS_SECRET_ACCESS_KEY": REDACTED,
    }
    assert cleaned["headers"] == {"Cookie": REDACTED, "Idempotency-Key": "run-1:s2:abcd"}
    assert data["api_key"] == "plain-value-1"  # the input is left alone


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"using key {OPENAI_KEY} for the call", "using key"),
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer"),
        (f"aws_access_key_id={AWS_KEY_ID}", "aws_access_key_id="),
        ("https://ops:hunter2-but-longer@api.example.com/v1", "https://ops:"),
        ("GET https://api.example.com/v1?api_key=hunter2-but-longer&window=1h", "&window=1h"),
        ("token ghp_" + "a1B2c3D4" * 5 + " expired", "expired"),
        ("slack xoxb-1234567890-abcdefghij", "slack"),
        (f"bare jwt {JWT}", "bare jwt"),
    ],
)
def test_credential_shaped_text_is_redacted_in_place(text, kept):
    cleaned = redact_text(text)

    assert _leaks(cleaned) == [] and REDACTED in cleaned and kept in cleaned


def test_json_held_in_a_string_is_redacted_as_data():
    history_event = {
        "stateEnteredEventDetails": {
            "name": "CallHttpPost",
            "input": json.dumps({"headers": {"Authorization": "abc123"}, "n": 1}),
        }
    }

    cleaned = redact(history_event)

    assert json.loads(cleaned["stateEnteredEventDetails"]["input"]) == {
        "headers": {"Authorization": REDACTED},
        "n": 1,
    }


@pytest.mark.parametrize(
    "value",
    [
        {"max_tokens": 256, "prompt_tokens": 12, "token_count": 3},
        {"summary": "Basic arithmetic: 2 + 2 = 4. The payments service is degraded."},
        {
            "idempotency_key": "run-20261124-1:s2:9f8e",
            "service": "auth",
            "services": {"auth": {"status": "ok"}},
        },
        {
            "expression": "round(240 / 12000 * 100, 4)",
            "url": "http://127.0.0.1:8765/services/payments/metrics?window=1h",
        },
    ],
)
def test_ordinary_run_data_is_left_exactly_as_it_was(value):
    assert redact(value) == value


@pytest.mark.parametrize(
    "key",
    [
        "api_key",
        "apiKey",
        "X-Api-Key",
        "access_token",
        "refreshToken",
        "client_secret",
        "db_password",
        "Authorization",
        "private_key",
        "session_id",
        "Set-Cookie",
    ],
)
def test_secret_key_names(key):
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key", ["max_tokens", "idempotency_key", "key", "keys", "service", "auth_service", "author", "monkey"]
)
def test_ordinary_key_names(key):
    assert not is_secret_key(key)


_DETECTABLE = [s for s in SECRETS if s != "hunter2-but-longer"]  # a bare password is only known by its key
_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=30),
        st.sampled_from(_DETECTABLE),
        st.sampled_from([f"Bearer {JWT}", f"key={OPENAI_KEY}", "Basic dXNlcjpwYXNzd29yZDE="]),
        st.just({"password": "hunter2-but-longer"}),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(["a", "data", "api_key", "token", "Authorization", "note", "max_tokens"]),
            children,
            max_size=4,
        ),
        children.map(lambda v: json.dumps(v)),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=_json)
def test_property_redaction_is_idempotent_and_leaves_no_known_secret(value):
    once = redact(value)

    assert redact(once) == once
    assert _leaks(once) == []
    assert "dXNlcjpwYXNzd29yZDE=" not in json.dumps(once)


def test_record_event_stores_and_logs_only_redacted_data():
    captured: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record)

    handler = Collect()
    logging.getLogger("maoo").addHandler(handler)
    try:
        record_event(
            "run-secret",
            "tool_call",
            "CallHttpPost",
            headers={"Authorization": f"Bearer {JWT}"},
            note=f"called with {OPENAI_KEY}",
            aws={"AWS_ACCESS_KEY_ID": AWS_KEY_ID},
        )
    finally:
        logging.getLogger("maoo").removeHandler(handler)

    stored = get_run_store().events("run-secret")
    assert stored and _leaks(stored) == []
    assert captured and all(_leaks(vars(record)) == [] for record in captured)


def test_a_run_carrying_a_secret_exports_none(maoo):
    doc = maoo.run(f"Fetch mock data and summarize it, the api key is {OPENAI_KEY} and the token {JWT}")

    trace_text = open(doc["trace_file"], encoding="utf-8").read()
    assert _leaks(doc) == []
    assert [s for s in SECRETS if s in trace_text] == []
    assert _leaks(get_run_store().events(doc["run_id"])) == []


def test_a_layers_journal_holds_only_redacted_data():
    from chalicelib.journal import journal_event, open_journal

    with open_journal() as journal:
        journal_event("tool_call", "NextStep", headers={"Authorization": f"Bearer {JWT}"}, note=OPENAI_KEY)

    assert journal.events and _leaks(journal.events) == []
