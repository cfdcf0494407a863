"""Shared fixtures. Every test gets its own runtime folder; nothing is written into the repo."""

from __future__ import annotations

import pytest

from chalicelib.config import get_settings, reload_settings


@pytest.fixture(autouse=True)
def isolated_runtime(tmp_path, monkeypatch):
    """A fresh ``MAOO_RUNTIME_DIR`` and default settings for every test."""
    for name in ("MAOO_MOCK_API_URL", "MAOO_HTTP_ALLOWLIST", "MAOO_ENGINE", "MAOO_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAOO_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("MAOO_BACKOFF_BASE_SECONDS", "0")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    reload_settings()
    yield tmp_path / "runtime"
    get_settings.cache_clear()  # the environment is restored after this fixture; read it afresh next time
