"""Run scenarios through the real state machine and score them.

Each scenario runs the way ``python -m cli run`` does (``localrun.session.Session``, on the engine
``MAOO_ENGINE`` selects, embedded by default), in a runtime folder of its own
(``<runtime>/eval/<scenario id>-<random>/``), so that long-term memory, idempotency records and sandbox
files never leak from one scenario into the next. Around each scenario the runner sets
``MAOO_RUNTIME_DIR``, ``MAOO_BACKOFF_BASE_SECONDS=0`` (unless the scenario overrides it) and the
scenario's own ``MAOO_*`` overrides, and restores the environment afterwards. On the localstack
and aws engines the Lambdas read their own settings: a scenario's overrides reach only this
process, and ``files`` expectations fail, since the sandbox is not local.

Results: ``passed``; ``failed`` (a check failed); ``error`` (the run could not be made, known gap or not);
``known_gap`` (a scenario marked ``known_gap`` fails, as expected for now); ``unexpected_pass`` (a
scenario marked ``known_gap`` passes: remove the marker). ``failed``, ``error`` and
``unexpected_pass`` make the eval fail; ``known_gap`` does not, and is reported on its own.

With ``workers > 1`` scenarios are spread over spawned processes; each has its own embedded
engine and its own mock API (so fault plans never collide), and the results are merged in the
scenario file's order.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.config import get_settings, reload_settings
from chalicelib.errors import BadRequestError
from eval.models import Scenario
from eval.scoring import Check, Observed, score

if TYPE_CHECKING:
    from mock_api.server import RunningMockApi

Result = Literal["passed", "failed", "error", "known_gap", "unexpected_pass"]
FAILING_RESULTS = frozenset({"failed", "error", "unexpected_pass"})
# Faults whose request may still be in flight on the mock API after the run has moved on.
_DELAYED_FAULTS = frozenset({"timeout", "slow"})
_SETTLE_MARGIN_SECONDS = 5.0


@dataclass
class ScenarioOutcome:
    """One scenario's result, everything the reports need (plain data: it crosses processes)."""

    scenario: dict[str, Any]
    result: Result
    checks: list[dict[str, Any]]
    duration_ms: float
    doc: dict[str, Any] | None = None
    setup: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    trace_file: str | None = None

    @property
    def id(self) -> str:
        return self.scenario["id"]

    @property
    def category(self) -> str:
        return self.scenario["category"]

    @property
    def known_gap(self) -> str | None:
        return self.scenario.get("known_gap")

    @property
    def failed_checks(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if not c["passed"]]

    @property
    def counters(self) -> dict[str, Any]:
        return (self.doc or {}).get("counters") or {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "result": self.result,
            "checks": self.checks,
            "duration_ms": self.duration_ms,
            "doc": self.doc,
            "setup": self.setup,
            "error": self.error,
            "trace_file": self.trace_file,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenarioOutcome:
        return cls(**data)


def judge(checks: list[Check], known_gap: str | None, error: str | None = None) -> Result:
    """The scenario's result from its checks and its ``known_gap`` marker."""
    if error is not None:  # a run that cannot be made is an error, known gap or not
        return "error"
    met = bool(checks) and all(c.passed for c in checks)
    if known_gap:
        return "unexpected_pass" if met else "known_gap"
    return "passed" if met else "failed"


@contextmanager
def scenario_environment(values: dict[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` and reload the settings; restore both afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        reload_settings()
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reload_settings()


class EvalContext:
    """A mock API (started in-process unless ``MAOO_MOCK_API_URL`` is set) and where outputs go."""

    def __init__(self, runtime_dir: Path | None = None, mock_api_url: str | None = None):
        settings = get_settings()
        self.runtime_dir = Path(runtime_dir) if runtime_dir else settings.runtime_dir
        self.traces_dir = self.runtime_dir / "traces"
        self._mock: RunningMockApi | None = None
        self.mock_api_url = mock_api_url or settings.mock_api_url

    def __enter__(self) -> EvalContext:
        if not self.mock_api_url:
            from mock_api.server import start_in_thread

            self._mock = start_in_thread()
            self.mock_api_url = self._mock.url
        return self

    def __exit__(self, *exc: object) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    # -- the mock API's admin routes
    def _admin(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        import requests

        response = requests.request(method, f"{self.mock_api_url}/_admin/{path}", timeout=5, **kwargs)
        response.raise_for_status()
        return response.json()

    def arm(self, rules: list[dict[str, Any]]) -> None:
        self._admin("POST", "reset")
        if rules:
            self._admin("POST", "faults", json={"rules": rules})

    def observed(self, delayed_seconds: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Side effects and requests, once every delayed request has been answered."""
        deadline = time.monotonic() + delayed_seconds + _SETTLE_MARGIN_SECONDS
        while True:
            requests_seen = self._admin("GET", "requests")["requests"]
            pending = [
                r for r in requests_seen if r.get("fault") in _DELAYED_FAULTS and r.get("status") is None
            ]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return self._admin("GET", "side-effects")["side_effects"], requests_seen

    # -- one scenario
    def scenario_env(self, scenario: Scenario) -> dict[str, str]:
        """The settings a scenario runs with. Its runtime folder is new on every run: stores stay open
        in the process, so a folder is never reused (``run_scenarios`` clears ``<runtime>/eval`` first)."""
        folder = self.runtime_dir / "eval" / f"{scenario.id}-{uuid.uuid4().hex[:6]}"
        return {
            "MAOO_RUNTIME_DIR": str(folder),
            "MAOO_MOCK_API_URL": self.mock_api_url or "",
            "MAOO_BACKOFF_BASE_SECONDS": "0",
            **scenario.overrides.env,
        }

    def run_scenario(self, scenario: Scenario) -> ScenarioOutcome:
        """Run the scenario's setup runs, then its own run; score it and export its trace."""
        from localrun.session import Session

        env = self.scenario_env(scenario)
        started = time.perf_counter()
        doc: dict[str, Any] | None = None
        setup: list[dict[str, Any]] = []
        checks: list[Check] = []
        error: str | None = None
        try:
            with scenario_environment(env):
                session = Session()
                for prior in scenario.setup:
                    self.arm([r.model_dump() for r in prior.faults])
                    before = session.run(prior.request, prior.guards.values())
                    setup.append(
                        {
                            key: before.get(key)
                            for key in ("run_id", "request", "status", "stop_reason", "steps", "counters")
                        }
                    )
                self.arm([r.model_dump() for r in scenario.faults])
                doc = session.run(scenario.request, scenario.overrides.guards.values())
                delays = [
                    float(r.params.get("delay", 0)) for r in scenario.faults if r.fault in _DELAYED_FAULTS
                ]
                side_effects, requests_seen = self.observed(max(delays, default=0.0))
                files_dir = get_settings().files_dir if get_settings().engine == "embedded" else None
                checks = score(scenario.expect, Observed(doc, side_effects, requests_seen, files_dir))
        except Exception as exc:  # a run that cannot be made is reported, and the eval goes on
            error = f"{type(exc).__name__}: {exc}"
        if error is not None:
            checks.append(Check("run", False, f"the run could not be made: {error}"))
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        outcome = ScenarioOutcome(
            scenario=scenario.model_dump(mode="json"),
            result=judge(checks, scenario.known_gap, error),
            checks=[c.to_dict() for c in checks],
            duration_ms=duration_ms,
            doc=doc,
            setup=setup,
            error=error,
        )
        outcome.trace_file = str(self._export_trace(outcome))
        return outcome

    def _export_trace(self, outcome: ScenarioOutcome) -> Path:
        """``<runtime>/traces/<scenario id>.trace.json``: the run's trace plus the scenario and its scores."""
        trace: dict[str, Any] = {}
        source = (outcome.doc or {}).get("trace_file")
        if source and Path(source).is_file():
            trace = json.loads(Path(source).read_text(encoding="utf-8"))
        trace.update(
            {
                "scenario": outcome.scenario,
                "result": outcome.result,
                "scores": outcome.checks,
                "duration_ms": outcome.duration_ms,
                "setup_runs": outcome.setup,
                "error": outcome.error,
                "run_trace_file": source,
            }
        )
        path = self.traces_dir / f"{outcome.id}.trace.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(trace, indent=2, default=str) + "\n", encoding="utf-8")
        return path


# ---------------------------------------------------------------- many scenarios

_worker: EvalContext | None = None


def _worker_run(runtime_dir: str, scenario: Scenario) -> dict[str, Any]:
    """In a worker process: one mock API and engine per process, reused for every scenario it gets."""
    global _worker
    if _worker is None:
        os.environ.pop("MAOO_MOCK_API_URL", None)
        reload_settings()
        _worker = EvalContext(Path(runtime_dir)).__enter__()
    return _worker.run_scenario(scenario).to_dict()


@dataclass
class EvalRun:
    outcomes: list[ScenarioOutcome]
    duration_s: float
    engine: str
    workers: int

    @property
    def failing(self) -> list[ScenarioOutcome]:
        return [o for o in self.outcomes if o.result in FAILING_RESULTS]

    @property
    def ok(self) -> bool:
        return not self.failing


def run_scenarios(
    scenarios: list[Scenario],
    *,
    workers: int = 1,
    runtime_dir: Path | None = None,
    on_done: Callable[[ScenarioOutcome], None] | None = None,
) -> EvalRun:
    """Run ``scenarios`` (in parallel processes when ``workers > 1``); outcomes in the given order."""
    settings = get_settings()
    runtime_dir = Path(runtime_dir) if runtime_dir else settings.runtime_dir
    shutil.rmtree(runtime_dir / "eval", ignore_errors=True)  # the previous eval's scratch folders
    started = time.perf_counter()
    by_id: dict[str, ScenarioOutcome] = {}
    if workers <= 1:
        with EvalContext(runtime_dir) as ctx:
            for scenario in scenarios:
                outcome = ctx.run_scenario(scenario)
                by_id[scenario.id] = outcome
                if on_done:
                    on_done(outcome)
    else:
        if settings.mock_api_url:
            raise BadRequestError(
                "--workers above 1 needs a mock API per worker; unset MAOO_MOCK_API_URL or use one worker"
            )
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(scenarios)) or 1, mp_context=context) as pool:
            futures = {pool.submit(_worker_run, str(runtime_dir), s): s for s in scenarios}
            for future in as_completed(futures):
                outcome = ScenarioOutcome.from_dict(future.result())
                by_id[outcome.id] = outcome
                if on_done:
                    on_done(outcome)
    return EvalRun(
        [by_id[s.id] for s in scenarios],
        round(time.perf_counter() - started, 2),
        settings.engine,
        max(workers, 1),
    )
