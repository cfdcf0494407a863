"""What a CLI command needs before it can run a request: settings, the mock API, the engine."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings, reload_settings
from chalicelib.workflow.engines import open_runner
from chalicelib.workflow.runs import execute, initial_state

if TYPE_CHECKING:
    from mock_api.server import RunningMockApi


def _handlers() -> dict[str, Any]:
    from app import app

    return app.handler_map


class Session:
    """Starts the mock API in-process on a free loopback port unless ``MAOO_MOCK_API_URL`` is set."""

    def __init__(self) -> None:
        self.mock: RunningMockApi | None = None
        self.settings: Settings = reload_settings()
        self._runner: Any = None  # the engine's WorkflowRunner, opened on the first run

    def __enter__(self) -> Session:
        if not self.settings.mock_api_url:
            from mock_api.server import start_in_thread

            self.mock = start_in_thread()
            os.environ["MAOO_MOCK_API_URL"] = self.mock.url
            self.settings = reload_settings()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.mock is not None:
            self.mock.stop()
            os.environ.pop("MAOO_MOCK_API_URL", None)
            reload_settings()

    @property
    def mock_api_url(self) -> str:
        return self.settings.mock_api_url or ""

    def arm_faults(self, rules: list[dict[str, Any]]) -> None:
        """Reset the mock API, then arm this fault plan on it."""
        import requests

        requests.post(f"{self.mock_api_url}/_admin/reset", timeout=5).raise_for_status()
        if rules:
            requests.post(f"{self.mock_api_url}/_admin/faults", json={"rules": rules}, timeout=5).raise_for_status()

    def run(self, request: str, guards: dict[str, Any] | None = None, use_memory: bool = True) -> dict[str, Any]:
        start = initial_state(request, self.settings, guards, use_memory=use_memory)
        if self._runner is None:
            self._runner = open_runner(self.settings, _handlers)
        return execute(self._runner, self.settings, start, self.settings.engine)
