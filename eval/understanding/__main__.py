"""``python -m eval.understanding [--part tuning|held_out|all] [--category C] [--failures] [--json]``.

Exit codes: 0 the figures were measured; 2 a bad argument or a corpus file that does not validate.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from eval.understanding.corpus import PARTS, CorpusFileError, load
from eval.understanding.runner import run_entries, summary

app = typer.Typer(add_completion=False)


def _table(part: str, figures: dict) -> Table:
    table = Table(
        title=f"{part}: {figures['right']}/{figures['total']} right ({figures['accuracy']} %), "
        f"{figures['false_successes']} false successes"
    )
    for column in ("category", "right", "total", "%", "false successes"):
        table.add_column(column)
    for category, row in sorted(figures["categories"].items()):
        table.add_row(
            category,
            str(row["right"]),
            str(row["total"]),
            f"{100 * row['right'] / row['total']:.1f}",
            str(row["false_successes"]),
        )
    return table


@app.command()
def main(
    part: Annotated[str, typer.Option(help="tuning, held_out or all")] = "all",
    category: Annotated[str | None, typer.Option(help="only this category")] = None,
    failures: Annotated[bool, typer.Option(help="list every request not handled right")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    parts = PARTS if part == "all" else (part,)
    console = Console(stderr=as_json, width=400 if failures else None)
    report: dict = {}
    try:
        corpora = {name: load(name) for name in parts}
    except CorpusFileError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    for name, corpus in corpora.items():
        entries = [e for e in corpus.requests if category is None or e.category == category]
        with console.status(f"running {len(entries)} {name} requests"):
            verdicts = run_entries(entries)
        figures = summary(verdicts)
        report[name] = {**figures, "not_right": [asdict(v) for v in verdicts if not v.right]}
        if not as_json:
            console.print(_table(name, figures))
            if failures:
                for v in verdicts:
                    if not v.right:
                        flag = "FALSE SUCCESS " if v.false_success else ""
                        console.print(
                            f"  {flag}{v.entry_id} [{v.category}] {v.request!r}: {'; '.join(v.problems)}",
                            markup=False,
                        )
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    app()
