"""MAOO over the Model Context Protocol: the run service as four tools and two resources.

Built on the official ``mcp`` SDK (``MCPServer``). The tools call ``chalicelib.api.RunService``,
the same service behind the HTTP API, so a run started here is planned, checked, held and
recorded exactly as one started from the CLI or over HTTP. Two things differ on purpose:

- every write step waits for a person by default (the run answers ``awaiting_approval``, saying
  what it would write and how a person approves it); no tool approves, and a client cannot ask
  for another policy. The operator may allow writes when starting the server (``--allow-writes``).
- ``run_request`` holds the call at most ``McpOptions.wait_seconds`` (clients give up after about
  a minute), sending a progress notification per trace event meanwhile, then answers ``running``
  with the run id for ``get_run`` to follow.
"""

# no ``from __future__ import annotations``: the SDK builds each tool's JSON schema from its signature,
# which then holds the annotations themselves, not their text
import json
import time
from collections.abc import Mapping
from typing import Annotated, Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp_types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from chalicelib.api import MAX_LIST_LIMIT, RunService
from chalicelib.contracts import Guards, ShownRunStatus
from chalicelib.errors import describe_validation_error
from mcp_server.answers import (
    ENDED_BADLY,
    GuardOverrides,
    McpOptions,
    RunAnswer,
    RunList,
    ToolList,
    run_answer,
    tool_list,
)

NAME = "maoo"
MAX_WAIT_SECONDS = 50.0
"""``run_request`` answers within this even if the operator asked for a longer wait: most clients
give up on a call after about 60 s."""


def instructions(options: McpOptions) -> str:
    if options.writes_held():
        writes = (
            "Every write step (opening an incident, posting to an API, writing a file) waits for a person's "
            "approval: the run answers `awaiting_approval` with what it would write and the command a person "
            "runs to approve it. No tool here approves, and nothing is written before a person does."
        )
    else:
        writes = (
            "The operator started this server with --allow-writes: write steps run without waiting for a "
            "person. Ask before you start a run that writes."
        )
    return (
        "MAOO runs plain-language operations requests (service health, error rates, incidents, "
        "deployments, notifications) as a plan of tool calls that is checked against policy and budget "
        "before anything runs; every run is recorded. Start one with run_request; it answers within "
        f"{options.wait_seconds:g} s, with `running` and a run id if it is not done yet: follow it with "
        f"get_run. {writes} list_runs shows recent runs; list_tools shows the operations tools a plan can use."
    )


def _text(model: BaseModel) -> str:
    return json.dumps(model.model_dump(mode="json", exclude_none=True), indent=1)


def _result(answer: BaseModel, is_error: bool = False) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=_text(answer))],
        structured_content=answer.model_dump(mode="json"),
        is_error=is_error,
    )


def _refused(body: dict[str, Any]) -> ToolError:
    """An error answer of ``RunService`` (``{"error", "message"}``) as the tool error a model reads."""
    message = str(body.get("message", "the request was refused"))
    if body.get("error") == "not_found":
        message = message.replace("GET /runs lists", "list_runs lists")
    return ToolError(message)


class _Server(MCPServer):
    """``MCPServer`` whose argument errors read like the CLI's: each field, what was wrong, what is accepted."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            known = ", ".join(t.name for t in self._tool_manager.list_tools())
            raise ToolError(f"there is no tool {name!r}; the tools are: {known}")
        accepted = list(tool.parameters.get("properties", {}))
        unknown = sorted(set(arguments) - set(accepted))
        if unknown:
            raise ToolError(
                f"{name} does not take {', '.join(unknown)}; accepted arguments: {', '.join(accepted)}"
            )
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                fields = describe_validation_error(exc.__cause__, root="arguments")
                if "guards." in fields:
                    fields += f" (accepted guards: {', '.join(Guards.model_fields)})"
                raise ToolError(
                    f"invalid arguments for {name}: {fields} (accepted arguments: {', '.join(accepted)})"
                ) from None
            if type(exc.__cause__) is ToolError:  # ours, raised in the tool: its message as we wrote it
                raise ToolError(str(exc.__cause__)) from None
            raise


class _Tools:
    """The tools and resources, over one run service; ``options`` are the operator's."""

    def __init__(self, service: RunService, options: McpOptions) -> None:
        self.service = service
        self.options = options

    async def _call(self, method: Any, *args: Any) -> tuple[int, dict[str, Any]]:
        """A ``RunService`` call in a worker thread: runs and store reads block, the server does not."""
        from chalicelib.errors import MaooError

        try:
            return await anyio.to_thread.run_sync(method, *args)
        except MaooError as exc:  # a setting or the store failed: the message says which
            raise ToolError(str(exc)) from None

    async def _served_mock_api(self, document: dict[str, Any]) -> str | None:
        """This server's mock API, if the held run was planned against it: the approving CLI must use
        it, as it cannot serve that port itself while this server holds it."""
        from urllib.parse import urlsplit

        from localrun.mock_origin import recorded_mock_port

        served = self.options.mock_api_url
        if served is None or document.get("status") != "awaiting_approval":
            return None
        port = await anyio.to_thread.run_sync(recorded_mock_port, document["run_id"])
        return served if port == urlsplit(served).port else None

    async def _follow(self, run_id: str, seconds: float, ctx: Context[Any, Any]) -> dict[str, Any]:
        """Watch the run for up to ``seconds``: a progress notification per new trace event, then its document."""
        deadline = time.monotonic() + seconds
        seen = 0
        while True:
            status, document = await self._call(self.service.get, run_id)
            if status != 200:
                raise _refused(document)
            try:
                events = await anyio.to_thread.run_sync(self.service.runs.events, run_id)
            except Exception:  # noqa: BLE001 - progress is best effort; the document says what happened
                events = []
            for event in events[seen:]:
                seen += 1
                await ctx.report_progress(seen, None, progress_line(event))
            if document["status"] != "running" or time.monotonic() >= deadline:
                return document
            await anyio.sleep(self.options.poll_seconds)

    async def run_request(
        self,
        request: Annotated[
            str,
            Field(
                min_length=1,
                max_length=2000,
                description="The operations request in plain language, e.g. 'What is the error rate of the "
                "payments service over the last hour?' or 'Open an incident for checkout with severity high'.",
            ),
        ],
        ctx: Context[Any, Any],
        guards: Annotated[
            GuardOverrides | None,  # type: ignore[valid-type]
            Field(description="Stop guards for this run (max steps, retries, budget, deadline); optional."),
        ] = None,
        idempotency_key: Annotated[
            str | None,
            Field(
                max_length=200,
                description="Send the same key again (after a timeout, say) to get the run it started "
                "instead of a second run; 1-200 printable ASCII characters, no spaces.",
            ),
        ] = None,
        use_memory: Annotated[bool, Field(description="Let what past runs taught inform the plan.")] = True,
        wait_seconds: Annotated[
            float | None,
            Field(
                ge=0,
                description="Answer after at most this many seconds (default and most: the server's wait, "
                "20 s unless its operator chose another); a run still going then answers `running` with its run id.",
            ),
        ] = None,
    ) -> Annotated[CallToolResult, RunAnswer]:
        """Plan and run an operations request with MAOO: its plan is checked against policy and budget before
        anything runs, and the run is recorded. Answers with the run's status, its answer sentence and its
        steps. A write waits for a person's approval (status `awaiting_approval`) unless the server says
        otherwise; a run not done within the wait answers `running`: follow it with get_run."""
        body: dict[str, Any] = {"request": request, "wait": False, "use_memory": use_memory}
        if guards is not None:
            body["guards"] = guards.model_dump(exclude_none=True)
        if self.options.approve is not None:
            body["approve"] = self.options.approve
        status, started = await self._call(self.service.start, json.dumps(body), idempotency_key)
        if status >= 400:
            raise _refused(started)
        most = min(self.options.wait_seconds, MAX_WAIT_SECONDS)
        seconds = most if wait_seconds is None else min(most, wait_seconds)
        document = await self._follow(started["run_id"], seconds, ctx)
        answer = run_answer(document, self.options, await self._served_mock_api(document))
        return _result(answer, is_error=document["status"] in ENDED_BADLY)

    async def get_run(
        self,
        run_id: Annotated[
            str, Field(min_length=1, max_length=200, description="A run id from run_request or list_runs.")
        ],
    ) -> Annotated[CallToolResult, RunAnswer]:
        """A run's status, its answer sentence and its steps; for a run waiting for approval, the write it
        holds and how a person approves it (no tool here can)."""
        status, document = await self._call(self.service.get, run_id)
        if status != 200:
            raise _refused(document)
        return _result(run_answer(document, self.options, await self._served_mock_api(document)))

    async def list_runs(
        self,
        status: Annotated[
            ShownRunStatus | None, Field(description="Only runs with this status (default: every status).")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100, description="How many runs, newest first (1-100).")] = 20,
    ) -> RunList:
        """Recent runs, newest first: run id, status, why it stopped, the request."""
        _, listed = await self._call(self.service.list, MAX_LIST_LIMIT if status else limit)
        rows = [row for row in listed["runs"] if status is None or row["status"] == status]
        return RunList.model_validate({"runs": [_row(row) for row in rows[:limit]]})

    async def list_tools(self) -> ToolList:
        """The operations tools a MAOO plan can call, each with its side-effect class (read, write-idempotent,
        write), whether its calls wait for a person here, its cost and its argument schema."""
        from chalicelib.tools.registry import describe_tools

        return tool_list(describe_tools(), self.options)

    async def run_document(self, run_id: str) -> str:
        status, document = await self._call(self.service.get, run_id)
        if status == 404:
            raise ResourceNotFoundError(_refused(document).args[0])
        return json.dumps(document, indent=1, default=str)

    async def run_trace(self, run_id: str) -> str:
        status, trace = await self._call(self.service.trace, run_id)
        if status == 404:
            raise ResourceNotFoundError(_refused(trace).args[0])
        return json.dumps(trace, default=str)


def build_server(service: RunService, options: McpOptions) -> MCPServer:
    """The MCP server over ``service``; ``options`` are the operator's (see ``cli.mcp_command`` and ``mcp_server.serve``)."""
    server = _Server(
        NAME, title="MAOO", instructions=instructions(options), version="0.1.0", log_level="WARNING"
    )
    tools = _Tools(service, options)
    writes = ToolAnnotations(
        title="Run an operations request",
        read_only_hint=False,
        destructive_hint=not options.writes_held(),
        idempotent_hint=False,
        open_world_hint=True,
    )
    server.add_tool(tools.run_request, name="run_request", annotations=writes)
    for method, title in (
        (tools.get_run, "Look at a run"),
        (tools.list_runs, "List recent runs"),
        (tools.list_tools, "List MAOO's tools"),
    ):
        server.add_tool(method, name=method.__name__, annotations=_read_only(title))
    server.resource(
        "maoo://runs/{run_id}",
        name="run",
        description="The whole run document (plan, steps, counters, guards, states), as get_run reads it",
        mime_type="application/json",
    )(tools.run_document)
    server.resource(
        "maoo://runs/{run_id}/trace",
        name="run trace",
        description="The run's trace: its events in order and the engine's execution history",
        mime_type="application/json",
    )(tools.run_trace)
    return server


def _read_only(title: str) -> ToolAnnotations:
    return ToolAnnotations(title=title, read_only_hint=True, idempotent_hint=True, open_world_hint=False)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in ("run_id", "status", "stop_reason", "request", "created_at")}


def progress_line(event: Mapping[str, Any]) -> str:
    """One trace event as a progress message: the state it came from and what happened there."""
    data = event.get("data") or {}
    state, kind = event.get("state", "?"), event.get("kind", "?")
    if kind == "tool_call":
        return (
            f"{state}: calling {data.get('tool')} (step {data.get('step_id')}, attempt {data.get('attempt')})"
        )
    if kind == "observation":
        outcome = "ok" if data.get("ok") else data.get("signal")
        return f"{state}: {data.get('tool')} answered ({outcome})"
    if kind in ("approval_requested", "paused"):
        return f"{state}: step {data.get('step_id')} ({data.get('tool')}) waits for a person's approval"
    if kind == "plan":
        tools = ", ".join(str(step.get("tool")) for step in data.get("steps") or [])
        return f"{state}: planned {len(data.get('steps') or [])} step(s): {tools or 'none'}"
    if kind == "decision":
        return f"{state}: step {data.get('step_id')}: {data.get('decision')} ({data.get('reason')})"
    if kind == "finalize":
        return f"{state}: the run ended {data.get('status')}"
    return f"{state}: {kind}"
