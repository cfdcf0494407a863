"""The run service: one owner of a run's whole life, for every front end.

Start, wait, show, list, trace, resume, approve, reject and fork are implemented here once; the
HTTP API (``chalicelib.api``, which only parses bodies and maps errors to status codes), the CLI
(through ``localrun.Session``), the MCP server, the eval and the bench all call a ``Runs``. Its
methods take and return plain values and raise ``MaooError`` subclasses; a front end words the
answer its users read (``RunNotFoundError`` gets "GET /runs lists recent runs" over HTTP and "list
runs with `python -m cli runs`" on the command line).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings, get_settings
from chalicelib.errors import MaooError, MockApiNotConfiguredError, RunNotFoundError, StoreError
from chalicelib.memory.records import RunRow, TraceEvent, record_of
from chalicelib.memory.store import get_run_store
from chalicelib.workflow.fork import parse_sets
from chalicelib.workflow.sfn_runner import WorkflowRunner

__all__ = ["Runs", "Started", "parse_sets"]  # parse_sets: a front end's --set STEP.ARG=VALUE options

Handlers = Callable[[], dict[str, Any]]

DEFAULT_OPS_API = "http://127.0.0.1:8765"
"""Where the rule-based planner sends ops-API calls when ``MAOO_MOCK_API_URL`` is not set."""
MOCK_API_HINT = (
    "this request calls the ops API, and MAOO_MOCK_API_URL is not set, so nothing would answer it. "
    "Start the mock API (python -m mock_api.server --port 8765) and start the server again with "
    "MAOO_MOCK_API_URL=http://127.0.0.1:8765 (chalice local --stage local); the CLI starts one for you"
)


def needs_default_ops_api(request: str, plan_text: bool = False) -> bool:
    """Would the rule-based plan of ``request`` call the ops API at its unconfigured default URL?

    ``chalice local`` does not start the mock API the way the CLI does; such a run would only stop
    with a ``policy_denied`` on an address nobody allowlisted, which reads as a security denial for
    what is a set-up step. A request that cannot be planned here is left to the run to explain.
    """
    from chalicelib.workflow.forecast import calls_origin

    return calls_origin(request, DEFAULT_OPS_API, plan_text)


@dataclass(frozen=True)
class Started:
    """What ``start`` and ``fork`` answer: the run document, and whether the run goes on without the
    caller (``waiting``: started and not waited for; follow it with ``get`` or ``wait``)."""

    document: dict[str, Any]
    waiting: bool = False


class Runs:
    """Runs on the configured engine. ``handlers`` supplies the Lambda handlers and ``embedded`` the
    embedded engine's runner factory (see ``workflow.engines.open_runner``); a front end that already
    holds a runner passes ``runner`` instead (``localrun.Session``). ``settings`` gives the settings
    each call reads (default: the process's)."""

    def __init__(
        self,
        handlers: Handlers | None = None,
        embedded: Callable[..., Any] | None = None,
        *,
        runner: Callable[[], WorkflowRunner] | None = None,
        settings: Callable[[], Settings] = get_settings,
        before_start: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._handlers = handlers
        self._embedded = embedded
        self._open = runner
        self._settings = settings
        self._before_start = before_start  # e.g. the CLI's mock API, started while the engine starts
        self._runner: WorkflowRunner | None = None
        self._lock = threading.Lock()
        # runs this process let go because the store failed while it finished them in the background:
        # they read interrupted, with the store's error, even when the store could not record that
        self._store_failures: dict[str, str] = {}

    def runner(self) -> WorkflowRunner:
        """The engine's runner, opened on first use (once per ``Runs``)."""
        if self._open is not None:
            return self._open()
        from chalicelib.workflow.engines import open_runner

        with self._lock:
            if self._runner is None:
                if self._handlers is None:
                    raise MaooError("this run service was opened without Lambda handlers: it cannot run")
                self._runner = open_runner(self._settings(), self._handlers, embedded=self._embedded)
            return self._runner

    # --- start, wait -------------------------------------------------------------------------

    def start(
        self,
        request: str,
        guards: Mapping[str, Any] | None = None,
        *,
        use_memory: bool = True,
        approve: str | None = None,
        key: str | None = None,
        wait: bool = True,
        plan_text: bool = False,
    ) -> Started:
        """Start a request (``plan_text``: the request language's text); with ``wait``, run it to its end
        or first hold.

        With ``key``, a request already started under that key answers that run instead of a second
        one (``IdempotencyConflictError`` if the key was used for another request). A store failure
        while it runs is a ``StoreError`` naming the run, which reads interrupted: ``resume`` finishes it."""
        from chalicelib.workflow.runs import execute, initial_state, let_go_on_store_failure, start_run

        settings = self._settings()
        state = initial_state(
            request, settings, dict(guards or {}), use_memory=use_memory, approve=approve, plan_text=plan_text
        )
        if (
            settings.engine == "embedded"
            and not settings.mock_api_url
            and needs_default_ops_api(state.request, plan_text)
        ):
            raise MockApiNotConfiguredError(MOCK_API_HINT)
        if key is not None:  # bound only once the run can start: a retry then finds it
            from chalicelib.workflow.request_keys import claim

            body = {
                "request": state.request,
                "guards": dict(guards or {}),
                "use_memory": use_memory,
                "approve": state.approve,
                **({"plan_text": True} if plan_text else {}),
            }
            earlier = claim(key, body, state.run_id)
            if earlier is not None:  # a retry: the run it started, not a second run
                try:
                    return Started(self.get(earlier))
                except RunNotFoundError:  # bound, and not yet written by the process starting it
                    return Started({"run_id": earlier, "request": state.request, "status": "running"})
        if self._before_start is not None:
            self._before_start(state.request, plan_text)
        runner = self.runner()
        try:
            if wait:
                return Started(execute(runner, settings, state, settings.engine))
            with let_go_on_store_failure(state.run_id):
                arn = start_run(runner, state, settings.engine)
        except StoreError as exc:  # the run reads interrupted: resume finishes it later
            raise StoreError(f"{exc} (run {state.run_id})") from exc
        return self._going_on(runner, settings, state, arn)

    def _going_on(self, runner: WorkflowRunner, settings: Settings, state: Any, arn: str) -> Started:
        """A run started and not waited for; on the embedded engine nobody else will collect it, so it
        is finished in the background (a store failure there is remembered for ``get``)."""
        if settings.engine == "embedded":
            threading.Thread(
                target=_finish_in_background,
                args=(runner, settings, state, arn, self._store_failures),
                daemon=True,
            ).start()
        return Started({"run_id": state.run_id, "status": "running"}, waiting=True)

    def wait(self, run_id: str, seconds: float, poll_seconds: float = 0.2) -> dict[str, Any]:
        """The run's document once it is no longer ``running``, or as it is after ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            document = self.get(run_id)
            if document["status"] != "running" or time.monotonic() >= deadline:
                return document
            time.sleep(poll_seconds)

    # --- show, list, trace -------------------------------------------------------------------

    def get(self, run_id: str) -> dict[str, Any]:
        """The run as every reader sees it: a remote engine's finished run recorded, a hold past its
        TTL ended (the first to look at it ends it), an unfinished run as its last checkpoint holds it."""
        from chalicelib.durable.status import as_seen
        from chalicelib.workflow.fork import with_lineage
        from chalicelib.workflow.runs import checkpointed_document, refresh_run

        document = get_run_store().get_run(run_id)
        if document is None:
            raise RunNotFoundError(run_id)
        failure = self._let_go(run_id, document)
        if failure is not None:
            document = {**document, "status": "interrupted"}
        if record_of(document).status == "running" and self._settings().engine != "embedded":
            document = refresh_run(self.runner(), self._settings(), document)
        if as_seen(document) is not document:
            from chalicelib.workflow.resume import end_if_expired

            document = end_if_expired(self.runner(), self._settings(), document)
        if record_of(document).in_flight:  # no end document yet: what its last checkpoint holds
            document = checkpointed_document(document)
        if failure is not None:  # not "its process is gone": this process let it go
            after = getattr(record_of(document), "last_checkpoint", None) or "its start"
            document["final_output"] = (
                f"Interrupted after {after}: the run store failed. Finish it with "
                f"`python -m cli resume {run_id}` once the store works again."
            )
            document["stop_detail"] = failure
        document.pop("start_state", None)
        return with_lineage(as_seen(document))

    def _let_go(self, run_id: str, document: dict[str, Any]) -> str | None:
        """The store's error, for a run this process let go when the store failed and nobody took up since."""
        failure = self._store_failures.get(run_id)
        if failure is None or not record_of(document).in_flight:
            return None
        if document["status"] == "running":  # the store could not record the let-go: is it still ours?
            try:
                owner = get_run_store().get_owner(run_id)
            except MaooError:
                return failure
            if owner is None or owner["pid"] != os.getpid():
                return None
        return failure

    def events(self, run_id: str) -> list[TraceEvent]:
        """The run's trace events so far, in order (``[]`` for a run not yet recorded)."""
        return get_run_store().events(run_id)

    def trace(self, run_id: str) -> dict[str, Any]:
        """The run's trace: its exported file when there is one, else its document and events."""
        import json

        from chalicelib.workflow.fork import with_lineage

        store = get_run_store()
        document = store.get_run(run_id)
        if document is None:
            raise RunNotFoundError(run_id)
        trace_file = record_of(document).trace_file
        if trace_file:
            try:
                with open(trace_file, encoding="utf-8") as handle:
                    trace = json.load(handle)
                return {**trace, "run": with_lineage(trace.get("run") or {"run_id": run_id})}
            except FileNotFoundError:
                pass
        return {
            "run_id": run_id,
            "run": with_lineage({k: v for k, v in document.items() if k != "start_state"}),
            "events": store.events(run_id),
            "execution": None,
        }

    def history(self, execution_arn: str) -> dict[str, Any] | None:
        """The execution's history as the engine gives it now; ``None`` if it cannot."""
        try:
            return {"arn": execution_arn, "history": self.runner().history(execution_arn)}
        except Exception:  # noqa: BLE001 - any engine fault only makes a page show less
            return None

    # --- resume, approve, reject, fork ---------------------------------------------------------

    def resume(self, run_id: str) -> dict[str, Any]:
        """Finish an interrupted run from its last checkpoint (a new execution RUN_ID-rN of the same run)."""
        from chalicelib.workflow.resume import resume

        self._known(run_id)
        return resume(self.runner(), self._settings(), run_id)

    def decide(self, run_id: str, decision: str, reason: str = "") -> dict[str, Any]:
        """Approve or reject the write a run holds; the run goes on (or ends rejected) from its checkpoint."""
        from chalicelib.workflow.resume import decide

        self._known(run_id)
        return decide(self.runner(), self._settings(), run_id, decision, reason)

    def approve(self, run_id: str) -> dict[str, Any]:
        return self.decide(run_id, "approve")

    def reject(self, run_id: str, reason: str = "") -> dict[str, Any]:
        return self.decide(run_id, "reject", reason)

    def fork(
        self,
        run_id: str,
        from_step: str,
        sets: Mapping[str, Any] | None = None,
        guards: Mapping[str, Any] | None = None,
        approve: str | None = None,
        yes: bool = False,
        wait: bool = True,
    ) -> Started:
        """A new run from ``from_step`` of an ended run (``chalicelib.workflow.fork``); waited as ``start``."""
        from chalicelib.workflow import fork as forks
        from chalicelib.workflow.runs import execute, let_go_on_store_failure, start_run

        settings = self._settings()
        state = forks.prepare(settings, run_id, from_step, sets, guards, approve, yes)
        runner = self.runner()
        forks.begin(state, sets)
        if wait:
            return Started(execute(runner, settings, state, settings.engine))
        with let_go_on_store_failure(state.run_id):
            arn = start_run(runner, state, settings.engine)
        return self._going_on(runner, settings, state, arn)

    def _known(self, run_id: str) -> None:
        if get_run_store().get_run(run_id) is None:
            raise RunNotFoundError(run_id)

    def list(self, limit: int = 20) -> list[RunRow]:  # last: below, ``list`` is this method
        """The ``limit`` newest runs; a hold past its TTL is ended by this listing too (``workflow.listing``)."""
        from chalicelib.workflow.listing import list_runs

        return list_runs(limit, lambda: (self.runner(), self._settings()))


def _finish_in_background(
    runner: WorkflowRunner, settings: Settings, state: Any, arn: str, failures: dict[str, str]
) -> None:
    """Collect a run nobody waits for. A store that fails leaves it ``interrupted`` (logged, and kept in
    ``failures`` for readers of the run), not a thread's traceback."""
    from chalicelib.observability import get_logger
    from chalicelib.workflow.runs import follow, let_go_on_store_failure

    try:
        with let_go_on_store_failure(state.run_id):
            follow(runner, settings, state, arn, settings.engine)  # Express: and the executions it goes on in
    except StoreError as exc:
        failures[state.run_id] = str(exc)
        get_logger().error(
            "run left interrupted: the run store failed", extra={"run_id": state.run_id, "error": str(exc)}
        )
