"""Named, reproducible faults, and the ASGI layer that makes a client see them.

MAOO's monitor must tell transient failures from permanent ones, notice malformed or drifted
responses, and never repeat a write that was applied but not acknowledged. Each of those cases
is a named fault here, chosen per request (header or query parameter), by a fault plan with
counts, or by seeded chaos, so every failure a test or a demo relies on can be replayed exactly.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chalicelib.errors import MaooError
from mock_api.recorder import Recorder

FaultName = Literal[
    "http_500",
    "http_502",
    "http_503",
    "http_429",
    "http_401",
    "http_404",
    "http_422",
    "timeout",
    "drop",
    "malformed_json",
    "schema_drift",
    "slow",
    "applied_no_response",
]
FAULT_NAMES: tuple[str, ...] = get_args(FaultName)
FaultSource = Literal["header", "query", "plan", "chaos"]

RawHeader = tuple[bytes, bytes]
ADMIN_PREFIX = "/_admin"
MAX_SECONDS = 120.0


@dataclass(frozen=True)
class FaultSpec:
    """A catalogue entry: what the fault does and the parameters it accepts, with defaults."""

    name: str
    description: str
    defaults: Mapping[str, float | str] = field(default_factory=dict)


CATALOGUE: dict[str, FaultSpec] = {
    spec.name: spec
    for spec in (
        FaultSpec("http_500", "500 Internal Server Error; the handler does not run"),
        FaultSpec("http_502", "502 Bad Gateway; the handler does not run"),
        FaultSpec("http_503", "503 Service Unavailable; the handler does not run"),
        FaultSpec("http_429", "429 Too Many Requests with Retry-After", {"retry_after": 1.0}),
        FaultSpec("http_401", "401 Unauthorized with WWW-Authenticate"),
        FaultSpec("http_404", "404 Not Found"),
        FaultSpec("http_422", "422 with a field-level validation error", {"field": "body"}),
        FaultSpec("timeout", "wait `delay` seconds, then answer normally", {"delay": 5.0}),
        FaultSpec("drop", "send headers and part of a body, then close; nothing is applied"),
        FaultSpec("malformed_json", "200 application/json whose body is not JSON; nothing applied"),
        FaultSpec("schema_drift", "the normal answer with documented fields renamed"),
        FaultSpec("slow", "wait `delay` seconds, then succeed", {"delay": 0.3}),
        FaultSpec("applied_no_response", "apply the request, then drop the connection"),
    )
}
assert set(CATALOGUE) == set(FAULT_NAMES)


class FaultError(MaooError, ValueError):
    """A fault name or parameter the catalogue does not accept."""


@dataclass(frozen=True)
class Fault:
    """A fault to apply, with every parameter resolved."""

    name: str
    params: Mapping[str, float | str] = field(default_factory=dict)


def make_fault(name: str, params: Mapping[str, Any] | None = None) -> Fault:
    """Check ``name`` and ``params`` against the catalogue and fill in the defaults."""
    spec = CATALOGUE.get(name)
    if spec is None:
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    resolved: dict[str, float | str] = dict(spec.defaults)
    for key, raw in (params or {}).items():
        if key not in spec.defaults:
            accepted = ", ".join(spec.defaults) or "none"
            raise FaultError(f"fault {name!r} takes no parameter {key!r} (accepted: {accepted})")
        if isinstance(spec.defaults[key], str):
            resolved[key] = str(raw)
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            message = f"parameter {key!r} of {name!r} must be a number, not {raw!r}"
            raise FaultError(message) from None
        if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
            raise FaultError(f"parameter {key!r} of {name!r} must be within 0..{MAX_SECONDS:g}")
        resolved[key] = value
    return Fault(name, resolved)


def parse_fault(text: str) -> Fault:
    """Parse the per-request form ``name[;param=value...]``, e.g. ``http_429;retry_after=2``."""
    name, *pairs = [part.strip() for part in text.split(";")]
    params: dict[str, str] = {}
    for pair in filter(None, pairs):
        key, sep, value = pair.partition("=")
        if not sep:
            raise FaultError(f"fault parameter {pair!r} is not key=value")
        params[key.strip()] = value.strip()
    return make_fault(name, params)


# ---------------------------------------------------------------- admin wire formats


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FaultRule(_Model):
    """One rule of a fault plan: requests matching ``method`` and ``path`` get ``fault``."""

    path: str = Field(min_length=1, description="fnmatch pattern on the URL path")
    method: str | None = Field(default=None, description="HTTP method; any when omitted")
    fault: FaultName
    count: int | None = Field(default=None, ge=1, description="times to apply; null = forever")
    params: dict[str, float | str] = Field(default_factory=dict)

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else None

    @model_validator(mode="after")
    def _known_params(self) -> FaultRule:
        make_fault(self.fault, self.params)
        return self


class FaultPlanIn(_Model):
    rules: list[FaultRule]


class ChaosIn(_Model):
    """Seeded chaos: each request is hit with probability ``rate`` by one of ``faults``."""

    seed: int
    rate: float = Field(ge=0.0, le=1.0)
    faults: list[FaultName] = Field(default=["http_503", "http_429", "slow"], min_length=1)


# ---------------------------------------------------------------- choosing a fault


@dataclass
class _ActiveRule:
    rule: FaultRule
    fault: Fault
    remaining: int | None
    hits: int = 0


class FaultController:
    """Decides which fault, if any, each request gets.

    Precedence: ``X-Mock-Fault`` header, then ``_fault`` query parameter (both for that request
    only), then the first plan rule that matches and has count left, then chaos. Chaos draws
    only for requests nothing else claimed, so the same seed and request sequence give the same
    faults.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_ActiveRule] = []
        self._chaos: ChaosIn | None = None
        self._rng = random.Random()
        self._decisions = 0

    def set_plan(self, plan: FaultPlanIn) -> None:
        active = [_ActiveRule(r, make_fault(r.fault, r.params), r.count) for r in plan.rules]
        with self._lock:
            self._rules = active

    def clear_plan(self) -> None:
        with self._lock:
            self._rules = []

    def plan(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rules": [
                    {**a.rule.model_dump(), "remaining": a.remaining, "hits": a.hits} for a in self._rules
                ]
            }

    def set_chaos(self, chaos: ChaosIn | None) -> None:
        with self._lock:
            self._chaos = chaos
            self._rng = random.Random(chaos.seed if chaos else None)
            self._decisions = 0

    def chaos(self) -> dict[str, Any]:
        with self._lock:
            if self._chaos is None:
                return {"enabled": False}
            return {"enabled": True, **self._chaos.model_dump(), "decisions": self._decisions}

    def reset(self) -> None:
        self.clear_plan()
        self.set_chaos(None)

    def choose(
        self, method: str, path: str, header: str | None, query: str | None
    ) -> tuple[Fault | None, FaultSource | None]:
        """The fault for this request and where it came from; raises ``FaultError`` if unknown."""
        if header:
            return parse_fault(header), "header"
        if query:
            return parse_fault(query), "query"
        with self._lock:
            for active in self._rules:
                rule = active.rule
                if rule.method and rule.method != method.upper():
                    continue
                if not fnmatch.fnmatchcase(path, rule.path) or active.remaining == 0:
                    continue
                if active.remaining is not None:
                    active.remaining -= 1
                active.hits += 1
                return active.fault, "plan"
            if self._chaos is not None:
                self._decisions += 1
                if self._rng.random() < self._chaos.rate:
                    return make_fault(self._rng.choice(self._chaos.faults)), "chaos"
        return None, None


# ---------------------------------------------------------------- making the client see it

_STATUS_FAULTS = {
    "http_500": (500, "internal_error"),
    "http_502": (502, "bad_gateway"),
    "http_503": (503, "service_unavailable"),
    "http_429": (429, "rate_limited"),
    "http_401": (401, "unauthorized"),
    "http_404": (404, "not_found"),
    "http_422": (422, "validation"),
}
# Faults after which the client never receives a complete response.
BROKEN_RESPONSE_FAULTS = frozenset({"drop", "applied_no_response"})
# Renames applied by ``schema_drift``: at least one documented field of every route's answer.
DRIFT_RENAMES = {
    "requests": "request_count",
    "errors": "error_count",
    "status": "state",
    "severity": "level",
    "items": "records",
}
_JSON: RawHeader = (b"content-type", b"application/json")


def _seconds_text(value: float | str) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def drift(value: Any) -> Any:
    """``value`` with every key in ``DRIFT_RENAMES`` renamed, at any depth."""
    if isinstance(value, dict):
        return {DRIFT_RENAMES.get(k, k): drift(v) for k, v in value.items()}
    if isinstance(value, list):
        return [drift(v) for v in value]
    return value


async def _send_body(send: Send, status: int, headers: list[RawHeader], body: bytes) -> None:
    headers = [h for h in headers if h[0].lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await _send_body(send, status, [_JSON, *extra], _dumps(payload))


async def _send_broken(send: Send, status: int, headers: list[RawHeader], body: bytes) -> None:
    """Promise more bytes than are sent, then stop: the client sees an incomplete response.

    Returning from the app with the response unfinished makes uvicorn close the connection
    (and log an error, which ``mock_api.server`` filters out).
    """
    headers = [h for h in headers if h[0].lower() != b"content-length"]
    headers.append((b"content-length", str(len(body) + 64).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list[RawHeader], bytes]:
    """Run the app to completion without sending anything, and return its response."""
    start: Message = {}
    chunks: list[bytes] = []

    async def collect(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, collect)
    return start["status"], list(start.get("headers", [])), b"".join(chunks)


async def _send_status_fault(fault: Fault, send: Send) -> None:
    """An error status in place of the real answer, with the headers or body that status carries."""
    name = fault.name
    status, code = _STATUS_FAULTS[name]
    headers: dict[str, str] = {}
    payload: dict[str, Any] = {"error": code, "detail": f"injected fault {name}"}
    if name == "http_429":
        headers["Retry-After"] = _seconds_text(fault.params["retry_after"])
    elif name == "http_401":
        headers["WWW-Authenticate"] = "Bearer"
    elif name == "http_422":
        payload = {
            "error": code,
            "fields": [{"field": str(fault.params["field"]), "message": "injected validation failure"}],
        }
    await send_json(send, status, payload, headers)


async def apply_fault(fault: Fault | None, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer the request as ``fault`` prescribes (normally when ``fault`` is None)."""
    name = fault.name if fault else None
    if fault is None:
        await app(scope, receive, send)
    elif name in _STATUS_FAULTS:
        await _send_status_fault(fault, send)
    elif name in ("timeout", "slow"):
        await asyncio.sleep(float(fault.params["delay"]))
        await app(scope, receive, send)
    elif name == "drop":
        await _send_broken(send, 200, [_JSON], b'{"status": "ok", "data": [1, 2, 3]}')
    elif name == "malformed_json":
        await _send_body(send, 200, [_JSON], b'{"status": "ok", "data": [1, 2, <truncated')
    elif name == "schema_drift":
        status, headers_raw, body = await _capture(app, scope, receive)
        if status < 400:
            try:
                body = _dumps(drift(json.loads(body)))
            except ValueError:
                pass
        await _send_body(send, status, headers_raw, body)
    elif name == "applied_no_response":
        status, headers_raw, body = await _capture(app, scope, receive)
        await _send_broken(send, status, headers_raw, body)
    else:  # pragma: no cover - the catalogue and this dispatch are kept in step by tests
        raise AssertionError(f"fault {name!r} has no implementation")


def is_admin_path(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


class FaultInjectionMiddleware:
    """ASGI middleware: records every non-admin request and applies the fault chosen for it.

    Admin routes pass straight through, never faulted nor recorded, so a test can always read
    and reset the mock's state.
    """

    def __init__(self, app: ASGIApp, controller: FaultController, recorder: Recorder) -> None:
        self.app = app
        self.controller = controller
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_admin_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        query = QueryParams(scope.get("query_string", b""))
        record = self.recorder.begin(scope["method"], scope["path"], dict(query), headers)
        scope.setdefault("state", {})["request_seq"] = record.seq

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        try:
            fault, source = self.controller.choose(
                scope["method"], scope["path"], headers.get("x-mock-fault"), query.get("_fault")
            )
        except FaultError as exc:
            await send_json(recording_send, 400, {"error": "unknown_fault", "detail": str(exc)})
            return
        record.fault = fault.name if fault else None
        record.fault_source = source
        await apply_fault(fault, self.app, scope, receive, recording_send)
        if fault is not None and fault.name in BROKEN_RESPONSE_FAULTS:
            record.status = None
