"""``chalice local`` as MAOO runs it: loopback only, and a listen queue that holds a burst.

``chalice local`` imports ``app.py`` before it creates its server, so ``app.py`` calls
``harden_chalice_local()`` at import. In Lambda (and in any process that is not ``chalice
local``) ``chalice.local`` is not loaded and this does nothing.

- The local server has no authentication (API Gateway's IAM authorizer is not emulated), so it
  must not be reachable from another machine: binding to anything but a loopback address is
  refused, with a message, before it listens.
- Python's ``HTTPServer`` listens with a queue of 5. A burst of 50 concurrent connections then
  overflows it, and some clients see a reset before any answer; a queue of 128 holds the burst
  while the server's threads answer.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Any

LISTEN_QUEUE = 128
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """True for a loopback IP literal or a loopback name (``localhost``)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def harden_chalice_local() -> None:
    """Patch ``chalice local``'s server class, if it is loaded; idempotent."""
    local = sys.modules.get("chalice.local")
    server_cls: Any = getattr(local, "ThreadedHTTPServer", None)
    if server_cls is None or getattr(server_cls, "_maoo_hardened", False):
        return
    original_bind = server_cls.server_bind

    def server_bind(self: Any) -> None:
        host = str(self.server_address[0])
        if not is_loopback(host):
            raise SystemExit(
                f"MAOO: chalice local serves without authentication and binds to loopback only; "
                f"--host {host} is refused (use --host 127.0.0.1, the default). "
                "Deploy with `make package` to serve other machines behind IAM authorization."
            )
        original_bind(self)

    server_cls.server_bind = server_bind
    server_cls.request_queue_size = LISTEN_QUEUE
    server_cls._maoo_hardened = True
