"""Run the mock API: ``python -m mock_api.server``, or in a background thread for tests and demos.

It only listens on loopback unless told otherwise, because its admin routes are unauthenticated
and its whole purpose is to misbehave. Output stays quiet (warnings only, no access log), and
the error uvicorn logs for every intentionally dropped connection is filtered out.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from mock_api.app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# What uvicorn logs when an app returns before finishing its response, i.e. a ``drop``.
_DROP_MESSAGE = "ASGI callable returned without completing response."


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _IntentionalDropFilter(logging.Filter):
    """Hides uvicorn's error for responses this app leaves unfinished on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != _DROP_MESSAGE


def _quiet_intentional_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _IntentionalDropFilter) for f in logger.filters):
        logger.addFilter(_IntentionalDropFilter())


def _config(app: FastAPI, host: str, port: int, **options: object) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        **options,  # type: ignore[arg-type]
    )


class RunningMockApi:
    """A mock API serving from a daemon thread; ``stop()`` it, or use it as a context manager."""

    def __init__(self, app: FastAPI, server: uvicorn.Server, thread: threading.Thread, url: str):
        self.app = app
        self.url = url
        self._server = server
        self._thread = thread

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(2.0)

    def __enter__(self) -> RunningMockApi:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=0.5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_in_thread(host: str = DEFAULT_HOST, port: int = 0, startup_timeout: float = 5.0) -> RunningMockApi:
    """Serve a fresh mock API on ``host:port`` (0 = a free port) and wait until /health answers.

    The socket is bound here, before the thread starts, so the port is known and no other
    process can take it in between. The readiness probe is cleared from the request log.
    """
    if not is_loopback(host):
        raise ValueError(f"start_in_thread serves loopback only, not {host!r}")
    host = "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound_port = sock.getsockname()[1]
    url_host = f"[{host}]" if family == socket.AF_INET6 else host
    url = f"http://{url_host}:{bound_port}"

    running = serve_bound_socket(sock, url)

    deadline = time.monotonic() + startup_timeout
    while not _healthy(url):
        if not running.alive or time.monotonic() > deadline:
            running.stop()
            sock.close()
            raise RuntimeError(f"mock API on {url} did not answer /health within {startup_timeout:g}s")
        time.sleep(0.05)
    running.app.state.mock.recorder.clear()
    return running


def _server_on(sock: socket.socket, app: FastAPI | None = None) -> uvicorn.Server:
    """A quiet uvicorn server of ``app`` (a fresh mock API by default), for the socket the caller bound."""
    host, port = sock.getsockname()[:2]
    _quiet_intentional_drops()
    return uvicorn.Server(_config(app or create_app(), host, port, log_config=None))


def serve_bound_socket(sock: socket.socket, url: str) -> RunningMockApi:
    """Serve a fresh mock API on ``sock`` (bound to loopback by the caller) from a daemon thread.

    Returns at once: connections already waiting on the socket are answered once the server is
    up. ``start_in_thread`` adds the wait for /health; ``localrun.mock_on_demand`` starts the server
    this way when the first connection arrives."""
    app = create_app()
    server = _server_on(sock, app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"mock-api-{sock.getsockname()[1]}", daemon=True
    )
    thread.start()
    return RunningMockApi(app, server, thread, url)


def serve_forever_on(sock: socket.socket) -> None:
    """Serve a fresh mock API on ``sock`` (bound to loopback and listening) in this thread, until stopped
    (``mock_api.child``)."""
    _server_on(sock).run(sockets=[sock])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mock_api.server", description="Serve the MAOO mock ops API with fault injection."
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the admin routes are unauthenticated)",
    )
    args = parser.parse_args(argv)
    if not args.allow_remote and not is_loopback(args.host):
        parser.error(
            f"refusing to listen on non-loopback host {args.host!r}: the mock API has "
            "unauthenticated admin routes; pass --allow-remote to do it anyway"
        )

    server = uvicorn.Server(_config(create_app(), args.host, args.port))
    _quiet_intentional_drops()
    print(
        f"Starting MAOO mock API on http://{args.host}:{args.port} (admin under /_admin; Ctrl+C to stop)",
        flush=True,
    )
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
