"""``python -m cli mcp``: the command that starts the MCP server (``mcp_server``), its options only.

The SDK and the server are imported when the command runs, never when the CLI starts.
"""

from __future__ import annotations

import sys

import typer

from mcp_server.serve import DEFAULT_PORT  # socket and the errors only: the SDK loads when the server starts


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
    from chalicelib.errors import BadRequestError
    from mcp_server.serve import serve

    try:
        serve(http, port, allow_writes, wait_seconds, api_url)
    except BadRequestError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise typer.Exit(2) from None
