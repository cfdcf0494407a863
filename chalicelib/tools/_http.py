"""What ``http_get`` and ``http_post`` share: the origin check and one bounded request."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from chalicelib.config import get_settings, origin_of
from chalicelib.errors import ConfigError
from chalicelib.tools.base import ToolFailure

MAX_RESPONSE_BYTES = 1_000_000


def check_url(url: str) -> str:
    """Return the URL if its origin is allowlisted; else raise a ``policy_denied`` failure."""
    if "\\" in url or any(ord(ch) < 0x21 for ch in url):
        raise ToolFailure("policy_denied", f"URL {url!r} contains a backslash, a space or a control character", details={"rule": "http.url_syntax"})
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ToolFailure("policy_denied", f"URL {url!r} carries userinfo, which is refused", details={"rule": "http.userinfo"})
    try:
        origin = origin_of(url)
    except (ConfigError, ValueError) as exc:
        raise ToolFailure("policy_denied", f"URL {url!r} is not an http(s) URL: {exc}", details={"rule": "http.scheme"}) from None
    allowed = get_settings().allowed_origins()
    if origin not in allowed:
        shown = ", ".join(allowed) or "none configured"
        raise ToolFailure("policy_denied", f"origin {origin} is not on the HTTP allowlist ({shown})", details={"rule": "http.allowlist", "origin": origin})
    return url


def _retry_after(headers: Any) -> float | None:
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def request(method: str, url: str, *, params: dict | None = None, body: Any = None, headers: dict | None = None) -> dict:
    """One HTTP request, no redirects followed, response size and time bounded.

    Returns ``{"status", "body"}`` for a 2xx; raises ``ToolFailure`` for everything else.
    """
    import requests  # imported on first use: a cold-started Lambda that never calls HTTP skips it

    check_url(url)
    timeout = get_settings().http_timeout_seconds
    try:
        response = requests.request(method, url, params=params, json=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True)
        raw = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
    except requests.Timeout:
        raise ToolFailure("timeout", f"{method} {url} did not answer within {timeout:g} s") from None
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        raise ToolFailure("connection", f"{method} {url}: connection failed or was dropped ({type(exc).__name__})") from None
    except Exception as exc:  # urllib3 protocol errors surface as several types
        if "timed out" in str(exc).lower():
            raise ToolFailure("timeout", f"{method} {url} did not answer within {timeout:g} s") from None
        raise ToolFailure("connection", f"{method} {url}: the response was cut off ({type(exc).__name__})") from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise ToolFailure("invalid_input", f"{method} {url}: response larger than {MAX_RESPONSE_BYTES} bytes")
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
            f"{method} {url} answered {response.status_code}",
            status_code=response.status_code,
            retry_after=_retry_after(response.headers),
            details=details,
        )
    if malformed:
        raise ToolFailure("malformed_response", f"{method} {url} answered {response.status_code} with a body that is not valid JSON", details={"preview": parsed})
    return {"status": response.status_code, "body": parsed}
