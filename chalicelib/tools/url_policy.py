"""The URL and address policy of the HTTP tools: which origins and addresses a request may reach.

It is public because two callers judge a URL: the policy engine at plan time
(``planning/policy.py``) and the HTTP transport (``tools/_http.py``) before sending and at connect
time. It holds no transport code.

An HTTP tool must not become a way to reach the host it runs on (loopback services, the cloud
metadata endpoint, the private network). The URL is judged twice, at two moments:

1. ``check_url`` reads only the text, at plan time (the policy engine calls it) and again before
   sending. It refuses non-http(s) schemes, userinfo, backslashes, control characters, percent
   or non-ASCII bytes in the authority, any IPv4 spelling other than canonical dotted decimal
   (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``), metadata addresses, and any origin
   (scheme + host + port) that is not on the allowlist.
2. At connect time, a urllib3 connection class (built by ``_http._adapter_class``) re-checks the
   origin the socket is really for, resolves the host itself with ``socket.getaddrinfo``, vets
   every address the name has, and opens the socket to a vetted IP. The request therefore goes
   to exactly the address that was checked: a DNS answer that changes between the check and the
   connect (rebinding) cannot move it, and a parser that reads the URL differently from
   ``check_url`` still meets the same allowlist. Only the socket's peer is chosen here; the Host
   header and TLS (SNI and certificate checks) still use the URL's host name.

The address rule:

- Metadata endpoints (169.254.169.254, fd00:ec2::254, 169.254.170.2, 100.100.100.200,
  168.63.129.16) are refused always, even when allowlisted.
- A URL whose host is an IP literal may reach that address, whatever it is, only because its
  exact origin is allowlisted (the mock API's ``http://127.0.0.1:PORT`` is). No DNS is involved.
- A URL whose host is a name may reach only public unicast addresses: if any address the name
  resolves to is loopback, private, link-local, unique-local, shared, multicast, reserved,
  unspecified, or an IPv4-mapped/compatible/NAT64 IPv6 form, the request is refused, even when
  the name's origin is allowlisted. To reach a service on a private address, allowlist its IP
  literal, not a name for it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from chalicelib.config import get_settings
from chalicelib.tools.base import ToolFailure

DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack instance metadata
        "fd00:ec2::254",  # AWS instance metadata over IPv6
        "169.254.170.2",  # AWS ECS task metadata and credentials
        "100.100.100.200",  # Alibaba Cloud metadata
        "168.63.129.16",  # Azure wire server
    )
)
_TRANSLATED_V6 = (
    ipaddress.ip_network("::ffff:0:0/96"),  # IPv4-mapped
    ipaddress.ip_network("::/96"),  # IPv4-compatible (deprecated)
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64
)
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_AUTHORITY_END = re.compile(r"[/?#]")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")


def denial(rule: str, message: str, **details: Any) -> ToolFailure:
    """A ``policy_denied`` failure; ``details["rule"]`` names the rule that refused."""
    return ToolFailure("policy_denied", message, details={"rule": rule, **details})


def _kind_of(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address, or ``None`` when it is one."""
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _TRANSLATED_V6) and int(ip) > 1:
            return "an IPv4-mapped, IPv4-compatible or NAT64 IPv6 address"
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and _kind_of(embedded):
            return f"an IPv6 tunnel address embedding {_kind_of(embedded)}"
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return f"a {kind} address"
    if not ip.is_global:
        return "a non-global address"
    return None


def address_refusal(ip: IPAddress) -> tuple[str, str] | None:
    """``(rule, reason)`` refusing a connection to ``ip`` reached through a host name, or ``None``.

    Metadata addresses are refused with ``http.metadata``; any other non-public address with
    ``http.private_address``. A public unicast address gives ``None``.
    """
    if ip in METADATA_ADDRESSES:
        return "http.metadata", "a cloud metadata endpoint"
    kind = _kind_of(ip)
    return ("http.private_address", kind) if kind else None


def _bracketed_authority(netloc: str, url: str) -> tuple[str, str | None, IPAddress]:
    """``(host, port text or None, address)`` of an ``[IPv6]:port`` authority."""
    host, bracket, rest = netloc[1:].partition("]")
    if not bracket or (rest and not rest.startswith(":")):
        raise denial("http.host_syntax", f"URL {url!r} has a malformed IPv6 host")
    try:
        return host, rest[1:] if rest else None, ipaddress.IPv6Address(host)
    except ValueError:
        raise denial("http.host_syntax", f"URL {url!r} has a malformed IPv6 host") from None


def _parse_authority(netloc: str, url: str) -> tuple[str, int | None, IPAddress | None]:
    """``(host, port, ip literal or None)`` of an authority, or a ``policy_denied`` failure."""
    if not netloc:
        raise denial("http.host_syntax", f"URL {url!r} has no host")
    if "@" in netloc:
        raise denial("http.userinfo", f"URL {url!r} carries userinfo (user:password@), which is refused")
    if "%" in netloc or not netloc.isascii():
        raise denial(
            "http.host_syntax",
            f"URL {url!r} has a percent-encoded or non-ASCII host; give the host in plain ASCII",
        )
    literal: IPAddress | None
    if netloc.startswith("["):
        host, port_text, literal = _bracketed_authority(netloc, url)
    else:
        host, colon, port_text_raw = netloc.partition(":")
        port_text = port_text_raw if colon else None
        host = host.lower()
        labels = host.split(".")
        if not all(_LABEL.match(label) for label in labels) or len(host) > 253:
            raise denial(
                "http.host_syntax",
                f"URL {url!r} has host {host!r}, which is not a plain DNS name or IPv4 address",
            )
        literal = None
        if _NUMERIC_LABEL.match(labels[-1]):
            try:
                literal = ipaddress.IPv4Address(host)
            except ValueError:
                literal = None
            if literal is None or str(literal) != host:
                raise denial(
                    "http.ip_spelling",
                    f"URL {url!r} spells an IPv4 address as {host!r}; only canonical dotted decimal (a.b.c.d) is accepted",
                )
    if port_text is None:
        return host.lower(), None, literal
    if (
        not port_text.isascii()
        or not port_text.isdigit()
        or len(port_text) > 5
        or str(int(port_text)) != port_text
        or not 0 < int(port_text) < 65536
    ):
        raise denial("http.host_syntax", f"URL {url!r} has port {port_text!r}; give a number from 1 to 65535")
    return host.lower(), int(port_text), literal


def check_url_arg(args: dict[str, Any]) -> None:
    """The policy engine's check of a planned call's ``url`` argument (before anything runs).

    An argument that is not text is left to the tool's argument model, which refuses it by name.
    """
    if isinstance(args.get("url"), str):
        check_url(args["url"])


def check_url(url: str) -> str:
    """Return ``url`` if its text passes the URL policy; else raise a ``policy_denied`` failure.

    This is the part of the policy that needs no DNS; the addresses a host name resolves to are
    vetted when the connection is made (see the module docstring). The failure's
    ``details["rule"]`` names the rule: ``http.url_syntax``, ``http.scheme``, ``http.userinfo``,
    ``http.host_syntax``, ``http.ip_spelling``, ``http.metadata``, ``http.private_address`` or
    ``http.allowlist``.
    """
    if not isinstance(url, str) or "\\" in url or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise denial("http.url_syntax", f"URL {url!r} contains a backslash, a space or a control character")
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in DEFAULT_PORTS:
        raise denial("http.scheme", f"URL {url!r} is not an http:// or https:// URL")
    host, port, literal = _parse_authority(_AUTHORITY_END.split(rest, maxsplit=1)[0], url)
    try:
        parts = urlsplit(url)
        agrees = parts.scheme == scheme and (parts.hostname or "") == host and parts.port == port
    except ValueError:
        agrees = False
    if not agrees:
        raise denial("http.url_syntax", f"URL {url!r} is read differently by different parsers; refused")
    origin = f"{scheme}://{host}:{port or DEFAULT_PORTS[scheme]}"
    if literal is not None and literal in METADATA_ADDRESSES:
        raise denial(
            "http.metadata",
            f"URL {url!r} points at a cloud metadata endpoint, which is never reachable",
            origin=origin,
        )
    allowed = get_settings().allowed_origins()
    if origin not in allowed:
        if literal is not None and (refusal := address_refusal(literal)):
            raise denial(
                refusal[0],
                f"URL {url!r} points at {refusal[1]} whose origin is not allowlisted",
                origin=origin,
            )
        shown = ", ".join(allowed) or "none configured"
        raise denial(
            "http.allowlist", f"origin {origin} is not on the HTTP allowlist ({shown})", origin=origin
        )
    return url


def vet_connection(scheme: str, host: str, port: int) -> list[str]:
    """The IP addresses a connection to ``scheme://host:port`` may use, in the resolver's order.

    Raises ``ToolFailure(policy_denied)`` when the origin is not allowlisted or any address the
    host resolves to is refused; lets ``socket.gaierror`` through when the name does not resolve.
    """
    host = host.strip("[]").rstrip(".").lower()
    origin = f"{scheme}://{host}:{port}"
    if origin not in get_settings().allowed_origins():
        raise denial(
            "http.allowlist", f"connection to {origin} refused: not on the HTTP allowlist", origin=origin
        )
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if literal in METADATA_ADDRESSES:
            raise denial(
                "http.metadata", f"connection to {origin} refused: a cloud metadata endpoint", origin=origin
            )
        return [str(literal)]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[str] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
        refusal = address_refusal(ip)
        if refusal is not None:
            raise denial(
                refusal[0],
                f"connection to {origin} refused: {host} resolves to {ip}, {refusal[1]}; "
                "allowlist the IP literal to reach a private service",
                origin=origin,
                address=str(ip),
            )
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
    return addresses
