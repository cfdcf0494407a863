"""Screenshots of the refinement demo's run page for docs/reference/run-pages.md: ``make screenshots``.

``python -m scripts.screenshots [FOLDER]`` runs the refinement demo on the embedded engine, writes
its page, opens it in headless Chromium (Debian's ``chromium``, or ``MAOO_CHROMIUM``) through
Playwright, and saves three PNGs into FOLDER (default ``examples/screenshots``): the graph, a
state's documents (the plan revised after the replan), and the timeline with the five views.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from chalicelib.errors import ConfigError

DEFAULT_FOLDER = Path(__file__).resolve().parent.parent / "examples" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH, HEIGHT = 1360, 960


def _chromium() -> str:
    named = os.environ.get("MAOO_CHROMIUM")
    binary = named if named and Path(named).is_file() else None
    if not named:
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        raise ConfigError(
            "no Chromium found: install Debian's chromium (`apt-get install chromium`) or set MAOO_CHROMIUM"
        )
    return binary


def refinement_page(folder: Path) -> Path:
    """Run the refinement demo and write its page into ``folder``; returns the page's path."""
    from cli.demos import DEMOS
    from cli.pages import write_run_page
    from localrun.session import Session

    demo = DEMOS["refinement"]
    with Session() as session:
        session.arm_faults(demo.faults)
        doc = session.run(demo.request, demo.guards, use_memory=demo.use_memory)
    return write_run_page(doc["run_id"], folder / "refinement.html")


def take(folder: Path) -> list[Path]:
    """Write the three screenshots into ``folder``; returns their paths."""
    from playwright.sync_api import sync_playwright

    binary = _chromium()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        page_file = refinement_page(Path(work))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.goto(page_file.as_uri())
            shots = [
                folder / name
                for name in ("run-page-graph.png", "run-page-documents.png", "run-page-timeline.png")
            ]
            page.screenshot(path=str(shots[0]))
            page.locator('#graph .node[data-state="Plan"]').click()
            page.locator("#detail-body .visits button").nth(1).click()  # the plan revised after the replan
            page.screenshot(path=str(shots[1]))
            page.locator("#detail-close").click()
            page.locator("details.events > summary").click()
            top = (page.locator("#timeline").bounding_box() or {"y": 0})["y"] + page.evaluate(
                "window.scrollY"
            )
            page.screenshot(
                path=str(shots[2]),
                full_page=True,
                clip={"x": 0, "y": max(top - 50, 0), "width": WIDTH, "height": 860},
            )
            browser.close()
    return shots


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else DEFAULT_FOLDER
    try:
        for path in take(folder):
            print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError:
        print(
            "error: playwright is not installed; install the dev extra: pip install -e '.[dev]'",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
