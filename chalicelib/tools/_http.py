"""What ``http_get`` and ``http_post`` share: the URL policy, the connect-time address guard, and
one bounded request.

The URL and address policy (what ``check_url`` and ``vet_connection`` refuse, and why) lives in
``url_policy``; this module applies it: ``check_url`` before sending, ``vet_connection`` at connect
time from a urllib3 connection class (built by ``_adapter_class``) that opens the socket to a
vetted IP, so the request goes to exactly the address that was checked.

Requests are sent from a session with ``trust_env=False`` (no proxy from the environment, no
``.netrc`` credentials), redirects are never followed (a 3xx is reported with its ``Location``),
the body is read as sent (``Accept-Encoding: identity``; a compressed body is refused) up to
``MAX_RESPONSE_BYTES``, and the whole exchange, from the connect to the last byte of the body, is
bounded by ``MAOO_HTTP_TIMEOUT_SECONDS`` of wall-clock time (``wallclock.CallDeadline``): a
server that trickles its status line, headers or body one byte at a time cannot hold a tool open
past it.
"""

from __future__ import annotations

import json
import socket
from functools import lru_cache
from typing import Any

from chalicelib.config import get_settings
from chalicelib.tools.base import ToolFailure
from chalicelib.tools.url_policy import check_url, vet_connection
from chalicelib.tools.url_policy import denial as _deny
from chalicelib.wallclock import CallDeadline as _CallDeadline

MAX_RESPONSE_BYTES = 1_000_000
_CHUNK_BYTES = 64 * 1024


@lru_cache(maxsize=1)
def _adapter_class() -> type:
    """An ``HTTPAdapter`` whose connections dial only vetted addresses (built on first use)."""
    import sys

    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
    from urllib3.util.connection import create_connection

    class _PinnedMixin:
        _maoo_scheme = "http"

        def _new_conn(self) -> socket.socket:
            conn: Any = self
            try:
                addresses = vet_connection(self._maoo_scheme, conn._dns_host, conn.port)
            except socket.gaierror as exc:
                raise NameResolutionError(conn.host, conn, exc) from exc
            last: OSError | None = None
            deadline = _CallDeadline.current()
            for address in addresses:
                connect_timeout = conn.timeout
                if deadline is not None:
                    connect_timeout = max(0.001, min(deadline.remaining(), conn.timeout or deadline.seconds))
                try:
                    sock = create_connection(
                        (address, conn.port),
                        connect_timeout,
                        source_address=conn.source_address,
                        socket_options=conn.socket_options,
                    )
                except TimeoutError as exc:
                    raise ConnectTimeoutError(
                        conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
                    ) from exc
                except OSError as exc:
                    last = exc
                    continue
                if deadline is not None:
                    deadline.watch(sock)
                sys.audit("http.client.connect", conn, conn.host, conn.port)
                return sock
            raise NewConnectionError(conn, f"Failed to establish a new connection: {last}")

    class _PinnedHTTPConnection(_PinnedMixin, HTTPConnection):
        _maoo_scheme = "http"

    class _PinnedHTTPSConnection(_PinnedMixin, HTTPSConnection):
        _maoo_scheme = "https"

    class _PinnedHTTPPool(HTTPConnectionPool):
        ConnectionCls = _PinnedHTTPConnection

    class _PinnedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = _PinnedHTTPSConnection

    class PinnedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": _PinnedHTTPPool, "https": _PinnedHTTPSPool}

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            raise _deny("http.proxy", "HTTP tools never go through a proxy")

    return PinnedAdapter


def _session() -> Any:
    import requests

    session = requests.Session()
    session.trust_env = False
    adapter = _adapter_class()()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _retry_after(headers: Any) -> float | None:
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _read_body(response: Any, label: str, deadline: _CallDeadline) -> bytes:
    encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise ToolFailure(
            "invalid_input",
            f"{label}: the response is {encoding}-encoded; only uncompressed bodies are accepted",
        )
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise ToolFailure("invalid_input", f"{label}: response larger than {MAX_RESPONSE_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        if deadline.expired:
            raise _late(label, deadline)
        chunk = response.raw.read1(_CHUNK_BYTES, decode_content=False)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ToolFailure("invalid_input", f"{label}: response larger than {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)


def _never_sent(exc: Exception) -> bool:
    """Whether the error came before the request left (no connection was made)."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def _transport_failure(label: str, deadline: _CallDeadline, exc: Exception, write: bool) -> ToolFailure:
    """What a transport error means for the user: the call limit, a per-read timeout, or a drop.

    A write that was sent and got no whole answer (a timeout, a dropped or cut-off response) is
    ``unknown_outcome``: the API may have applied it; calling again with the same idempotency key
    resolves it. Only an error before the request left is a plain failure for a write.
    """
    import requests

    if write and not _never_sent(exc):
        why = _late(label, deadline) if deadline.expired or isinstance(exc, requests.Timeout) else None
        return ToolFailure(
            "unknown_outcome",
            f"{label} was sent and no whole answer came back "
            f"({why.message if why else type(exc).__name__}); it may have been applied",
            details=why.details if why else {},
        )
    if deadline.expired or isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower():
        return _late(label, deadline)
    if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return ToolFailure("connection", f"{label}: connection failed or was dropped ({type(exc).__name__})")
    return ToolFailure("connection", f"{label}: the response was cut off ({type(exc).__name__})")


def _late(label: str, deadline: _CallDeadline) -> ToolFailure:
    return ToolFailure(
        "timeout",
        f"{label} did not finish within {deadline.seconds:g} s (MAOO_HTTP_TIMEOUT_SECONDS, "
        "the limit from connect to the last byte of the body)",
        details={"limit_seconds": deadline.seconds, "limit": "MAOO_HTTP_TIMEOUT_SECONDS"},
    )


def request(
    method: str,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One HTTP request under the policy above: no redirects followed, size and time bounded.

    Returns ``{"status", "body"}`` for a 2xx; raises ``ToolFailure`` for everything else.
    """

    check_url(url)
    label = f"{method} {url}"
    timeout = get_settings().http_timeout_seconds
    sent_headers = {**(headers or {}), "Accept-Encoding": "identity"}
    deadline = _CallDeadline(timeout)
    write = method != "GET"
    try:
        with deadline, _session() as session:
            response = session.request(
                method,
                url,
                params=params,
                json=body,
                headers=sent_headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
            try:
                raw = _read_body(response, label, deadline)
            finally:
                response.close()
    except ToolFailure as failure:
        if deadline.expired and (failure.kind != "timeout" or write):
            raise _transport_failure(label, deadline, TimeoutError(failure.message), write) from None
        raise
    except Exception as exc:  # requests and urllib3 errors surface as several types
        raise _transport_failure(label, deadline, exc, write) from None
    text = raw.decode("utf-8", errors="replace")
    try:
        parsed: Any = json.loads(text) if text else None
        malformed = False
    except json.JSONDecodeError:
        parsed, malformed = text[:500], True
    if not 200 <= response.status_code < 300:
        details: dict[str, Any] = {"body": parsed}
        if response.status_code in (301, 302, 303, 307, 308):
            details["location"] = response.headers.get("Location")
        raise ToolFailure(
            "http_status",
            f"{label} answered {response.status_code}"
            + (" (redirects are not followed)" if "location" in details else ""),
            status_code=response.status_code,
            retry_after=_retry_after(response.headers),
            details=details,
        )
    if malformed:
        raise ToolFailure(
            "malformed_response",
            f"{label} answered {response.status_code} with a body that is not valid JSON",
            details={"preview": parsed},
        )
    return {"status": response.status_code, "body": parsed}
