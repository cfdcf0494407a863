"""SSRF: the HTTP tools cannot be turned against the host they run on.

Every hostile URL below points at a canary server on another loopback port (or at an address
that would be just as bad). Each must come back as a ``policy_denied`` failure naming its rule,
and the canary must count no connection at all. A positive control shows the canary does count
when the origin really is allowlisted, so a zero means something.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.config import origin_of, reload_settings
from chalicelib.tools import _http, url_policy
from chalicelib.tools.base import ToolFailure
from tests.security.conftest import assert_denied, call_tool

P = "{port}"  # the canary's port, filled in per test

# (url, rule, allowlist or None, {host name: [addresses]} for the resolver or None)
SSRF_CORPUS: list[tuple[str, str, str | None, dict[str, list[str]] | None]] = [
    # loopback, spelled every way a URL parser or inet_aton accepts
    (f"http://127.0.0.1:{P}/", "http.private_address", None, None),
    (f"http://127.0.0.2:{P}/", "http.private_address", None, None),
    (f"http://0.0.0.0:{P}/", "http.private_address", None, None),
    (f"http://localhost:{P}/", "http.allowlist", None, None),
    (f"http://LOCALHOST:{P}/admin", "http.allowlist", None, None),
    (f"http://2130706433:{P}/", "http.ip_spelling", None, None),
    (f"http://0x7f000001:{P}/", "http.ip_spelling", None, None),
    (f"http://0x7f.0x0.0x0.0x1:{P}/", "http.ip_spelling", None, None),
    (f"http://0177.0.0.1:{P}/", "http.ip_spelling", None, None),
    (f"http://0177.0000.0000.0001:{P}/", "http.ip_spelling", None, None),
    (f"http://017700000001:{P}/", "http.ip_spelling", None, None),
    (f"http://127.1:{P}/", "http.ip_spelling", None, None),
    (f"http://127.0.1:{P}/", "http.ip_spelling", None, None),
    (f"http://127.000.000.001:{P}/", "http.ip_spelling", None, None),
    (f"http://0:{P}/", "http.ip_spelling", None, None),
    (f"http://0x:{P}/", "http.ip_spelling", None, None),
    (f"http://1.2.3.4.5:{P}/", "http.ip_spelling", None, None),
    # IPv6 and the IPv6 forms that carry an IPv4 address
    (f"http://[::1]:{P}/", "http.private_address", None, None),
    (f"http://[0:0:0:0:0:0:0:1]:{P}/", "http.private_address", None, None),
    (f"http://[::]:{P}/", "http.private_address", None, None),
    (f"http://[::ffff:127.0.0.1]:{P}/", "http.private_address", None, None),
    (f"http://[::ffff:7f00:1]:{P}/", "http.private_address", None, None),
    (f"http://[::127.0.0.1]:{P}/", "http.private_address", None, None),
    (f"http://[64:ff9b::7f00:1]:{P}/", "http.private_address", None, None),
    (f"http://[2002:7f00:1::]:{P}/", "http.private_address", None, None),
    (f"http://[fe80::1%25lo]:{P}/", "http.host_syntax", None, None),
    (f"http://[127.0.0.1]:{P}/", "http.host_syntax", None, None),
    # cloud metadata and private networks
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "http.metadata", None, None),
    ("http://[fd00:ec2::254]/latest/meta-data/", "http.metadata", None, None),
    ("http://169.254.170.2/v2/credentials", "http.metadata", None, None),
    ("http://100.100.100.200/latest/meta-data/", "http.metadata", None, None),
    ("http://168.63.129.16/machine?comp=goalstate", "http.metadata", None, None),
    ("http://169.254.169.254/", "http.metadata", "http://169.254.169.254", None),
    ("http://metadata.google.internal/computeMetadata/v1/", "http.allowlist", None, None),
    ("http://10.0.0.1/", "http.private_address", None, None),
    ("http://172.16.0.1/", "http.private_address", None, None),
    ("http://192.168.1.1/", "http.private_address", None, None),
    ("http://100.64.0.1/", "http.private_address", None, None),
    ("http://169.254.1.1/", "http.private_address", None, None),
    ("http://224.0.0.1/", "http.private_address", None, None),
    ("http://255.255.255.255/", "http.private_address", None, None),
    ("http://[fc00::1]/", "http.private_address", None, None),
    ("http://[fe80::1]/", "http.private_address", None, None),
    # userinfo, backslashes, encodings, control characters
    (f"http://user@127.0.0.1:{P}/", "http.userinfo", None, None),
    (f"http://user:pass@127.0.0.1:{P}/", "http.userinfo", None, None),
    (f"http://allowed.example@127.0.0.1:{P}/", "http.userinfo", None, None),
    (f"http://127.0.0.1:{P}%2f@evil.example/", "http.userinfo", None, None),
    (f"http://127.0.0.1:{P}\\@evil.example/", "http.url_syntax", None, None),
    (f"http:\\\\127.0.0.1:{P}/", "http.url_syntax", None, None),
    (f"http://127%2e0%2e0%2e1:{P}/", "http.host_syntax", None, None),
    (f"http://%6c%6f%63%61%6c%68%6f%73%74:{P}/", "http.host_syntax", None, None),
    (f"http://127\u30020\u30020\u30021:{P}/", "http.host_syntax", None, None),
    (f"http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54:{P}/", "http.host_syntax", None, None),
    (f"http://127.0.0.1.:{P}/", "http.host_syntax", None, None),
    (f"http://localhost.:{P}/", "http.host_syntax", None, None),
    (f"http://under_score.example:{P}/", "http.host_syntax", None, None),
    (f"http://127.0.0.1:0{P}/", "http.host_syntax", None, None),
    (f"http://127.0.0.1:+{P}/", "http.host_syntax", None, None),
    (f"http://127.0.0.1:{P}:80/", "http.host_syntax", None, None),
    (f" http://127.0.0.1:{P}/", "http.url_syntax", None, None),
    (f"http://127.0.0.1:{P}/\r\nHost: evil.example", "http.url_syntax", None, None),
    (f"http://127.0.0.1:{P}/\tx", "http.url_syntax", None, None),
    # schemes other than http(s)
    ("file:///etc/passwd", "http.scheme", None, None),
    (f"gopher://127.0.0.1:{P}/_GET%20/", "http.scheme", None, None),
    (f"ftp://127.0.0.1:{P}/", "http.scheme", None, None),
    (f"dict://127.0.0.1:{P}/info", "http.scheme", None, None),
    (f"//127.0.0.1:{P}/", "http.scheme", None, None),
    (f"http:127.0.0.1:{P}/", "http.scheme", None, None),
    (f"http:/127.0.0.1:{P}/", "http.scheme", None, None),
    # the allowlist is an exact origin: scheme, host and port all count
    (f"https://127.0.0.1:{P}/", "http.private_address", f"http://127.0.0.1:{P}", None),
    ("http://127.0.0.1:1/", "http.private_address", f"http://127.0.0.1:{P}", None),
    # names on the allowlist are judged by every address they resolve to, at connect time
    (f"http://localhost:{P}/", "http.private_address", f"http://localhost:{P}", None),
    (
        f"http://ops.example.test:{P}/",
        "http.private_address",
        f"http://ops.example.test:{P}",
        {"ops.example.test": ["127.0.0.1"]},
    ),
    (
        f"http://rebind.example.test:{P}/",
        "http.private_address",
        f"http://rebind.example.test:{P}",
        {"rebind.example.test": ["93.184.216.34", "127.0.0.1"]},
    ),
    (
        f"http://mapped.example.test:{P}/",
        "http.private_address",
        f"http://mapped.example.test:{P}",
        {"mapped.example.test": ["::ffff:127.0.0.1"]},
    ),
    (
        "http://meta.example.test/",
        "http.metadata",
        "http://meta.example.test",
        {"meta.example.test": ["169.254.169.254"]},
    ),
    (
        "http://meta6.example.test/",
        "http.metadata",
        "http://meta6.example.test",
        {"meta6.example.test": ["fd00:ec2::254"]},
    ),
]


@pytest.fixture
def fake_dns(monkeypatch):
    """Answer chosen names with chosen addresses; every other name goes to the real resolver."""
    real = socket.getaddrinfo
    table: dict[str, list[str]] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host in table:
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    socket.IPPROTO_TCP,
                    "",
                    (a, port) if ":" not in a else (a, port, 0, 0),
                )
                for a in table[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def _allow(monkeypatch, origins: str | None) -> None:
    if origins:
        monkeypatch.setenv("MAOO_HTTP_ALLOWLIST", origins)
    else:
        monkeypatch.delenv("MAOO_HTTP_ALLOWLIST", raising=False)
    reload_settings()


def test_corpus_is_large_enough():
    assert len(SSRF_CORPUS) >= 40
    assert len({url for url, *_ in SSRF_CORPUS}) + 2 >= len(SSRF_CORPUS)  # localhost twice, on purpose


@pytest.mark.parametrize(
    ("url", "rule", "allowlist", "dns"), SSRF_CORPUS, ids=[f"{i:02d}" for i in range(len(SSRF_CORPUS))]
)
@pytest.mark.parametrize("tool", ["http_get", "http_post"])
def test_hostile_url_is_denied_and_sends_nothing(
    tool, url, rule, allowlist, dns, canary, fake_dns, monkeypatch
):
    _allow(monkeypatch, allowlist.replace(P, str(canary.port)) if allowlist else None)
    fake_dns.update(dns or {})
    target = url.replace(P, str(canary.port))

    result = call_tool(tool, {"url": target})

    assert_denied(result, rule)
    assert canary.hits == 0


def test_allowlisted_ip_origin_is_reached_which_shows_the_canary_counts(canary, monkeypatch):
    _allow(monkeypatch, canary.url)

    result = call_tool("http_get", {"url": f"{canary.url}/data"})

    assert result.ok and result.output["body"] == {"canary": "reached"}
    assert canary.hits == 1


def test_redirect_to_another_allowlisted_origin_is_not_followed(canary, second_canary, monkeypatch):
    _allow(monkeypatch, f"{canary.url},{second_canary.url}")
    canary.mode, canary.location = "redirect", f"{second_canary.url}/stolen"

    result = call_tool("http_get", {"url": f"{canary.url}/start"})

    assert not result.ok and result.error.kind == "http_status" and result.error.status_code == 302
    assert result.error.details["location"] == f"{second_canary.url}/stolen"
    assert (canary.hits, second_canary.hits) == (1, 0)


def test_proxy_from_the_environment_is_never_used(canary, second_canary, monkeypatch):
    _allow(monkeypatch, canary.url)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, second_canary.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    result = call_tool("http_get", {"url": f"{canary.url}/data"})

    assert result.ok
    assert (canary.hits, second_canary.hits) == (1, 0)


def test_response_larger_than_the_limit_is_refused(canary, monkeypatch):
    _allow(monkeypatch, canary.url)
    canary.mode, canary.big_bytes = "big", _http.MAX_RESPONSE_BYTES + 10

    result = call_tool("http_get", {"url": f"{canary.url}/big"})

    assert not result.ok and result.error.kind == "invalid_input"
    assert "larger than" in result.error.message


def test_compressed_response_is_refused_rather_than_inflated(canary, monkeypatch):
    _allow(monkeypatch, canary.url)
    canary.mode = "gzip"

    result = call_tool("http_get", {"url": f"{canary.url}/zip"})

    assert not result.ok and result.error.kind == "invalid_input"
    assert "gzip" in result.error.message
    assert b"accept-encoding: identity" in canary.requests[0].lower()


def test_server_that_never_answers_is_cut_off_as_a_timeout(canary, monkeypatch):
    monkeypatch.setenv("MAOO_HTTP_TIMEOUT_SECONDS", "0.2")
    _allow(monkeypatch, canary.url)
    canary.mode = "silent"

    result = call_tool("http_get", {"url": f"{canary.url}/slow"})

    assert not result.ok and result.error.kind == "timeout"


# ---------------------------------------------------------------- properties

_octet = st.integers(0, 255)


@st.composite
def ipv4_spellings(draw) -> str:
    """A loopback, private or link-local IPv4 address written in any form inet_aton accepts."""
    network = draw(
        st.sampled_from(["127.0.0.0/8", "10.0.0.0/8", "192.168.0.0/16", "169.254.0.0/16", "0.0.0.0/8"])
    )
    value = int(draw(st.ip_addresses(v=4, network=network)))
    form = draw(st.sampled_from(["dotted", "decimal", "hex", "octal", "short", "padded", "mixed", "mapped"]))
    octets = [(value >> shift) & 255 for shift in (24, 16, 8, 0)]
    if form == "dotted":
        return ".".join(map(str, octets))
    if form == "decimal":
        return str(value)
    if form == "hex":
        return hex(value)
    if form == "octal":
        return "0" + format(value, "o")
    if form == "short":
        return f"{octets[0]}.{value & 0xFFFFFF}"
    if form == "padded":
        return ".".join(f"{o:03d}" for o in octets)
    if form == "mapped":
        return f"[::ffff:{'.'.join(map(str, octets))}]"
    return ".".join(draw(st.sampled_from([str(o), hex(o), "0" + format(o, "o")])) for o in octets)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(host=ipv4_spellings())
def test_property_no_spelling_of_a_private_ipv4_address_gets_through(host, canary):
    url = f"http://{host}:{canary.port}/"
    with pytest.raises(ToolFailure) as denied:
        _http.request("GET", url)
    assert denied.value.kind == "policy_denied"
    assert denied.value.details["rule"] in {"http.private_address", "http.ip_spelling", "http.metadata"}
    assert canary.hits == 0


ALLOWED = "http://ops.example.test:8080,https://ops.example.test:443"
_url_pieces = st.sampled_from(
    [
        "http://",
        "https://",
        "HTTP://",
        "ftp://",
        "//",
        "127.0.0.1",
        "localhost",
        "ops.example.test",
        "[::1]",
        "@",
        ":",
        "80",
        "8080",
        "/",
        "\\",
        "%2e",
        "%40",
        ".",
        "..",
        "#",
        "?",
        "0x7f",
        "017",
        "\u3002",
        "\uff0e",
        " ",
        "\t",
        "user",
        "@evil",
        ":443",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.lists(_url_pieces, min_size=1, max_size=8).map("".join))
def test_property_an_accepted_url_is_exactly_an_allowlisted_origin(url, monkeypatch):
    monkeypatch.setenv("MAOO_HTTP_ALLOWLIST", ALLOWED)
    reload_settings()
    try:
        url_policy.check_url(url)
    except ToolFailure as failure:
        assert failure.kind == "policy_denied" and failure.details["rule"].startswith("http.")
        return
    parts = urlsplit(url)
    assert origin_of(url) in ALLOWED.split(",")
    assert parts.username is None and parts.password is None
    assert "@" not in parts.netloc and "%" not in parts.netloc and parts.netloc.isascii()
    assert "\\" not in url and not any(ch.isspace() for ch in url)


@pytest.mark.parametrize(
    "url",
    ["http://ops.example.test:8080/x?y=1", "https://ops.example.test/x", "HTTPS://OPS.example.test:443#f"],
)
def test_allowlisted_origins_pass_the_text_check(url, monkeypatch):
    monkeypatch.setenv("MAOO_HTTP_ALLOWLIST", ALLOWED)
    reload_settings()

    assert url_policy.check_url(url) == url


@settings(max_examples=300, deadline=None)
@given(
    ip=st.one_of(
        st.ip_addresses(v=4, network="127.0.0.0/8"),
        st.ip_addresses(v=4, network="10.0.0.0/8"),
        st.ip_addresses(v=4, network="172.16.0.0/12"),
        st.ip_addresses(v=4, network="192.168.0.0/16"),
        st.ip_addresses(v=4, network="169.254.0.0/16"),
        st.ip_addresses(v=4, network="100.64.0.0/10"),
        st.ip_addresses(v=4, network="224.0.0.0/4"),
        st.ip_addresses(v=4, network="240.0.0.0/4"),
        st.ip_addresses(v=6, network="fc00::/7"),
        st.ip_addresses(v=6, network="fe80::/10"),
        st.ip_addresses(v=6, network="ff00::/8"),
        st.ip_addresses(v=6, network="::ffff:0:0/96"),
        st.ip_addresses(v=6, network="64:ff9b::/96"),
    )
)
def test_property_every_non_public_address_is_refused_for_a_host_name(ip):
    refusal = url_policy.address_refusal(ip)
    assert refusal is not None and refusal[0] in {"http.private_address", "http.metadata"}


@settings(max_examples=200, deadline=None)
@given(ip=st.ip_addresses(v=4))
def test_property_ipv4_mapped_form_is_never_more_trusted_than_the_address(ip):
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    assert url_policy.address_refusal(mapped) is not None
