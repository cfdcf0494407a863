"""Serve the mock API in a child process, on a listening socket its parent bound and passed down.

``python -m mock_api.child FD``: ``FD`` is an inherited socket, already bound to loopback and
listening (``localrun.mock_on_demand`` binds it, so its address is known and allowlisted before this
process exists). Connections that arrive while this process imports FastAPI and uvicorn wait in
the socket's queue and are answered once the server is up.

The parent holds the write end of this process's stdin. The server stops when that pipe closes:
when the parent stops it, and also when the parent dies in any way, ``kill -9`` included, so a
child never outlives the command that started it nor keeps its port.
"""

from __future__ import annotations

import os
import socket
import sys
import threading


def _exit_when_parent_goes() -> None:
    """Block until stdin reaches end of file (the parent closed it or died), then end the process."""
    try:
        while sys.stdin.buffer.read(1):
            pass
    finally:
        os._exit(0)  # nothing to flush: the mock API keeps its state in memory only


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m mock_api.child FD (a listening loopback socket)", file=sys.stderr)
        return 2
    sock = socket.socket(fileno=int(args[0]))
    threading.Thread(target=_exit_when_parent_goes, name="parent-watch", daemon=True).start()

    from mock_api.server import serve_forever_on

    serve_forever_on(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
