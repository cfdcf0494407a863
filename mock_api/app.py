"""The mock ops API: the estate from ``chalicelib.opsdata`` over HTTP, with faults on demand.

Each ``create_app()`` call owns its state (created objects, fault plan, chaos, records), so
tests never leak into each other. Writes honour ``Idempotency-Key`` the way a careful real API
does, which is what lets MAOO retry a write whose answer it never saw.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException

from chalicelib import opsdata
from mock_api.faults import (
    CATALOGUE,
    ChaosIn,
    FaultController,
    FaultInjectionMiddleware,
    FaultPlanIn,
)
from mock_api.llm import router as llm_router
from mock_api.recorder import Recorder, SideEffectKind

Window = Literal["5m", "1h", "24h"]
Severity = Literal["sev1", "sev2", "sev3", "sev4"]


# ---------------------------------------------------------------- wire formats


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Service(Model):
    name: str
    tier: int
    owner: str
    status: Literal["healthy", "degraded", "down"]
    region: str


class ServiceList(Model):
    services: list[Service]


class Metrics(Model):
    service: str
    window: Window
    requests: int
    errors: int
    p50_ms: int
    p95_ms: int


class Incident(Model):
    id: str
    service: str
    title: str
    severity: Severity
    status: Literal["open", "resolved"]
    opened_at: str


class IncidentList(Model):
    incidents: list[Incident]


class IncidentIn(Model):
    service: str
    title: str = Field(min_length=1, max_length=200)
    severity: Severity

    @field_validator("service")
    @classmethod
    def _known_service(cls, value: str) -> str:
        if value not in opsdata.SERVICE_NAMES:
            raise PydanticCustomError(
                "unknown_service",
                "unknown service '{service}'; known: {known}",
                {"service": value, "known": ", ".join(opsdata.SERVICE_NAMES)},
            )
        return value


class NotificationIn(Model):
    channel: str = Field(min_length=1, max_length=64)
    message: str = Field(min_length=1, max_length=2000)


class Notification(Model):
    id: str
    channel: str
    message: str
    status: Literal["sent"]
    sent_at: str


class Deployment(Model):
    id: str
    service: str
    version: str
    deployed_at: str
    status: Literal["succeeded", "failed", "rolled_back"]


class DeploymentList(Model):
    deployments: list[Deployment]


class MockItem(Model):
    id: int
    name: str
    value: int


class MockData(Model):
    dataset: str
    items: list[MockItem]
    generated_at: str


# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class _StoredReply:
    fingerprint: str
    body: dict[str, Any]


class MockState:
    """Everything one app remembers; ``reset()`` returns it to the estate as shipped."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.recorder = Recorder()
        self.faults = FaultController()
        self.services = {s["name"]: s for s in opsdata.services()}
        self.metrics = {(m["service"], m["window"]): m for m in opsdata.metrics()}
        self.deployments = opsdata.deployments()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.incidents: list[dict[str, Any]] = opsdata.incidents()
            self.notifications: list[dict[str, Any]] = []
            self.replies: dict[tuple[str, str], _StoredReply] = {}
            self.created = 0
        self.recorder.clear()
        self.faults.reset()

    def next_timestamp(self) -> str:
        """A deterministic creation time: ``AS_OF`` plus one second per object created."""
        self.created += 1
        moment = datetime.fromisoformat(opsdata.AS_OF) + timedelta(seconds=self.created)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _state(request: Request) -> MockState:
    return request.app.state.mock


StateDep = Annotated[MockState, Depends(_state)]


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


def _write(
    request: Request,
    state: MockState,
    kind: SideEffectKind,
    payload: BaseModel,
    apply: Callable[[], dict[str, Any]],
) -> JSONResponse:
    """Apply a write once per Idempotency-Key and record it as a side effect.

    A repeated key with the same body replays the first answer (200, ``Idempotent-Replayed``)
    without applying anything; the same key with a different body is a 409.
    """
    key = request.headers.get("idempotency-key") or None
    fingerprint = payload.model_dump_json()
    with state.lock:
        if key is not None:
            stored = state.replies.get((request.url.path, key))
            if stored is not None and stored.fingerprint != fingerprint:
                return _error(
                    409,
                    "idempotency_conflict",
                    f"Idempotency-Key {key!r} was already used with a different body",
                )
            if stored is not None:
                return JSONResponse(stored.body, headers={"Idempotent-Replayed": "true"})
        created = apply()
        state.recorder.side_effect(
            kind, created, idempotency_key=key, request_seq=getattr(request.state, "request_seq", None)
        )
        if key is not None:
            state.replies[(request.url.path, key)] = _StoredReply(fingerprint, created)
    return JSONResponse(created, status_code=201)


# ---------------------------------------------------------------- ops routes

ops = APIRouter()


@ops.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@ops.get("/data", response_model=MockData)
def data() -> dict[str, Any]:
    return opsdata.mock_data()


@ops.get("/services", response_model=ServiceList)
def list_services(state: StateDep) -> dict[str, Any]:
    return {"services": list(state.services.values())}


def _service(state: MockState, name: str) -> dict[str, Any]:
    if name not in state.services:
        raise HTTPException(404, f"no service named {name!r}")
    return state.services[name]


@ops.get("/services/{name}", response_model=Service)
def get_service(name: str, state: StateDep) -> dict[str, Any]:
    return _service(state, name)


@ops.get("/services/{name}/metrics", response_model=Metrics)
def get_metrics(name: str, state: StateDep, window: Window = "1h") -> dict[str, Any]:
    _service(state, name)
    return state.metrics[(name, window)]


@ops.get("/incidents", response_model=IncidentList)
def list_incidents(
    state: StateDep, service: str | None = None, status: Literal["open", "resolved"] | None = None
) -> dict[str, Any]:
    with state.lock:
        found = [
            i
            for i in state.incidents
            if (service is None or i["service"] == service) and (status is None or i["status"] == status)
        ]
    return {"incidents": found}


@ops.post("/incidents", status_code=201, response_model=Incident)
def create_incident(body: IncidentIn, request: Request, state: StateDep) -> JSONResponse:
    def apply() -> dict[str, Any]:
        number = max(int(i["id"].removeprefix("INC-")) for i in state.incidents) + 1
        incident = {
            "id": f"INC-{number}",
            **body.model_dump(),
            "status": "open",
            "opened_at": state.next_timestamp(),
        }
        state.incidents.append(incident)
        return dict(incident)

    return _write(request, state, "incident_created", body, apply)


@ops.post("/notifications", status_code=201, response_model=Notification)
def send_notification(body: NotificationIn, request: Request, state: StateDep) -> JSONResponse:
    def apply() -> dict[str, Any]:
        notification = {
            "id": f"NTF-{len(state.notifications) + 1:04d}",
            **body.model_dump(),
            "status": "sent",
            "sent_at": state.next_timestamp(),
        }
        state.notifications.append(notification)
        return dict(notification)

    return _write(request, state, "notification_sent", body, apply)


@ops.get("/deployments", response_model=DeploymentList)
def list_deployments(state: StateDep, service: str | None = None) -> dict[str, Any]:
    found = [d for d in state.deployments if service is None or d["service"] == service]
    return {"deployments": found}


# ---------------------------------------------------------------- admin routes (never faulted)

admin = APIRouter(prefix="/_admin")


@admin.get("/catalogue")
def catalogue() -> dict[str, Any]:
    return {
        "faults": [
            {"name": s.name, "description": s.description, "params": dict(s.defaults)}
            for s in CATALOGUE.values()
        ]
    }


@admin.get("/faults")
def get_faults(state: StateDep) -> dict[str, Any]:
    return state.faults.plan()


@admin.post("/faults")
def set_faults(plan: FaultPlanIn, state: StateDep) -> dict[str, Any]:
    """Replace the fault plan; rules are tried in order."""
    state.faults.set_plan(plan)
    return state.faults.plan()


@admin.delete("/faults")
def clear_faults(state: StateDep) -> dict[str, Any]:
    state.faults.clear_plan()
    return state.faults.plan()


@admin.get("/chaos")
def get_chaos(state: StateDep) -> dict[str, Any]:
    return state.faults.chaos()


@admin.post("/chaos")
def set_chaos(chaos: ChaosIn, state: StateDep) -> dict[str, Any]:
    state.faults.set_chaos(chaos)
    return state.faults.chaos()


@admin.delete("/chaos")
def clear_chaos(state: StateDep) -> dict[str, Any]:
    state.faults.set_chaos(None)
    return state.faults.chaos()


@admin.get("/requests")
def recorded_requests(state: StateDep) -> dict[str, Any]:
    return {"requests": state.recorder.requests()}


@admin.get("/side-effects")
def recorded_side_effects(state: StateDep) -> dict[str, Any]:
    return {"side_effects": state.recorder.side_effects()}


@admin.post("/reset")
def reset(state: StateDep) -> dict[str, str]:
    state.reset()
    return {"status": "reset"}


# ---------------------------------------------------------------- errors as JSON

_SOURCES = ("body", "query", "path", "header", "cookie")
_STATUS_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 409: "conflict"}


def _field_name(error: dict[str, Any]) -> str:
    loc = list(error.get("loc", ()))
    source = str(loc.pop(0)) if loc and loc[0] in _SOURCES else "body"
    if error.get("type") == "json_invalid":
        return "body"
    return ".".join(str(part) for part in loc) or source


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [
        {"field": _field_name(e), "message": str(e.get("msg", "invalid")).removeprefix("Value error, ")}
        for e in exc.errors()
    ]
    return JSONResponse({"error": "validation", "fields": fields}, status_code=422)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    return JSONResponse(
        {"error": code, "detail": exc.detail},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def create_app() -> FastAPI:
    """A fresh mock API with its own state."""
    app = FastAPI(
        title="MAOO mock ops API", docs_url="/_admin/docs", openapi_url="/_admin/openapi.json", redoc_url=None
    )
    state = MockState()
    app.state.mock = state
    app.include_router(ops)
    app.include_router(admin)
    app.include_router(llm_router)  # scripted OpenAI-compatible /v1/chat/completions (+ /_admin/llm/*)
    # Starlette types a handler as taking any Exception; these take the one class they are registered for
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_middleware(FaultInjectionMiddleware, controller=state.faults, recorder=state.recorder)
    return app
