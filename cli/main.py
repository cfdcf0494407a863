"""MAOO's command line.

Exit codes: 0 the run succeeded; 1 it failed, was stopped or was interrupted (the store failed); 2 bad
input or usage (a refused resume or approval too); 3 the run waits for an approval.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

# pydantic looks for plugins in every installed package's entry points the first time it builds a
# model: 40-80 ms of a cold command here. MAOO uses none; set PYDANTIC_DISABLE_PLUGINS yourself (to
# a plugin's name, or to "none") to choose otherwise. Set before typer, which builds models on import.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer  # noqa: E402 - after the setting above

from chalicelib.errors import MaooError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="MAOO: plan, run and watch operations requests."
)


class _LazyConsole:
    """A Rich console made on first use, so that a command that prints JSON never imports Rich
    (about 30 ms of a cold ``cli run --json``)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None

    @property
    def real(self) -> Any:
        """The Rich console itself, for code that takes one (views, progress bars)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def Text(text: str) -> Any:  # noqa: N802 - stands for rich.text.Text, imported on first use
    from rich.text import Text as RichText

    return RichText(text)


console: Any = _LazyConsole()
err: Any = _LazyConsole(stderr=True)

JSON_HELP = "Print one machine-readable JSON document instead of the views."


def _fail_usage(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/bold red] {escape(message)}")
    raise typer.Exit(2)


def _finish(doc: dict[str, Any], as_json: bool, explains: str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    else:
        from cli.views import render_run

        render_run(console.real, doc, explains)
    raise typer.Exit(EXIT_CODES.get(doc["status"], 1))


EXIT_CODES = {"succeeded": 0, "awaiting_approval": 3}  # anything else: 1
APPROVE_HELP = (
    "Which steps wait for a person's approval: none, or writes (every write and write-idempotent step). "
    "Default: MAOO_APPROVAL, else none. A held run exits 3; decide with `approve` or `reject`."
)


def _store_failed(exc: MaooError) -> None:
    """The run store failed: the run is left interrupted at its last checkpoint (exit 1)."""
    err.print(f"[bold red]error:[/bold red] {escape(str(exc))}")
    raise typer.Exit(1)


ENGINE_HELP = (
    "Engine for this command: embedded (in-process, the default), localstack (MAOO_LOCALSTACK_URL, default "
    "http://127.0.0.1:4566; deploy first with `python -m cli deploy --target localstack`) or aws "
    "(MAOO_STATE_MACHINE_ARN). Sets MAOO_ENGINE. On every engine the mock API starts in-process unless "
    "MAOO_MOCK_API_URL is set; Lambdas running inside Docker cannot reach a loopback mock API, so for them set "
    "MAOO_MOCK_API_URL to the compose mock-api service (http://172.30.213.10:8765)."
)
_DEPLOY_HINTS = {
    "localstack": "deploy it first: python -m cli deploy --target localstack",
    "aws": "deploy it first (docs/guides/deploy.md) and set MAOO_STATE_MACHINE_ARN",
}
_UNREACHABLE_HINTS = {
    "localstack": "start LocalStack first (`make localstack-up`, or `docker compose -f localstack-compose.yml up -d "
    "localstack`) or set MAOO_LOCALSTACK_URL",
    "aws": "check the AWS credentials, region (MAOO_REGION) and network",
}


def _remote_failure(engine: str, exc: Exception) -> str:
    """What a user must do when a remote engine cannot run the request."""
    text = str(exc).rstrip(".")
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    from chalicelib.errors import StateMachineNotFoundError

    if isinstance(exc, StateMachineNotFoundError) or code == "StateMachineDoesNotExist":
        return (
            f"{text.split('; deploy it first')[0]}; {_DEPLOY_HINTS[engine]} (or set MAOO_STATE_MACHINE_ARN)"
        )
    if code:
        return f"the {engine} engine refused {getattr(exc, 'operation_name', 'the call')}: {text}"
    if "cannot reach" in text or type(exc).__module__.startswith("botocore"):
        return f"{text}; {_UNREACHABLE_HINTS[engine]}"
    return text


@contextmanager
def _engine(choice: str | None) -> Iterator[None]:
    """``MAOO_ENGINE`` set to ``choice`` for one command (restored after); a remote engine's failures exit 2."""
    from chalicelib.config import ENGINES, get_settings
    from chalicelib.errors import WorkflowError

    before = os.environ.get("MAOO_ENGINE")
    engine = (choice if choice is not None else before or "embedded").strip().lower()
    if choice is not None:
        if engine not in ENGINES:
            _fail_usage(f"--engine {choice!r} is not accepted; use one of: {', '.join(ENGINES)}")
        os.environ["MAOO_ENGINE"] = engine
    try:
        yield
    except Exception as exc:
        remote = engine in _DEPLOY_HINTS
        if remote and (isinstance(exc, WorkflowError) or type(exc).__module__.startswith("botocore")):
            _fail_usage(_remote_failure(engine, exc))
        raise
    finally:
        if choice is not None:
            if before is None:
                os.environ.pop("MAOO_ENGINE", None)
            else:
                os.environ["MAOO_ENGINE"] = before
            get_settings.cache_clear()


def _guards(max_steps: int | None, max_retries: int | None, budget: float | None) -> dict[str, Any]:
    values = {"max_steps": max_steps, "max_retries_per_step": max_retries, "budget": budget}
    return {k: v for k, v in values.items() if v is not None}


@app.command()
def demo(
    name: str = typer.Argument(..., help="happy | refinement | stop"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    engine: str | None = typer.Option(None, "--engine", help=ENGINE_HELP),
) -> None:
    """Run one of the three demos (on the embedded engine unless --engine says otherwise)."""
    from cli.demos import DEMOS
    from localrun.session import Session

    chosen = DEMOS.get(name)
    if chosen is None:
        _fail_usage(f"unknown demo {name!r}; choose one of: {', '.join(DEMOS)}")
    try:
        with _engine(engine), Session(ends_process=True) as session:
            session.arm_faults(chosen.faults)
            doc = session.run(chosen.request, chosen.guards, use_memory=chosen.use_memory)
    except MaooError as exc:
        _fail_usage(str(exc))
    _finish(doc, as_json, chosen.explains)


@app.command()
def run(
    request: str | None = typer.Option(
        None, "--request", "-r", help="The operations request, in plain language."
    ),
    plan_text: str | None = typer.Option(
        None,
        "--plan-text",
        help="Instead of --request: the request language's text, as a run shows it understood "
        "(docs/understanding.md), e.g. 'incidents | where status = open | count'.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    max_steps: int | None = typer.Option(None, min=1, help="Stop after this many tool calls."),
    max_retries: int | None = typer.Option(None, min=0, help="Retries allowed per step."),
    budget: float | None = typer.Option(None, min=0, help="Cost units the run may spend."),
    engine: str | None = typer.Option(None, "--engine", help=ENGINE_HELP),
    memory: bool = typer.Option(
        True, "--memory/--no-memory", help="Let long-term memory of past runs inform the plan."
    ),
    approve: str | None = typer.Option(None, "--approve", help=APPROVE_HELP),
    key: str | None = typer.Option(
        None,
        "--key",
        help="An idempotency key: running the same request again with it "
        "shows the run it started instead of starting another.",
    ),
) -> None:
    """Run a request of your own (or plan text: exactly what to do, in the request language)."""
    from chalicelib.errors import StoreError
    from localrun.session import Session

    if (request is None) == (plan_text is None):
        _fail_usage("give exactly one of --request (plain language) and --plan-text (the request language)")
    try:
        with _engine(engine), Session(ends_process=True) as session:
            doc = session.run(
                str(request if plan_text is None else plan_text),
                _guards(max_steps, max_retries, budget),
                use_memory=memory,
                approve=approve,
                key=key,
                plan_text=plan_text is not None,
            )
    except StoreError as exc:
        _store_failed(exc)
    except MaooError as exc:
        _fail_usage(str(exc))
    _finish(doc, as_json)


NOT_FOUND_HINT = "list runs with `python -m cli runs`"


def _continue(run_id: str, as_json: bool, engine: str | None, action: Any) -> None:
    """Resume, approve or reject in this process, through the run service (``action(service, run_id)``):
    the run is shown to its end like `run` shows it."""
    from chalicelib.errors import RunNotFoundError, StoreError
    from localrun.session import Session

    try:
        with _engine(engine), Session(continues=run_id, ends_process=True) as session:
            doc = action(session.service, run_id)
    except StoreError as exc:
        _store_failed(exc)
    except RunNotFoundError as exc:
        _fail_usage(f"{exc}; {NOT_FOUND_HINT}")
    except MaooError as exc:
        _fail_usage(str(exc))
    _finish(doc, as_json)


@app.command()
def resume(
    run_id: str = typer.Argument(..., help="An interrupted run (see `python -m cli runs`)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    engine: str | None = typer.Option(None, "--engine", help=ENGINE_HELP),
) -> None:
    """Finish an interrupted run from its last checkpoint (a new execution RUN_ID-rN of the same run)."""
    _continue(run_id, as_json, engine, lambda service, rid: service.resume(rid))


@app.command()
def approve(
    run_id: str = typer.Argument(
        ..., help="A run waiting for an approval (exit code 3, status awaiting_approval)."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    engine: str | None = typer.Option(None, "--engine", help=ENGINE_HELP),
) -> None:
    """Approve the write a run holds; the run goes on from its checkpoint."""
    _continue(run_id, as_json, engine, lambda service, rid: service.approve(rid))


@app.command()
def reject(
    run_id: str = typer.Argument(..., help="A run waiting for an approval."),
    reason: str = typer.Option(..., "--reason", help="Why: kept in the run's trace and its stop detail."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    engine: str | None = typer.Option(None, "--engine", help=ENGINE_HELP),
) -> None:
    """Reject the write a run holds: the run ends stopped (rejected), with nothing written."""
    _continue(run_id, as_json, engine, lambda service, rid: service.reject(rid, reason))


from cli.fork import register as _register_fork  # noqa: E402 - the fork command lives in its own module

_register_fork(app)


@app.command()
def runs(
    limit: int = typer.Option(20, min=1, max=500, help="How many recent runs."),
    as_json: bool = typer.Option(
        False, "--json", help='Print {"runs": [...]} (run_id, status, stop_reason, request, created_at).'
    ),
) -> None:
    """List recent runs. A run whose process is gone shows as interrupted: finish it with `resume`."""
    from rich.table import Table

    from chalicelib.errors import StoreError
    from localrun.session import runs_here

    try:
        with _engine(None):
            listed = runs_here().list(limit)  # a hold past its TTL is ended by this listing
    except StoreError as exc:
        _store_failed(exc)
    if not listed and not as_json:  # say where it looked, not an empty table
        from chalicelib.config import get_settings

        settings = get_settings()
        where = f"DynamoDB table {settings.runs_table}" if settings.store == "dynamodb" else settings.db_path
        console.print(f'No runs in {where}. Start one with `python -m cli run --request "..."`.')
        return
    if as_json:
        sys.stdout.write(json.dumps({"runs": listed}, indent=2, default=str) + "\n")
        return
    table = Table(title="Recent runs")
    forks = any(row.get("forked_from") for row in listed)  # the column only when a run is a fork
    for column in ("run id", "status", "reason", "request", *(["forked from"] if forks else [])):
        table.add_column(column, overflow="fold")
    for row in listed:
        parent = row.get("forked_from")
        lineage = [Text(f"{parent['run_id']} at {parent['step_id']}" if parent else "-")] if forks else []
        table.add_row(
            Text(row["run_id"]),
            Text(row["status"]),
            Text(row["stop_reason"] or "-"),
            Text(row["request"]),
            *lineage,
        )
    console.print(table)


@app.command()
def show(
    run_id: str = typer.Argument(..., help="A run id from `python -m cli runs`."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    html_file: str | None = typer.Option(
        None, "--html", help="Write the run's page (self-contained HTML) to this file."
    ),
) -> None:
    """Show a past run with the same views (or JSON), or write its HTML page with --html FILE."""
    from chalicelib.errors import RunNotFoundError, StoreError
    from localrun.session import runs_here

    if html_file is not None:
        from cli.pages import write_run_page

        try:
            console.print(f"wrote {write_run_page(run_id, html_file)}")
        except MaooError as exc:
            _fail_usage(str(exc))
        return
    try:
        with _engine(None):
            doc = runs_here().get(run_id)  # a hold past its TTL: the first to look at it ends it
    except StoreError as exc:
        _store_failed(exc)
    except RunNotFoundError as exc:
        _fail_usage(f"{exc}; {NOT_FOUND_HINT}")
    except MaooError as exc:
        _fail_usage(str(exc))
    _finish(doc, as_json)


@app.command()
def tools(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """List the allowlisted tools with their side-effect class, cost and argument schema."""
    from rich.table import Table

    from chalicelib.tools.registry import describe_tools

    described = describe_tools()
    if as_json:
        sys.stdout.write(json.dumps(described, indent=2) + "\n")
        return
    table = Table(title="Tools")
    for column in ("tool", "side effect", "cost", "arguments", "description"):
        table.add_column(column, overflow="fold")
    for tool in described:
        props = tool["args_schema"].get("properties", {})
        required = set(tool["args_schema"].get("required", []))
        args = ", ".join(f"{k}{'' if k in required else '?'}" for k in props)
        table.add_row(
            Text(tool["name"]),
            Text(tool["side_effect"]),
            f"{tool['cost']:g}",
            Text(args),
            Text(tool["description"]),
        )
    console.print(table)


@app.command("eval")
def eval_(
    filter_: str | None = typer.Option(
        None, "--filter", help="Run only scenarios whose id or request contains this text."
    ),
    category: str | None = typer.Option(
        None, "--category", help="Run only this category (e.g. fault_recovery)."
    ),
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="Run scenarios in this many processes."),
    scenarios: str | None = typer.Option(
        None, "--scenarios", help="Scenario file (default eval/scenarios.json)."
    ),
) -> None:
    """Run the evaluation scenarios through the state machine; write traces, a summary, JUnit XML and an HTML report.

    Exit code 1 when a scenario fails, errors, or is marked known_gap but now passes (remove the
    marker); known gaps that still fail are listed apart and do not fail the eval.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from eval.cli_views import render_eval
    from eval.models import load_scenarios, select
    from eval.report import write_reports
    from eval.runner import run_scenarios

    try:
        chosen = select(load_scenarios(scenarios), filter_, category)
    except MaooError as exc:
        _fail_usage(str(exc))
    if not chosen:
        _fail_usage(f"no scenario matches --filter {filter_!r} --category {category!r}")
    columns = (
        TextColumn("[bold]eval[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    try:
        with Progress(*columns, console=console.real, transient=True) as progress:
            task = progress.add_task("", total=len(chosen))
            run = run_scenarios(
                chosen,
                workers=workers,
                on_done=lambda o: progress.update(task, advance=1, description=f"{o.id}: {o.result}"),
            )
    except MaooError as exc:
        _fail_usage(str(exc))
    from chalicelib.config import get_settings

    files = write_reports(run, get_settings().traces_dir)
    render_eval(console.real, run, files)
    raise typer.Exit(0 if run.ok else 1)


@app.command("openapi")
def openapi_(
    out: str | None = typer.Option(
        None, "--out", help="Write the document to this file (default: print it)."
    ),
) -> None:
    """The HTTP API's OpenAPI 3.1 document, generated from app.py's routes and their pydantic models."""
    from app import app as chalice_app
    from chalicelib.http_contract import openapi_document, undescribed_routes

    routes = [(path, method) for path, methods in chalice_app.routes.items() for method in methods]
    text = json.dumps(openapi_document(routes), indent=2) + "\n"
    for path, method in undescribed_routes(routes):
        err.print(
            f"[bold yellow]warning:[/bold yellow] {method} {path} has no models in chalicelib/http_contract.py; "
            "it is listed as answering any JSON"
        )
    if out is None:
        sys.stdout.write(text)
        return
    with open(out, "w", encoding="utf-8") as handle:
        handle.write(text)
    err.print(f"wrote {out}")


@app.command()
def deploy(
    target: str = typer.Option(
        ...,
        "--target",
        help="Where to deploy: localstack. (AWS: `make package`, then CloudFormation; docs/guides/deploy.md.)",
    ),
    endpoint: str | None = typer.Option(
        None,
        "--endpoint",
        help="LocalStack's URL (default: MAOO_LOCALSTACK_URL, else http://127.0.0.1:4566).",
    ),
    stage: str = typer.Option(
        "localstack",
        "--stage",
        help="The chalice stage whose settings the functions get (.chalice/config.json).",
    ),
    out: str = typer.Option(
        "out/localstack", "--out", help="Folder for the chalice package (sam.json, deployment.zip)."
    ),
    parameter: list[str] | None = typer.Option(
        None,
        "--parameter",
        help="KEY=VALUE, repeatable: a template parameter (DeployTables, DeployFunctions: "
        "true|false) instead of the one chosen from what LocalStack runs.",
    ),
) -> None:
    """Package the stage as `make package` does and deploy that template as the CloudFormation stack maoo-<stage>.

    Re-running it updates the stack. What the LocalStack cannot run (DynamoDB, Python Lambdas on its host
    runtime) is left out by the template's parameters. Exit code 2: the endpoint is unreachable or lacks a
    service; 1: the stack failed (its events are printed).
    """
    from deploy import localstack as target_localstack
    from deploy.cloudformation import StackError, StackFailedError, failure_lines

    if target.strip().lower() not in target_localstack.TARGETS:
        _fail_usage(
            f"--target {target!r} is not accepted; use: {', '.join(target_localstack.TARGETS)}. For AWS run "
            "`make package`, then `aws cloudformation package` and `aws cloudformation deploy` (docs/guides/deploy.md)"
        )
    url = endpoint or os.environ.get("MAOO_LOCALSTACK_URL") or target_localstack.DEFAULT_ENDPOINT
    try:
        overrides = target_localstack.parse_overrides(parameter or [])
        deployment = target_localstack.deploy(url, stage, out, overrides=overrides, echo=err.print)
    except (
        target_localstack.EndpointError,
        target_localstack.UnknownStageError,
        target_localstack.ParameterError,
    ) as exc:
        _fail_usage(str(exc))
    except StackFailedError as exc:
        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}; the stack's failed events:")
        for line in failure_lines(exc.events) or ["(none reported)"]:
            err.print(f"  {line}", markup=False)
        raise typer.Exit(1) from None
    except (target_localstack.DeployError, StackError) as exc:
        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    target_localstack.render(console.real, deployment)


from cli.mcp_command import mcp  # noqa: E402 - beside the other commands; it imports the SDK only when run

app.command()(mcp)


def main() -> None:
    try:
        app()
    except MaooError as exc:  # a setting read on first use, e.g. a bad MAOO_* value
        from chalicelib.errors import StoreError

        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        sys.exit(1 if isinstance(exc, StoreError) else 2)
