"""MAOO's command line.

Exit codes: 0 the run succeeded; 1 it failed or was stopped; 2 bad input or usage.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import typer
from rich.console import Console

from chalicelib.errors import MaooError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="MAOO: plan, run and watch operations requests.")
console = Console()
err = Console(stderr=True)

JSON_HELP = "Print one machine-readable JSON document instead of the views."


def _fail_usage(message: str) -> None:
    err.print(f"[bold red]error:[/bold red] {message}")
    raise typer.Exit(2)


def _finish(doc: dict[str, Any], as_json: bool, explains: str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    else:
        from cli.views import render_run

        render_run(console, doc, explains)
    raise typer.Exit(0 if doc["status"] == "succeeded" else 1)


def _guards(max_steps: Optional[int], max_retries: Optional[int], budget: Optional[float]) -> dict[str, Any]:
    values = {"max_steps": max_steps, "max_retries_per_step": max_retries, "budget": budget}
    return {k: v for k, v in values.items() if v is not None}


@app.command()
def demo(
    name: str = typer.Argument(..., help="happy | refinement | stop"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Run one of the three demos on the embedded engine."""
    from cli.demos import DEMOS
    from cli.session import Session

    chosen = DEMOS.get(name)
    if chosen is None:
        _fail_usage(f"unknown demo {name!r}; choose one of: {', '.join(DEMOS)}")
    try:
        with Session() as session:
            session.arm_faults(chosen.faults)
            doc = session.run(chosen.request, chosen.guards)
    except MaooError as exc:
        _fail_usage(str(exc))
    _finish(doc, as_json, chosen.explains)


@app.command()
def run(
    request: str = typer.Option(..., "--request", "-r", help="The operations request, in plain language."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    max_steps: Optional[int] = typer.Option(None, min=1, help="Stop after this many tool calls."),
    max_retries: Optional[int] = typer.Option(None, min=0, help="Retries allowed per step."),
    budget: Optional[float] = typer.Option(None, min=0, help="Cost units the run may spend."),
) -> None:
    """Run a request of your own."""
    from cli.session import Session

    try:
        with Session() as session:
            doc = session.run(request, _guards(max_steps, max_retries, budget))
    except MaooError as exc:
        _fail_usage(str(exc))
    _finish(doc, as_json)


@app.command()
def runs(limit: int = typer.Option(20, min=1, max=500, help="How many recent runs.")) -> None:
    """List recent runs."""
    from rich.table import Table

    from chalicelib.memory.store import get_run_store

    table = Table(title="Recent runs")
    for column in ("run id", "status", "reason", "request"):
        table.add_column(column, overflow="fold")
    for row in get_run_store().list_runs(limit):
        table.add_row(row["run_id"], row["status"], row["stop_reason"] or "-", row["request"])
    console.print(table)


@app.command()
def show(
    run_id: str = typer.Argument(..., help="A run id from `python -m cli runs`."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show a past run with the same views (or JSON)."""
    from chalicelib.memory.store import get_run_store

    doc = get_run_store().get_run(run_id)
    if doc is None or "steps" not in doc:
        _fail_usage(f"no finished run {run_id!r}; list runs with `python -m cli runs`")
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
        table.add_row(tool["name"], tool["side_effect"], f"{tool['cost']:g}", args, tool["description"])
    console.print(table)


@app.command("eval")
def eval_(
    filter_: Optional[str] = typer.Option(None, "--filter", help="Run only scenarios whose id or request contains this text."),
    category: Optional[str] = typer.Option(None, "--category", help="Run only this category (e.g. fault_recovery)."),
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="Run scenarios in this many processes."),
    scenarios: Optional[str] = typer.Option(None, "--scenarios", help="Scenario file (default eval/scenarios.json)."),
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
    columns = (TextColumn("[bold]eval[/bold]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("", total=len(chosen))
            run = run_scenarios(chosen, workers=workers,
                                on_done=lambda o: progress.update(task, advance=1, description=f"{o.id}: {o.result}"))
    except MaooError as exc:
        _fail_usage(str(exc))
    from chalicelib.config import get_settings

    files = write_reports(run, get_settings().traces_dir)
    render_eval(console, run, files)
    raise typer.Exit(0 if run.ok else 1)


def main() -> None:
    try:
        app()
    except MaooError as exc:  # a setting read on first use, e.g. a bad MAOO_* value
        err.print(f"[bold red]error:[/bold red] {exc}")
        sys.exit(2)
