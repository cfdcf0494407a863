"""MAOO's Chalice app: one Lambda function per layer state and per tool.

Every declaration is one line into ``chalicelib``. The state machine
(``chalicelib/statemachine/maoo.asl.json``) binds ``${<Name>FunctionArn}`` to the function whose
name is ``<name>`` in snake case, e.g. ``${ToolHttpGetFunctionArn}`` -> ``tool_http_get``.
"""

from chalice import Chalice, IAMAuthorizer, Response

from chalicelib.handlers import layer_handler, tool_handler
from chalicelib.localdev import harden_chalice_local
from chalicelib.tools.names import TOOL_NAMES

app = Chalice(app_name="maoo", configure_logs=False)  # Powertools Logger owns logging
harden_chalice_local()  # `chalice local` only: loopback, a listen queue for bursts; a no-op in Lambda


def _function(name: str, handler):
    """Declare a Lambda function. Chalice's handler string is ``app.<__name__>``, so the handler
    is named after the module attribute it is assigned to (the same as the function's name)."""
    handler.__name__ = name
    return app.lambda_function(name=name)(handler)


# ---- layers: perception, planning, execution
# perceive and plan run chalicelib.llm.states: the layers' states with LLM mode wired in
# recall: what the state needs from long-term memory, which the adapter reads for it
perceive = _function(
    "perceive",
    layer_handler(
        "Perceive",
        "chalicelib.llm.states:perceive_state",
        recall="chalicelib.perception.perceive_state:memory_query",
    ),
)
plan = _function(
    "plan",
    layer_handler(
        "Plan", "chalicelib.llm.states:plan_state", recall="chalicelib.planning.plan_state:memory_query"
    ),
)
next_step = _function("next_step", layer_handler("NextStep", "chalicelib.execution.next_step:next_step"))
observe = _function("observe", layer_handler("Observe", "chalicelib.execution.observe:observe"))
finalize = _function(
    "finalize",
    layer_handler(
        "Finalize",
        "chalicelib.execution.finalize:finalize",
        facts="chalicelib.execution.lessons:facts_for_run",
    ),
)

# ---- tools: one function each, ``tool_<name>``, for every tool in the registry (its names are
# generated into chalicelib/tools/names.py by `make generate`); the state machine's router is the allowlist
for _tool in TOOL_NAMES:
    globals()[f"tool_{_tool}"] = _function(f"tool_{_tool}", tool_handler(_tool))

# ---- HTTP API (chalice local, API Gateway): routes are one line each into chalicelib.api
# Every route requires IAM (SigV4) authorization in API Gateway: only principals whose IAM policy
# allows execute-api:Invoke on this API may call it (docs/reference/http-api.md, "Who may call it").
# `chalice local` does not check it, and therefore listens on loopback only (chalicelib/localdev.py).
iam = IAMAuthorizer()
_service = None


def _api():
    """The HTTP API's module, imported on the first request (it is not needed by the other functions)."""
    from chalicelib import api

    return api


def _embedded_runner(settings, handlers):
    """The embedded engine's runner, for ``chalice local``. The engine is not in the Lambda
    package; in the cloud the engine is ``aws`` and this is never called."""
    from embedded_engine import open_embedded_runner

    return open_embedded_runner(settings, handlers)


def _runs():
    global _service
    if _service is None:
        _service = _api().RunService(lambda: app.handler_map, embedded=_embedded_runner)
    return _service


@app.middleware("http")
def _errors_in_one_shape(event, get_response):
    """Every error body is ``{"error", "message"}``, also those Chalice writes itself (415, 405, 500)."""
    return _api().reshape_error(get_response, event)


def _json(result) -> Response:
    status, body = result
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


@app.route("/health", methods=["GET"], authorizer=iam)
def health():
    return _json(_api().health())


@app.route("/tools", methods=["GET"], authorizer=iam)
def list_tools():
    return _json(_api().tools())


@app.route("/runs", methods=["POST"], content_types=["application/json"], authorizer=iam)
def create_run():
    request = app.current_request
    return _json(_runs().start(request.raw_body, (request.headers or {}).get("idempotency-key")))


@app.route("/runs", methods=["GET"], authorizer=iam)
def list_runs():
    return _json(_api().list_runs(_runs(), app.current_request.query_params))


@app.route("/runs/{run_id}", methods=["GET"], authorizer=iam)
def get_run(run_id):
    return _json(_runs().get(run_id))


@app.route("/runs/{run_id}/resume", methods=["POST"], authorizer=iam)
def resume_run(run_id):
    return _json(_runs().resume(run_id))


@app.route("/runs/{run_id}/approval", methods=["POST"], content_types=["application/json"], authorizer=iam)
def decide_approval(run_id):
    return _json(_runs().approval(run_id, app.current_request.raw_body))


@app.route("/runs/{run_id}/fork", methods=["POST"], content_types=["application/json"], authorizer=iam)
def fork_run(run_id):
    return _json(_runs().fork(run_id, app.current_request.raw_body))


@app.route("/runs/{run_id}/trace", methods=["GET"], authorizer=iam)
def get_trace(run_id):
    return _json(_runs().trace(run_id))


@app.route("/openapi.json", methods=["GET"], authorizer=iam)
def openapi():
    from chalicelib.http_contract import served_document

    return _json(served_document(app.routes))


@app.route("/runs/{run_id}/view", methods=["GET"], authorizer=iam)
def view_run(run_id):
    """The run's page (self-contained HTML); ``?format=json`` gives the same facts as JSON."""
    fmt = (app.current_request.query_params or {}).get("format", "html")
    status, body, content_type = _runs().view(run_id, fmt)
    return Response(body=body, status_code=status, headers={"Content-Type": content_type})
