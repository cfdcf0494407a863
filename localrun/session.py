"""What a front end opens to run a request here: settings, the mock API, the engine, and the run service
(``chalicelib.workflow.service.Runs``) over them, which owns every run's life."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings, reload_settings
from chalicelib.workflow.engines import open_runner
from chalicelib.workflow.service import Runs
from embedded_engine import open_embedded_runner

if TYPE_CHECKING:
    from localrun.mock_on_demand import MockApiOnDemand


def _handlers() -> dict[str, Any]:
    from app import app

    return app.handler_map


def runs_here() -> Runs:
    """The run service for a command that only reads runs (``show``, ``runs``, a run page): no mock API
    is served, and the engine opens only to end a hold past its TTL (its Finalize calls no tool)."""
    return Runs(_handlers, embedded=open_embedded_runner)


class Session:
    """Serves the mock API in-process on a free loopback port unless ``MAOO_MOCK_API_URL`` is set
    (on the port the run started with, when the session continues a run).

    The port is bound at once (its origin is what gets allowlisted); the server itself starts
    when a run's plan is foreseen to call it, beside the engine's start, or else on the first
    connection (``localrun.mock_on_demand``), so a run that calls no HTTP tool never waits for it."""

    def __init__(self, continues: str | None = None, ends_process: bool = False) -> None:
        """``continues``: the run this session resumes, approves or rejects; the mock API is then
        served on the loopback port that run started with (``localrun.mock_origin``). ``ends_process``:
        the process ends with this session (a CLI command), so the mock API is not waited for as
        it stops."""
        self._ends_process = ends_process
        self.mock: MockApiOnDemand | None = None
        self.settings: Settings = reload_settings()
        self._runner: Any = None  # the engine's WorkflowRunner, opened on the first run
        self._continues = continues
        self.service = Runs(
            runner=self.runner, settings=lambda: self.settings, before_start=self._serve_ahead
        )
        """The run service over this session's engine: start, show, resume, approve, reject, fork."""

    def __enter__(self) -> Session:
        if not self.settings.mock_api_url:
            from localrun.mock_on_demand import MockApiOnDemand

            port = None
            if self._continues is not None:
                from localrun.mock_origin import port_taken, recorded_mock_port

                port = recorded_mock_port(self._continues)
            try:
                mock = MockApiOnDemand(port=port or 0)
            except OSError:
                if port is None:
                    raise
                raise port_taken(self._continues or "", port) from None
            self.mock = mock
            os.environ["MAOO_MOCK_API_URL"] = mock.url
            self.settings = reload_settings()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.mock is not None:
            self.mock.stop(wait=not self._ends_process)
            os.environ.pop("MAOO_MOCK_API_URL", None)
            reload_settings()

    @property
    def mock_api_url(self) -> str:
        return self.settings.mock_api_url or ""

    def arm_faults(self, rules: list[dict[str, Any]]) -> None:
        """Reset the mock API, then arm this fault plan on it."""
        if self.mock is not None:
            if not self.mock.started and not rules:
                return  # a server that has not started has nothing to reset
            self.mock.start_ahead()
            self.runner()  # the engine starts while the mock API does
            self.mock.ensure_started()
        import requests

        requests.post(f"{self.mock_api_url}/_admin/reset", timeout=5).raise_for_status()
        if rules:
            requests.post(
                f"{self.mock_api_url}/_admin/faults", json={"rules": rules}, timeout=5
            ).raise_for_status()

    def run(
        self,
        request: str,
        guards: dict[str, Any] | None = None,
        use_memory: bool = True,
        approve: str | None = None,
        key: str | None = None,
        plan_text: bool = False,
    ) -> dict[str, Any]:
        """Run a request (``plan_text``: the request language's text) to its end (or first hold); with
        ``key``, a request already run under that key returns its run instead (``Runs.start``)."""
        return self.service.start(
            request, guards, use_memory=use_memory, approve=approve, key=key, plan_text=plan_text
        ).document

    def _serve_ahead(self, request: str, plan_text: bool = False) -> None:
        """Start the mock API now if the request's plan will call it, so that it starts while the
        engine does instead of when the run first calls it. A wrong forecast costs nothing but time:
        a server not started ahead still starts on its first connection."""
        if self.mock is None or self.mock.started:
            return
        from chalicelib.workflow.forecast import calls_origin

        if calls_origin(request, self.mock.url, plan_text):
            self.mock.start_ahead()

    def runner(self) -> Any:
        if self._runner is None:
            self._runner = open_runner(self.settings, _handlers, embedded=open_embedded_runner)
        return self._runner
