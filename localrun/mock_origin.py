"""Where a run found the in-process mock API, so that continuing it in a new process finds it again.

A step's URL is fixed when it is planned, and the one loopback origin allowlisted is the mock API's
own. The in-process mock API binds a free port per process, so a resume, an approval or a rejection
in a new process would otherwise serve it elsewhere, and the run's planned calls to the old port
would be refused by policy. The run's ``start`` event records the mock API URL it started with;
continuing the run serves the mock API on that same loopback port.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from chalicelib.errors import BadRequestError, StoreError
from chalicelib.memory.store import get_run_store

LOOPBACK = "127.0.0.1"


class MockPortTakenError(BadRequestError):
    """The loopback port a run used for the mock API is held by something else now."""


def recorded_mock_port(run_id: str) -> int | None:
    """The loopback port of the mock API the run started with, or None if it recorded none.

    None also for a run that does not exist (the command itself then says so), for a run that
    started before this was recorded, and for a mock API that was not on 127.0.0.1 (then any port
    serves: no planned URL or allowlist entry can point at the in-process one)."""
    try:
        events = get_run_store().events(run_id)
    except StoreError:
        return None  # the command reading the run reports the store's failure itself
    start = next((e for e in events if e["kind"] == "start"), None)
    url = start["data"].get("mock_api_url") if start else None
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "http" or parts.hostname != LOOPBACK or port is None:
        return None
    return port


def port_taken(run_id: str, port: int) -> MockPortTakenError:
    return MockPortTakenError(
        f"run {run_id} was planned against the in-process mock API on http://{LOOPBACK}:{port}, "
        f"but port {port} is in use by something else now; free port {port}, or set "
        "MAOO_MOCK_API_URL to a mock API that serves this run"
    )
