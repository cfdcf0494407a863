"""Settings from ``MAOO_*`` variables: safe defaults, and refusals that say what is accepted."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.config import reload_settings
from chalicelib.errors import ConfigError


def test_defaults_are_the_safe_offline_ones(monkeypatch):
    monkeypatch.delenv("MAOO_NO_LLM_MODE", raising=False)
    monkeypatch.delenv("MAOO_BACKOFF_BASE_SECONDS", raising=False)
    settings = reload_settings()
    assert settings.engine == "embedded"
    assert settings.store == "sqlite"
    assert settings.no_llm_mode is True
    assert settings.allowed_origins() == ()
    assert settings.idempotent_origins() == ()
    assert settings.guards_overrides == {}
    assert settings.tool_costs == {}
    assert (settings.backoff_base_seconds, settings.backoff_max_seconds) == (1.0, 8.0)


def test_default_runtime_dir_is_runtime_under_the_working_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("MAOO_RUNTIME_DIR")
    monkeypatch.chdir(tmp_path)
    settings = reload_settings()
    assert settings.runtime_dir == (tmp_path / "runtime").resolve()
    assert settings.db_path == settings.runtime_dir / "maoo.sqlite3"


def test_relative_runtime_dir_is_resolved_to_an_absolute_path(monkeypatch, tmp_path):
    monkeypatch.setenv("MAOO_RUNTIME_DIR", "state/../rt")
    monkeypatch.chdir(tmp_path)
    settings = reload_settings()
    assert settings.runtime_dir.is_absolute()
    assert settings.runtime_dir == (tmp_path / "rt").resolve()


def test_settings_cannot_be_changed_after_loading():
    settings = reload_settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.engine = "aws"


@pytest.mark.parametrize("raw, expected", [("false", False), ("0", False), ("ON", True), ("yes", True)])
def test_no_llm_mode_reads_common_boolean_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("MAOO_NO_LLM_MODE", raw)
    assert reload_settings().no_llm_mode is expected


@pytest.mark.parametrize(
    "variable, value, expected_words",
    [
        ("MAOO_ENGINE", "foo", ["MAOO_ENGINE", "'foo'", "embedded, localstack, aws"]),
        ("MAOO_STORE", "redis", ["MAOO_STORE", "sqlite, dynamodb"]),
        ("MAOO_NO_LLM_MODE", "maybe", ["MAOO_NO_LLM_MODE", "'maybe'", "true or false"]),
        ("MAOO_HTTP_TIMEOUT_SECONDS", "abc", ["MAOO_HTTP_TIMEOUT_SECONDS", "'abc'", "not a number"]),
        ("MAOO_HTTP_TIMEOUT_SECONDS", "0", ["MAOO_HTTP_TIMEOUT_SECONDS", "from 0.05 to 12"]),
        ("MAOO_LARGE_OUTPUT_BYTES", "10", ["MAOO_LARGE_OUTPUT_BYTES", "from 256 to 200000"]),
        ("MAOO_HTTP_TIMEOUT_SECONDS", "inf", ["MAOO_HTTP_TIMEOUT_SECONDS", "'inf'", "from 0.05 to 12"]),
        ("MAOO_LLM_TIMEOUT_SECONDS", "nan", ["MAOO_LLM_TIMEOUT_SECONDS", "'nan'", "finite"]),
        ("MAOO_BUDGET", "inf", ["MAOO_BUDGET", "'inf'", "greater than 0 and at most 10000"]),
        ("MAOO_BUDGET", "nan", ["MAOO_BUDGET", "'nan'", "greater than 0 and at most 10000"]),
        ("MAOO_BUDGET", "0", ["MAOO_BUDGET", "greater than 0"]),
        ("MAOO_MAX_STEPS", "-1", ["MAOO_MAX_STEPS", "'-1'", "whole number from 1 to 200"]),
        ("MAOO_MAX_STEPS", "2.5", ["MAOO_MAX_STEPS", "whole number from 1 to 200"]),
        ("MAOO_MAX_STEPS", "1e9", ["MAOO_MAX_STEPS", "whole number from 1 to 200"]),
        ("MAOO_DEADLINE_SECONDS", "-5", ["MAOO_DEADLINE_SECONDS", "from 0 to 840"]),
        ("MAOO_TOOL_COSTS", "calc=inf", ["MAOO_TOOL_COSTS", "'calc=inf'", "tool=cost"]),
        ("MAOO_TOOL_COSTS", "calc", ["MAOO_TOOL_COSTS", "'calc'", "tool=cost"]),
        ("MAOO_TOOL_COSTS", "calc=-1", ["MAOO_TOOL_COSTS", "'calc=-1'", "tool=cost"]),
        ("MAOO_LOG_DESTINATION", "syslog", ["MAOO_LOG_DESTINATION", "file, stdout, stderr"]),
    ],
)
def test_bad_value_names_the_variable_and_what_is_accepted(monkeypatch, variable, value, expected_words):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as exc:
        reload_settings()
    for word in expected_words:
        assert word in str(exc.value)


@pytest.mark.parametrize(
    "variable",
    [
        "MAOO_HTTP_ALLOWLIST",
        "MAOO_MOCK_API_URL",
        "MAOO_IDEMPOTENT_ORIGINS",
    ],
)
def test_non_http_origin_names_the_variable(monkeypatch, variable):
    monkeypatch.setenv(variable, "ftp://x")
    with pytest.raises(ConfigError) as exc:
        reload_settings()
    assert "http(s)" in str(exc.value)
    assert variable in str(exc.value)


def test_non_http_allowlist_entry_is_refused(monkeypatch):
    monkeypatch.setenv("MAOO_HTTP_ALLOWLIST", "http://ok.example, ftp://x")
    with pytest.raises(ConfigError) as exc:
        reload_settings()
    assert "'ftp://x' is not an http(s) URL with a host" in str(exc.value)


def test_allowed_origins_include_the_mock_api_with_explicit_port(monkeypatch):
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:8765/")
    monkeypatch.setenv(
        "MAOO_HTTP_ALLOWLIST", "https://API.example.com/v1, http://localhost, http://127.0.0.1:8765"
    )
    origins = reload_settings().allowed_origins()
    assert origins == ("https://api.example.com:443", "http://localhost:80", "http://127.0.0.1:8765")


def test_mock_api_without_port_gets_the_scheme_default(monkeypatch):
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://localhost")
    assert reload_settings().allowed_origins() == ("http://localhost:80",)


def test_idempotent_origins_default_to_the_mock_api(monkeypatch):
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:8765")
    monkeypatch.delenv("MAOO_IDEMPOTENT_ORIGINS", raising=False)
    assert reload_settings().idempotent_origins() == ("http://127.0.0.1:8765",)


def test_empty_idempotent_origins_override_means_none(monkeypatch):
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:8765")
    monkeypatch.setenv("MAOO_IDEMPOTENT_ORIGINS", "")
    assert reload_settings().idempotent_origins() == ()


def test_idempotent_origins_override_replaces_the_default(monkeypatch):
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:8765")
    monkeypatch.setenv("MAOO_IDEMPOTENT_ORIGINS", "https://pay.example, http://10.0.0.5:9000")
    assert reload_settings().idempotent_origins() == ("https://pay.example:443", "http://10.0.0.5:9000")


def test_guard_overrides_come_from_their_variables(monkeypatch):
    for variable, value in (
        ("MAOO_MAX_STEPS", "5"),
        ("MAOO_MAX_RETRIES_PER_STEP", "0"),
        ("MAOO_MAX_RETRIES", "3"),
        ("MAOO_BUDGET", "7.5"),
        ("MAOO_DEADLINE_SECONDS", "30"),
        ("MAOO_NON_PROGRESS_LIMIT", "2"),
    ):
        monkeypatch.setenv(variable, value)
    assert reload_settings().guards_overrides == {
        "max_steps": 5,
        "max_retries_per_step": 0,
        "max_retries": 3,
        "budget": 7.5,
        "deadline_seconds": 30,
        "non_progress_limit": 2,
    }


def test_unset_guard_variables_leave_the_defaults(monkeypatch):
    monkeypatch.setenv("MAOO_BUDGET", "4")
    assert reload_settings().guards_overrides == {"budget": 4}


def test_tool_costs_are_parsed(monkeypatch):
    monkeypatch.setenv("MAOO_TOOL_COSTS", "http_get=2, calc=0.5,")
    assert reload_settings().tool_costs == {"http_get": 2.0, "calc": 0.5}
