"""``chalice local`` in a subprocess, for the tests that talk to the API over real HTTP.

One place starts it (the same command line a user types), waits for ``/health`` with a bound, and
stops it; the server's output goes to a log file, whose tail a failure shows.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    env: Mapping[str, str], *, host: str = "127.0.0.1", port: int | None = None
) -> tuple[subprocess.Popen, Path]:
    """Start ``chalice local --stage local``; returns the process and its log file."""
    fd, name = tempfile.mkstemp(prefix="chalice-local-", suffix=".log")
    with open(fd, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())", "local",
             "--host", host, "--port", str(port or free_port()), "--stage", "local", "--no-autoreload"],
            cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    return process, Path(name)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def serving(env: Mapping[str, str], timeout: float = 90.0) -> Iterator[str]:
    """``chalice local`` on a free loopback port, answering ``/health``; yields its base URL."""
    port = free_port()
    process, log = start(env, port=port)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"chalice local exited {process.returncode}:\n{log.read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"chalice local did not answer on {url} in {timeout:g} s:\n{log.read_text()[-2000:]}"
                )
            time.sleep(0.1)
        yield url
    finally:
        stop(process)
        log.unlink(missing_ok=True)
