"""What ``http_get`` and ``http_post`` share: the URL policy, the connect-time address guard, and
one bounded request.

The URL and address policy (what ``check_url`` and ``vet_connection`` refuse, and why) lives in
``url_policy``; this module applies it: ``check_url`` before sending, ``vet_connection`` at connect
time from a urllib3 connection class (built by ``_adapter_class``) that opens the socket to a
vetted IP, so the request goes to exactly the address that was checked.

Requests are sent from a session with ``trust_env=False`` (no proxy from the environment, no
``.netrc`` credentials), redirects are never followed (a 3xx is reported with its ``Location``),
the body is read as sent (``Accept-Encoding: identity``; a compressed body is refused) up to
``MAX_RESPONSE_BYTES``, and the whole exchange is bounded by ``TOTAL_TIME_FACTOR`` times the
per-operation timeout (``MAOO_HTTP_TIMEOUT_SECONDS``), so a server dripping bytes cannot hold a
tool open.
"""

from __future__ import annotations

import json
import socket
import time
from functools import lru_cache
from typing import Any

from chalicelib.config import get_settings
from chalicelib.tools.base import ToolFailure
from chalicelib.tools.url_policy import check_url, vet_connection
from chalicelib.tools.url_policy import denial as _deny

MAX_RESPONSE_BYTES = 1_000_000
TOTAL_TIME_FACTOR = 3
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
            for address in addresses:
                try:
                    sock = create_connection((address, conn.port), conn.timeout, source_address=conn.source_address,
                                             socket_options=conn.socket_options)
                except TimeoutError as exc:
                    raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})") from exc
                except OSError as exc:
                    last = exc
                    continue
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


def _read_body(response: Any, label: str, deadline: float, timeout: float) -> bytes:
    encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise ToolFailure("invalid_input", f"{label}: the response is {encoding}-encoded; only uncompressed bodies are accepted")
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise ToolFailure("invalid_input", f"{label}: response larger than {MAX_RESPONSE_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise ToolFailure("timeout", f"{label} did not finish within {timeout * TOTAL_TIME_FACTOR:g} s")
        chunk = response.raw.read1(_CHUNK_BYTES, decode_content=False)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ToolFailure("invalid_input", f"{label}: response larger than {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)


def request(method: str, url: str, *, params: dict[str, Any] | None = None, body: Any = None,
            headers: dict[str, str] | None = None) -> dict[str, Any]:
    """One HTTP request under the policy above: no redirects followed, size and time bounded.

    Returns ``{"status", "body"}`` for a 2xx; raises ``ToolFailure`` for everything else.
    """
    import requests  # imported on first use: a cold-started Lambda that never calls HTTP skips it

    check_url(url)
    label = f"{method} {url}"
    timeout = get_settings().http_timeout_seconds
    deadline = time.monotonic() + timeout * TOTAL_TIME_FACTOR
    sent_headers = {**(headers or {}), "Accept-Encoding": "identity"}
    try:
        with _session() as session:
            response = session.request(method, url, params=params, json=body, headers=sent_headers, timeout=timeout,
                                       allow_redirects=False, stream=True)
            try:
                raw = _read_body(response, label, deadline, timeout)
            finally:
                response.close()
    except ToolFailure:
        raise
    except requests.Timeout:
        raise ToolFailure("timeout", f"{label} did not answer within {timeout:g} s") from None
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        raise ToolFailure("connection", f"{label}: connection failed or was dropped ({type(exc).__name__})") from None
    except Exception as exc:  # urllib3 protocol errors surface as several types
        if "timed out" in str(exc).lower():
            raise ToolFailure("timeout", f"{label} did not answer within {timeout:g} s") from None
        raise ToolFailure("connection", f"{label}: the response was cut off ({type(exc).__name__})") from None
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
            f"{label} answered {response.status_code}" + (" (redirects are not followed)" if "location" in details else ""),
            status_code=response.status_code,
            retry_after=_retry_after(response.headers),
            details=details,
        )
    if malformed:
        raise ToolFailure("malformed_response", f"{label} answered {response.status_code} with a body that is not valid JSON", details={"preview": parsed})
    return {"status": response.status_code, "body": parsed}
