"""Run pages as files: ``python -m cli show RUN_ID --html FILE`` and ``python -m cli screenshots``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chalicelib.errors import BadRequestError


def read_trace(run_id: str) -> dict[str, Any]:
    """The run's trace document, as ``GET /runs/{id}/trace`` gives it; an unknown run is an error."""
    from chalicelib.errors import RunNotFoundError
    from chalicelib.workflow.service import Runs

    try:
        return Runs().trace(run_id)  # reading a trace opens no engine
    except RunNotFoundError as exc:
        raise BadRequestError(f"{exc}; list runs with `python -m cli runs`") from None


def write_run_page(run_id: str, path: str | Path) -> Path:
    """Write the run's self-contained page to ``path``; returns the path written."""
    from chalicelib.viewer import render_trace

    target = Path(path)
    if target.is_dir():
        raise BadRequestError(f"--html {str(path)!r} is a folder; give a file name such as {run_id}.html")
    page = render_trace(read_trace(run_id))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise BadRequestError(f"cannot write --html {str(path)!r}: {exc.strerror}") from None
    return target
