"""``python -m cli mcp``: serve MAOO over MCP on stdio, or on streamable HTTP on loopback.

The SDK and the server are imported when the command runs, never when the CLI starts.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import typer

DEFAULT_PORT = 8766
LOOPBACK = "127.0.0.1"


def mcp(
    http: bool = typer.Option(
        False, "--http", help="Serve streamable HTTP on 127.0.0.1 (path /mcp) instead of stdio."
    ),
    port: int | None = typer.Option(
        None,
        "--port",
        min=0,
        max=65535,
        help=f"The loopback port for --http (default {DEFAULT_PORT}; 0: a free one, printed on stderr).",
    ),
    allow_writes: bool = typer.Option(
        False,
        "--allow-writes",
        help="Let runs started by MCP clients write without a person's approval (then MAOO_APPROVAL decides, "
        "as for the CLI). Default: every write waits for `python -m cli approve`.",
    ),
    wait_seconds: float = typer.Option(
        20.0,
        "--wait-seconds",
        min=0,
        max=50,
        help="How long run_request waits for a run before it answers `running` with the run id.",
    ),
    api_url: str | None = typer.Option(
        None,
        "--api-url",
        help="The HTTP API's URL (chalice local), to show the run page where a person approves a held write.",
    ),
) -> None:
    """Serve MAOO to MCP clients: run_request, get_run, list_runs and list_tools, and runs as resources.

    Writes wait for a person's approval unless --allow-writes; no MCP tool approves. Exit code 2: bad
    options, or the port is taken.
    """
    from chalicelib.config import origin_of
    from chalicelib.errors import ConfigError

    def refuse(message: str) -> None:
        sys.stderr.write(f"error: {message}\n")
        raise typer.Exit(2)

    if port is not None and not http:
        refuse("--port applies only with --http")
    if api_url is not None:
        try:
            origin_of(api_url)
        except ConfigError:
            refuse(
                f"--api-url {api_url!r} is not an http(s) URL; give the HTTP API's root, e.g. http://127.0.0.1:8000"
            )
    listening = None
    if http:
        try:
            listening = _listen(DEFAULT_PORT if port is None else port)
        except OSError as exc:
            refuse(
                f"cannot listen on {LOOPBACK}:{port}: {exc.strerror or exc}; choose another --port (0: a free one)"
            )
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
    from cli.mcp_answers import McpOptions
    from cli.mcp_server import build_server
    from embedded_engine import open_embedded_runner
    from localrun.session import Session

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
