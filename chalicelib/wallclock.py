"""Wall-clock limits for outgoing HTTP calls, from the connect to the last byte of the body.

A per-read socket timeout (what ``requests`` calls ``timeout``) does not bound a call: a server
that sends its status line, headers or body one byte per second never lets a single read time
out, and held a tool for 65 s against a "6 s" limit. ``CallDeadline`` bounds the whole call: a
timer shuts down every socket the call opened when the limit is reached, so a blocked read
returns at once and the caller reports the limit that was hit.

Sockets are registered with the deadline that is current in this thread: the HTTP tools' pinned
connections do it themselves (``tools._http``); ``bounded_request`` does it for any other
``requests`` call (the LLM client).
"""

from __future__ import annotations

import socket
import threading
import time
from functools import lru_cache
from typing import Any


class CallDeadline:
    """The wall-clock limit of one call, enforced on every socket the call opens (a context manager)."""

    _active = threading.local()

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends_at = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> CallDeadline:
        CallDeadline._active.current = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        CallDeadline._active.current = None

    @classmethod
    def current(cls) -> CallDeadline | None:
        """The deadline of the call this thread is making, if any."""
        return getattr(cls._active, "current", None)

    def remaining(self) -> float:
        return max(0.0, self.ends_at - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the limit is reached (at once if it already was)."""
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            shutdown(sock)


def shutdown(sock: socket.socket) -> None:
    """End every blocked read and write on ``sock``; a socket already closed is left alone."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


@lru_cache(maxsize=1)
def _watched_adapter_class() -> type:
    """An ``HTTPAdapter`` whose new connections are watched by the thread's current deadline."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class _WatchedMixin:
        def _new_conn(self) -> socket.socket:
            sock: socket.socket = super()._new_conn()  # type: ignore[misc]
            deadline = CallDeadline.current()
            if deadline is not None:
                deadline.watch(sock)
            return sock

    class _WatchedHTTPConnection(_WatchedMixin, HTTPConnection):
        pass

    class _WatchedHTTPSConnection(_WatchedMixin, HTTPSConnection):
        pass

    class _WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = _WatchedHTTPConnection

    class _WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = _WatchedHTTPSConnection

    class WatchedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    return WatchedAdapter


def bounded_request(method: str, url: str, *, seconds: float, **kwargs: Any) -> Any:
    """``requests.request`` that ends within ``seconds`` of wall-clock time, body included.

    Past the limit it raises ``requests.Timeout`` (whatever the transport raised when its socket
    was shut), so callers keep one way of handling a late answer.
    """
    import requests

    deadline = CallDeadline(seconds)
    try:
        with deadline, requests.Session() as session:
            adapter = _watched_adapter_class()()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            response = session.request(method, url, timeout=seconds, **kwargs)
    except requests.RequestException:
        if deadline.expired:
            raise requests.Timeout(f"{method} {url} did not finish within {seconds:g} s") from None
        raise
    if deadline.expired:
        raise requests.Timeout(f"{method} {url} did not finish within {seconds:g} s")
    return response
