"""Durable runs: the CLI in subprocesses that are killed, or whose store fails, then resumed.

Each drill gets its own runtime folder and its own mock API (served in the test process, so its
side-effect log outlives the killed CLI process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from mock_api.server import start_in_thread

ROOT = Path(__file__).resolve().parents[2]
# a read (with a 429 and its Retry-After wait), a write-idempotent step, and a summary
REQUEST = (
    "Fetch the checkout service status, open an incident for checkout with severity high, "
    "and summarize the result"
)
FAULTS = [
    {
        "path": "/services/checkout",
        "method": "GET",
        "fault": "http_429",
        "count": 1,
        "params": {"retry_after": 1},
    }
]
WRITE_REQUEST = "Open an incident for the checkout service with severity high"


@dataclass
class Cli:
    """``python -m cli`` in a fresh process, against one runtime folder and one mock API."""

    runtime: Path
    mock_url: str
    env: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "cli", *args],
            cwd=ROOT,
            env=self.environment(**env),
            capture_output=True,
            text=True,
            timeout=300,
        )

    def spawn(self, *args: str, **env: str) -> subprocess.Popen:
        """The CLI started and not waited for: a drill kills it (``SIGKILL``) where it wants."""
        return subprocess.Popen(
            [sys.executable, "-m", "cli", *args],
            cwd=ROOT,
            env=self.environment(**env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def environment(self, **env: str) -> dict[str, str]:
        full = {k: v for k, v in os.environ.items() if not k.startswith("MAOO_")}
        full.update(
            {
                "MAOO_RUNTIME_DIR": str(self.runtime),
                # empty: each CLI process serves its own in-process mock API, as on the default set-up
                **({"MAOO_MOCK_API_URL": self.mock_url} if self.mock_url else {}),
                "MAOO_BACKOFF_BASE_SECONDS": "0",
                "POWERTOOLS_TRACE_DISABLED": "true",
                **self.env,
                **env,
            }
        )
        return full

    def doc(self, *args: str, **env: str) -> tuple[int, dict[str, Any]]:
        done = self(*args, "--json", **env)
        assert done.stdout.strip(), f"no JSON from {args}: exit {done.returncode}\n{done.stderr[-2000:]}"
        return done.returncode, json.loads(done.stdout)

    def listed(self) -> list[dict[str, Any]]:
        """What `cli runs --json` lists, read in this process (no CLI start-up to pay for)."""
        from chalicelib.memory.store import SqliteRunStore

        return SqliteRunStore(self.runtime / "maoo.sqlite3").list_runs()

    def only_run(self) -> dict[str, Any]:
        listed = self.listed()
        assert len(listed) == 1, listed
        return listed[0]

    def side_effects(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.mock_url}/_admin/side-effects", timeout=5).json()["side_effects"]

    def arm(self, rules: list[dict[str, Any]]) -> None:
        requests.post(f"{self.mock_url}/_admin/reset", timeout=5).raise_for_status()
        if rules:
            requests.post(
                f"{self.mock_url}/_admin/faults", json={"rules": rules}, timeout=5
            ).raise_for_status()


@pytest.fixture
def cli(tmp_path):
    with start_in_thread() as mock:
        yield Cli(tmp_path / "drill-runtime", mock.url)
