"""The policy engine: what the plan may do, with a named rule for every denial."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.contracts import PerceivedState, Plan
from chalicelib.tools import _http, file_write
from chalicelib.tools.base import ToolFailure
from chalicelib.tools.registry import TOOLS


@dataclass(frozen=True)
class Denial:
    step_id: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.step_id}: {self.message} [{self.rule}]"


def check_plan(plan: Plan, perception: PerceivedState) -> list[Denial]:
    denials: list[Denial] = []
    constraints = perception.constraints
    for step in plan.steps:
        spec = TOOLS.get(step.tool)
        if spec is None:
            denials.append(Denial(step.id, "tool.allowlist", f"tool {step.tool!r} is not allowlisted ({', '.join(TOOLS)})"))
            continue
        if constraints.read_only and spec.side_effect != "read":
            denials.append(Denial(step.id, "request.read_only", f"{step.tool} writes, and the request asked for read-only"))
        if constraints.no_files and step.tool == "file_write":
            denials.append(Denial(step.id, "request.no_files", "the request asked for no files to be written"))
        try:
            if step.tool in ("http_get", "http_post") and isinstance(step.args.get("url"), str):
                _http.check_url(step.args["url"])
            if step.tool == "file_write" and isinstance(step.args.get("path"), str):
                file_write.sandbox_path(step.args["path"])
        except ToolFailure as failure:
            denials.append(Denial(step.id, failure.details.get("rule", "policy"), failure.message))
    return denials
