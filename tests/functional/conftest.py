"""Whole executions through the embedded engine, against a real mock API on loopback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests

from chalicelib.config import reload_settings
from cli.session import Session
from mock_api.server import start_in_thread


@pytest.fixture(scope="session")
def mock_api():
    with start_in_thread() as running:
        yield running


@dataclass
class Harness:
    """Run requests the way the CLI does, and look at what the mock API saw."""

    session: Session
    url: str

    def run(self, request: str, *, faults: list[dict[str, Any]] | None = None, **guards: Any) -> dict[str, Any]:
        self.session.arm_faults(faults or [])
        return self.session.run(request, guards)

    def side_effects(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.url}/_admin/side-effects", timeout=5).json()["side_effects"]

    def requests_seen(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.url}/_admin/requests", timeout=5).json()["requests"]


@pytest.fixture
def maoo(mock_api, monkeypatch):
    monkeypatch.setenv("MAOO_MOCK_API_URL", mock_api.url)
    reload_settings()
    requests.post(f"{mock_api.url}/_admin/reset", timeout=5).raise_for_status()
    return Harness(Session(), mock_api.url)
