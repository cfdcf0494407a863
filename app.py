"""MAOO's Chalice app: one Lambda function per layer state and per tool.

Every declaration is one line into ``chalicelib``. The state machine
(``chalicelib/statemachine/maoo.asl.json``) binds ``${<Name>FunctionArn}`` to the function whose
name is ``<name>`` in snake case, e.g. ``${ToolHttpGetFunctionArn}`` -> ``tool_http_get``.
"""

from chalice import Chalice, Response

from chalicelib.handlers import layer_handler, tool_handler

app = Chalice(app_name="maoo", configure_logs=False)  # Powertools Logger owns logging


def _function(name: str, handler):
    """Declare a Lambda function. Chalice's handler string is ``app.<__name__>``, so the handler
    is named after the module attribute it is assigned to (the same as the function's name)."""
    handler.__name__ = name
    return app.lambda_function(name=name)(handler)


# ---- layers: perception, planning, execution
perceive = _function("perceive", layer_handler("Perceive", "chalicelib.perception.perceive_state:perceive_state"))
plan = _function("plan", layer_handler("Plan", "chalicelib.planning.layer:plan_state"))
next_step = _function("next_step", layer_handler("NextStep", "chalicelib.execution.layer:next_step"))
observe = _function("observe", layer_handler("Observe", "chalicelib.execution.layer:observe"))
finalize = _function("finalize", layer_handler("Finalize", "chalicelib.execution.layer:finalize"))

# ---- tools: one function each; the state machine's router is the allowlist
tool_http_get = _function("tool_http_get", tool_handler("http_get"))
tool_http_post = _function("tool_http_post", tool_handler("http_post"))
tool_db_query = _function("tool_db_query", tool_handler("db_query"))
tool_file_write = _function("tool_file_write", tool_handler("file_write"))
tool_calc = _function("tool_calc", tool_handler("calc"))
tool_summarize = _function("tool_summarize", tool_handler("summarize"))

# ---- HTTP API (chalice local, API Gateway): routes are one line each into chalicelib.api
_service = None


def _api():
    """The HTTP API's module, imported on the first request (it is not needed by the other functions)."""
    from chalicelib import api

    return api


def _runs():
    global _service
    if _service is None:
        _service = _api().RunService(lambda: app.handler_map)
    return _service


def _json(result) -> Response:
    status, body = result
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


@app.route("/health", methods=["GET"])
def health():
    return _json(_api().health())


@app.route("/tools", methods=["GET"])
def list_tools():
    return _json(_api().tools())


@app.route("/runs", methods=["POST"], content_types=["application/json"])
def create_run():
    return _json(_runs().start(app.current_request.raw_body))


@app.route("/runs", methods=["GET"])
def list_runs():
    limit = (app.current_request.query_params or {}).get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= 500:
        return _json(_api().error(400, "bad_request", f"limit={limit!r} is not accepted; use a whole number from 1 to 500"))
    return _json(_runs().list(int(limit)))


@app.route("/runs/{run_id}", methods=["GET"])
def get_run(run_id):
    return _json(_runs().get(run_id))


@app.route("/runs/{run_id}/trace", methods=["GET"])
def get_trace(run_id):
    return _json(_runs().trace(run_id))
