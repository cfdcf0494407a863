"""Who drives a run: its owner (process id + host) and the lease the owner renews.

A ``running`` run whose owner is gone reads ``interrupted`` in every store, so it is never shown
``running`` for ever; ``cli resume`` finishes it.
"""

from __future__ import annotations

import os
import socket
import time

from chalicelib.config import get_settings
from chalicelib.memory.records import Owner


def owner_alive(owner: Owner | None, updated_at: float | None = None) -> bool:
    """Whether a ``running`` run still has someone driving it.

    On this host the owner's process id decides (a killed process is seen at once); elsewhere its
    lease does (the owner renews it while the run is in flight). A run with no owner record is
    alive only while it was updated within the default lease.
    """
    now = time.time()
    if owner is None:
        return updated_at is not None and now - updated_at < get_settings().lease_seconds
    if owner["host"] == socket.gethostname():
        return _pid_alive(int(owner["pid"]))
    return float(owner["lease_until"] or 0) > now


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is gone for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True
