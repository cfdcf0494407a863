"""Serve MAOO's MCP server on stdio, or on streamable HTTP on a loopback port.

``python -m cli mcp`` parses the operator's options and calls :func:`serve`; the SDK is imported
when the server starts, never when the CLI does.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from chalicelib.errors import BadRequestError

DEFAULT_PORT = 8766
LOOPBACK = "127.0.0.1"


def serve(http: bool, port: int | None, allow_writes: bool, wait_seconds: float, api_url: str | None) -> None:
    """Serve until interrupted; bad options (or a port taken) raise ``BadRequestError`` before anything runs."""
    from chalicelib.config import origin_of
    from chalicelib.errors import ConfigError

    if port is not None and not http:
        raise BadRequestError("--port applies only with --http")
    if api_url is not None:
        try:
            origin_of(api_url)
        except ConfigError:
            raise BadRequestError(
                f"--api-url {api_url!r} is not an http(s) URL; give the HTTP API's root, e.g. http://127.0.0.1:8000"
            ) from None
    listening = None
    if http:
        try:
            listening = _listen(DEFAULT_PORT if port is None else port)
        except OSError as exc:
            raise BadRequestError(
                f"cannot listen on {LOOPBACK}:{port}: {exc.strerror or exc}; choose another --port (0: a free one)"
            ) from None
    _serve(listening, allow_writes, wait_seconds, api_url.rstrip("/") if api_url else None)


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _handlers() -> dict[str, Any]:
    from app import app

    return app.handler_map


def _serve(
    listening: socket.socket | None, allow_writes: bool, wait_seconds: float, api_url: str | None
) -> None:
    import anyio

    from chalicelib.api import RunService
    from embedded_engine import open_embedded_runner
    from localrun.session import Session
    from mcp_server.answers import McpOptions
    from mcp_server.server import build_server

    with Session() as session:
        options = McpOptions(
            allow_writes=allow_writes,
            wait_seconds=wait_seconds,
            api_url=api_url,
            mock_api_url=session.mock.url if session.mock is not None else None,
        )
        server = build_server(RunService(_handlers, embedded=open_embedded_runner), options)
        writes = "held for approval" if options.writes_held() else "allowed (--allow-writes)"
        try:
            if listening is None:
                sys.stderr.write(f"MAOO MCP server on stdio; writes {writes}\n")
                anyio.run(server.run_stdio_async)
            else:
                anyio.run(_serve_http, server, listening, writes)
        except KeyboardInterrupt:
            pass


async def _serve_http(server: Any, listening: socket.socket, writes: str) -> None:
    """Streamable HTTP on the loopback socket; a request whose Host or Origin is not this address is refused."""
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings

    port = listening.getsockname()[1]
    names = (f"{LOOPBACK}:{port}", f"localhost:{port}")
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(names),
        allowed_origins=[f"http://{name}" for name in names],
    )
    app = server.streamable_http_app(transport_security=security, host=LOOPBACK)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    sys.stderr.write(f"MAOO MCP server on http://{LOOPBACK}:{port}/mcp; writes {writes}\n")
    sys.stderr.flush()
    await uvicorn.Server(config).serve(sockets=[listening])
