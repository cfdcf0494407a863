"""The HTTP API's contract: its response models, and the OpenAPI 3.1 document built from them.

The request model is the one the route validates with (``chalicelib.api.RunRequest``); the
responses are the shapes ``chalicelib.api`` returns. ``openapi_document`` describes the routes it
is given (``app.routes``, so a route added to ``app.py`` is never missing from the document); a
route with no entry in ``OPERATIONS`` is listed as answering any JSON, and
``undescribed_routes`` names it so that the command that writes the document can say so.
``deploy/package.py`` puts the same models into the packaged API (Swagger 2.0 ``definitions``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.contracts import ShownRunStatus, SideEffect

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
HTML = "text/html"


class _Fixed(BaseModel):
    """A response whose fields are all listed: anything else in it breaks the contract."""

    model_config = ConfigDict(extra="forbid")


class _Growing(BaseModel):
    """A document that may gain fields: those listed are required to be there and of their type."""

    model_config = ConfigDict(extra="allow")


class ErrorBody(_Growing):
    error: str = Field(description="A short code: bad_request, not_found, ...")
    message: str = Field(description="What was wrong and what is accepted")


class Health(_Fixed):
    status: Literal["ok"]
    engine: str
    store: str
    no_llm_mode: bool


class ToolDescription(_Fixed):
    name: str
    description: str
    side_effect: SideEffect
    cost: float
    args_schema: dict[str, Any] = Field(description="The tool's arguments as JSON Schema")


class ToolList(_Fixed):
    tools: list[ToolDescription]


class RunAtStep(_Fixed):
    """A run and one of its steps: where a fork came from, or a fork and the step it started at."""

    run_id: str
    step_id: str


class RunSummary(_Fixed):
    run_id: str
    request: str
    status: ShownRunStatus
    stop_reason: str | None
    created_at: float
    forked_from: RunAtStep | None = Field(
        default=None, description="The run and step this run was forked from"
    )


class RunList(_Fixed):
    runs: list[RunSummary]


class RunAccepted(_Fixed):
    run_id: str
    status: Literal["running"]
    links: dict[str, str]


class RunDocument(_Growing):
    """What ``python -m cli run --json`` prints; a run still running has only its first fields."""

    run_id: str
    request: str
    status: ShownRunStatus
    engine: str | None = None
    stop_reason: str | None = None
    stop_detail: str | None = None
    perception: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    plan_notes: list[str] = Field(default_factory=list)
    steps: list[dict[str, Any]] = Field(default_factory=list)
    final_output: str | None = None
    answer: dict[str, Any] | None = None  # the final output's sentence and its structured clauses
    states: list[str] = Field(default_factory=list)
    counters: dict[str, Any] | None = None
    guards: dict[str, Any] | None = None
    execution_arn: str | None = None
    execution_status: str | None = None
    created_at: float | None = None
    duration_ms: float | None = None
    trace_file: str | None = None
    forked_from: dict[str, Any] | None = Field(
        default=None, description="A fork's origin: run_id, step_id and the steps whose results it reused"
    )
    forks: list[RunAtStep] = Field(default_factory=list, description="The runs forked from this one")


class TraceDocument(_Growing):
    run_id: str
    run: dict[str, Any]
    events: list[dict[str, Any]]
    execution: dict[str, Any] | None


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: dict[int, type[BaseModel] | str]  # a model, or media types (space-separated) without a model
    request: type[BaseModel] | None = None
    query: dict[str, dict[str, Any]] = field(default_factory=dict)


def _operations() -> dict[tuple[str, str], Operation]:
    from chalicelib.api import ApprovalDecision, ForkRequest, RunRequest

    not_found = {404: ErrorBody}
    body_errors = {400: ErrorBody, 413: ErrorBody, 415: ErrorBody, 503: ErrorBody}
    return {
        ("/health", "GET"): Operation("Engine, store and mode", {200: Health}),
        ("/tools", "GET"): Operation("Every tool's JSON schema, side-effect class and cost", {200: ToolList}),
        ("/runs", "POST"): Operation(
            "Start a run; with wait, answer when it ends",
            {200: RunDocument, 202: RunAccepted, **body_errors},
            request=RunRequest,
        ),
        ("/runs", "GET"): Operation(
            "Recent runs, newest first",
            {200: RunList, 400: ErrorBody},
            query={"limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 20}},
        ),
        ("/runs/{run_id}", "GET"): Operation(
            "One run, as `python -m cli run --json` prints it", {200: RunDocument, **not_found}
        ),
        ("/runs/{run_id}/resume", "POST"): Operation(
            "Finish an interrupted run from its last checkpoint (a new execution RUN_ID-rN)",
            {200: RunDocument, 400: ErrorBody, 409: ErrorBody, 415: ErrorBody, 503: ErrorBody, **not_found},
        ),
        ("/runs/{run_id}/approval", "POST"): Operation(
            "Approve or reject the write a run holds (awaiting_approval); answer when the run ends or pauses again",
            {200: RunDocument, 409: ErrorBody, **body_errors, **not_found},
            request=ApprovalDecision,
        ),
        ("/runs/{run_id}/fork", "POST"): Operation(
            "Fork the run from a step: a new run that reuses the results before it and runs it and every later step anew",
            {200: RunDocument, 202: RunAccepted, 409: ErrorBody, **body_errors, **not_found},
            request=ForkRequest,
        ),
        ("/runs/{run_id}/trace", "GET"): Operation(
            "The run's exported trace", {200: TraceDocument, **not_found}
        ),
        ("/runs/{run_id}/view", "GET"): Operation(
            "The run's page (HTML), or with format=json the same facts as JSON",
            {200: f"{HTML} {JSON}", 400: ErrorBody, **not_found},
            query={"format": {"type": "string", "enum": ["html", "json"], "default": "html"}},
        ),
        ("/openapi.json", "GET"): Operation("This document (OpenAPI 3.1)", {200: JSON}),
    }


OPERATIONS_NOTE = "Routes are described in chalicelib/http_contract.py (_operations)."


def operations() -> dict[tuple[str, str], Operation]:
    """Every described operation, by (path, method)."""
    return _operations()


def undescribed_routes(routes: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    known = operations()
    return sorted((path, method.upper()) for path, method in routes if (path, method.upper()) not in known)


def model_schemas(models: Iterable[type[BaseModel]], ref_template: str) -> dict[str, Any]:
    """Each model's JSON schema by name, nested models included, with ``$ref`` made from ``ref_template``."""
    from pydantic.json_schema import models_json_schema

    _, top = models_json_schema(
        [
            (m, "validation" if m.__name__ in ("RunRequest", "ForkRequest") else "serialization")
            for m in models
        ],
        ref_template=ref_template,
    )
    return dict(top.get("$defs", {}))


def _content(answer: type[BaseModel] | str) -> dict[str, Any]:
    """A model is JSON of that schema; a string names one or more media types (space-separated)."""
    if isinstance(answer, str):
        return {
            kind: {"schema": {"type": "string"} if kind == HTML else {"type": "object"}}
            for kind in answer.split()
        }
    return {JSON: {"schema": {"$ref": f"#/components/schemas/{answer.__name__}"}}}


def _operation(path: str, method: str, operation: Operation | None) -> dict[str, Any]:
    words = path.strip("/").replace("{", "").replace("}", "").replace(".", "_").split("/")
    described: dict[str, Any] = {"operationId": "_".join([method.lower(), *filter(None, words)])}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _path_names(path)
    ]
    if operation is None:
        described.update(
            summary="Not described yet (" + OPERATIONS_NOTE + ")",
            responses={"default": {"description": "any JSON", "content": {JSON: {"schema": {}}}}},
        )
    else:
        described["summary"] = operation.summary
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in operation.query.items()
        ]
        if operation.request is not None:
            described["requestBody"] = {
                "required": True,
                "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{operation.request.__name__}"}}},
            }
        described["responses"] = {
            str(code): {"description": _REASONS.get(code, "answer"), "content": _content(answer)}
            for code, answer in sorted(operation.responses.items())
        }
    if parameters:
        described["parameters"] = parameters
    return described


_REASONS = {
    200: "OK",
    202: "Accepted: the run goes on",
    400: "Bad input: what was wrong and what is accepted",
    404: "No such run",
    413: "The body is over 64 KB",
    415: "The body is not application/json",
    503: "The server's own settings are wrong, or the mock API it needs is not set",
}


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def openapi_document(
    routes: Iterable[tuple[str, str]], title: str = "MAOO", version: str = "0.1.0"
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (``(path, method)`` pairs, as ``app.routes`` declares them)."""
    known = operations()
    paths: dict[str, dict[str, Any]] = {}
    used: set[type[BaseModel]] = set()
    for path, method in sorted(set((p, m.upper()) for p, m in routes)):
        operation = known.get((path, method))
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, operation)
        if operation is not None:
            used.update(a for a in operation.responses.values() if not isinstance(a, str))
            if operation.request is not None:
                used.add(operation.request)
    ordered = sorted(used, key=lambda m: m.__name__)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "MAOO's HTTP API (chalice local, API Gateway). Generated from the pydantic "
            "models in chalicelib/http_contract.py and chalicelib/api.py: `python -m cli openapi`.",
        },
        "paths": paths,
        # API Gateway checks a SigV4 signature on every route (IAMAuthorizer); chalice local does not
        "security": [{"sigv4": []}],
        "components": {
            "schemas": model_schemas(ordered, "#/components/schemas/{model}"),
            "securitySchemes": {
                "sigv4": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "description": 'AWS Signature Version 4 for execute-api (README "Who may call it")',
                    "x-amazon-apigateway-authtype": "awsSigv4",
                }
            },
        },
    }


def served_document(routes: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """``GET /openapi.json``: the document of ``routes`` (``app.routes``: path -> method -> entry)."""
    return 200, openapi_document((path, method) for path, methods in routes.items() for method in methods)
