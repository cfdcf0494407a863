"""Browser tests of the run page: headless Chromium driven by Playwright, against a real `chalice local`.

The browser is Debian's ``chromium`` (``apt-get install chromium``), or the binary named by
``MAOO_CHROMIUM``; Playwright's own browser downloads are never used. Where neither Playwright
nor a Chromium binary is found, every test here is skipped and says why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from mock_api.server import start_in_thread
from scripts.screenshots import CHROMIUM_ARGS  # the flags this machine's chromium needs, in one place
from tests import chalice_local

ROOT = Path(__file__).resolve().parents[2]
INSTALL_HINT = (
    "install Debian's chromium (`apt-get install chromium`) or set MAOO_CHROMIUM to a Chromium binary"
)


def chromium_path() -> str | None:
    """The Chromium binary to drive: ``MAOO_CHROMIUM``, else ``chromium`` on the PATH."""
    named = os.environ.get("MAOO_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests skipped: playwright is not installed (pip install -e '.[dev]')")
    binary = chromium_path()
    if binary is None:
        pytest.skip(f"browser tests skipped: no Chromium found; {INSTALL_HINT}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser) -> Iterator[Any]:
    """A fresh page that records every URL it requests (the run page must request nothing else)."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    opened = context.new_page()
    opened.requested = []  # type: ignore[attr-defined]
    opened.on("request", lambda request: opened.requested.append(request.url))
    yield opened
    context.close()


@pytest.fixture(scope="session")
def mock_api():
    with start_in_thread() as running:
        yield running


@dataclass
class Server:
    """A `chalice local` process serving the app, with its own runtime folder."""

    url: str
    runtime_dir: Path
    mock_url: str

    def arm_faults(self, rules: list[dict[str, Any]]) -> None:
        requests.post(f"{self.mock_url}/_admin/reset", timeout=5).raise_for_status()
        if rules:
            requests.post(
                f"{self.mock_url}/_admin/faults", json={"rules": rules}, timeout=5
            ).raise_for_status()

    def run(self, request: str, faults: list[dict[str, Any]] | None = None, **body: Any) -> dict[str, Any]:
        self.arm_faults(faults or [])
        response = requests.post(
            f"{self.url}/runs", json={"request": request, "use_memory": False, **body}, timeout=120
        )
        assert response.status_code in (200, 202), response.text
        return response.json()

    def view_url(self, run_id: str) -> str:
        return f"{self.url}/runs/{run_id}/view"


@pytest.fixture(scope="module")
def server(mock_api, tmp_path_factory) -> Iterator[Server]:
    runtime = tmp_path_factory.mktemp("viewer-runtime")
    env = {
        **os.environ,
        "MAOO_RUNTIME_DIR": str(runtime),
        "MAOO_MOCK_API_URL": mock_api.url,
        "MAOO_BACKOFF_BASE_SECONDS": "0",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    for name in ("MAOO_ENGINE", "MAOO_STORE", "MAOO_HTTP_ALLOWLIST"):
        env.pop(name, None)
    with chalice_local.serving(env) as url:
        yield Server(url, runtime, mock_api.url)
