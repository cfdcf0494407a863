"""The policy engine: what the plan may do, with a named rule for every denial.

Rules come from three places: the platform (the tool allowlist, per-tool limits on writes), the
tools themselves (allowlisted origins, the file sandbox), and the request's own hard constraints
(read-only, no files, tools the user ruled out). A denial names its rule and says why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from chalicelib.contracts import PerceivedState, Plan
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
            denials.append(
                Denial(
                    step.id, "tool.allowlist", f"tool {step.tool!r} is not allowlisted ({', '.join(TOOLS)})"
                )
            )
            continue
        if step.tool in constraints.denied_tools:
            denials.append(
                Denial(step.id, "request.denied_tool", f"{step.tool} is needed, and the request ruled it out")
            )
        if constraints.read_only and spec.side_effect != "read":
            denials.append(
                Denial(
                    step.id, "request.read_only", f"{step.tool} writes, and the request asked for read-only"
                )
            )
        if constraints.no_files and step.tool == "file_write":
            denials.append(
                Denial(step.id, "request.no_files", "the request asked for no files to be written")
            )
        try:
            if spec.check_args is not None:
                spec.check_args(step.args)
        except ToolFailure as failure:
            denials.append(Denial(step.id, failure.details.get("rule", "policy"), failure.message))
    for tool, count in Counter(step.tool for step in plan.steps).items():
        # at most this many calls of a tool in one plan (the tool's ``max_calls_per_plan``): writes
        # are where a wrong plan does harm, so a request that would open six incidents at once is
        # refused rather than carried out
        limit = TOOLS[tool].max_calls_per_plan if tool in TOOLS else None
        if limit is not None and count > limit:
            last = [s.id for s in plan.steps if s.tool == tool][limit]
            denials.append(
                Denial(
                    last,
                    "tool.limit",
                    f"the plan calls {tool} {count} times; at most {limit} are allowed in one run",
                )
            )
    return denials
