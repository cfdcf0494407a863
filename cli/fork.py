"""``python -m cli fork RUN_ID --from STEP_ID``: a new run from a step of an ended run.

The command only reads options and shows the fork like ``run`` shows a run; the fork itself is the
run service's (``Runs.fork``), which the HTTP API's ``POST /runs/{id}/fork`` calls too.
"""

from __future__ import annotations

import typer

FROM_HELP = "The step to start at (a step id of the run's plan, e.g. s3): it and every later step run anew."
SET_HELP = (
    "STEP_ID.ARG=VALUE, repeatable: correct an argument of the fork step (or of a later step) before it runs; "
    "a dotted ARG sets a field of an object argument (s3.json_body.severity=sev1). VALUE is JSON when it "
    "parses as JSON, else text. Checked against the tool's schema and the policy like any planned argument."
)
YES_HELP = (
    "Fork even when a write at or after the fork point already succeeded in the original run: the fork "
    "sends it again under its own idempotency key (a second incident). Without it such a fork exits 2."
)


def register(app: typer.Typer) -> None:
    """Add the ``fork`` command to the CLI's app (``cli.main`` calls this once)."""
    from cli.main import APPROVE_HELP, ENGINE_HELP, JSON_HELP

    @app.command()
    def fork(
        run_id: str = typer.Argument(..., help="An ended run (see `python -m cli runs`)."),
        from_step: str = typer.Option(..., "--from", help=FROM_HELP),
        set_: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
        approve: str | None = typer.Option(
            None, "--approve", help=APPROVE_HELP + " Default for a fork: the original run's policy."
        ),
        max_steps: int | None = typer.Option(None, min=1, help="Stop after this many tool calls."),
        max_retries: int | None = typer.Option(None, min=0, help="Retries allowed per step."),
        budget: float | None = typer.Option(None, min=0, help="Cost units the fork may spend."),
        yes: bool = typer.Option(False, "--yes", help=YES_HELP),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
        engine: str | None = typer.Option(None, "--engine", help=ENGINE_HELP),
    ) -> None:
        """Start a new run from a step of RUN_ID: the results before the step are reused, the step and
        every later one run again on today's code and settings. Writes before the step are never
        repeated; approvals are asked again."""
        from chalicelib.errors import MaooError, StoreError
        from chalicelib.workflow.service import parse_sets
        from cli.main import _engine, _fail_usage, _finish, _guards, _store_failed
        from localrun.session import Session

        try:
            sets = parse_sets(set_ or [])
            with _engine(engine), Session(continues=run_id, ends_process=True) as session:
                doc = session.service.fork(
                    run_id, from_step, sets, _guards(max_steps, max_retries, budget), approve, yes
                ).document
        except StoreError as exc:
            _store_failed(exc)
        except MaooError as exc:
            _fail_usage(str(exc))
        _finish(doc, as_json)
