"""Whole executions through the embedded engine, against a real mock API on loopback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests

from chalicelib.config import reload_settings
from localrun.session import Session
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

    def run(
        self, request: str, *, faults: list[dict[str, Any]] | None = None, **guards: Any
    ) -> dict[str, Any]:
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


@pytest.fixture
def engine(maoo):
    """The process's embedded engine (started by a first run); tests swap its handlers with monkeypatch."""
    from embedded_engine import get_embedded_engine

    maoo.run("calculate 1 + 1")
    return get_embedded_engine(None, {})


def lose_first_response(engine, monkeypatch, function: str) -> dict[str, int]:
    """Make ``function`` run for real but lose its first response as a Lambda service fault.

    Returns the live call counter. The state machine's native Retry re-invokes the function.
    """
    from embedded_engine import SimulatedServiceError

    real = engine.handlers[function]
    calls = {"n": 0}

    def handler(event, context):
        result = real(event, context)
        calls["n"] += 1
        if calls["n"] == 1:
            raise SimulatedServiceError("the function ran but its response was lost")
        return result

    monkeypatch.setitem(engine.handlers, function, handler)
    return calls
