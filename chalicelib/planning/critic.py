"""The critic: does the plan do what was asked, and nothing more?"""

from __future__ import annotations

from chalicelib.contracts import PerceivedState, Plan
from chalicelib.tools.registry import TOOLS

_WRITE_KINDS = {"save", "create", "notify"}
_TOOL_FOR_KIND = {
    "fetch": {"http_get", "db_query"},
    "query": {"db_query", "http_get"},
    "compute": {"calc"},
    "summarize": {"summarize"},
    "save": {"file_write"},
    "create": {"http_post"},
    "notify": {"http_post"},
}


def critique(plan: Plan, perception: PerceivedState) -> list[str]:
    """Reasons to reject the plan; empty when it covers every sub-task with no unasked side effect."""
    issues: list[str] = []
    tools = [step.tool for step in plan.steps]
    for index, task in enumerate(perception.subtasks):
        step_id = f"s{index + 1}"
        step = next((s for s in plan.steps if s.id == step_id or s.alternative_of == step_id), None)
        if step is None or step.tool not in _TOOL_FOR_KIND[task.kind]:
            issues.append(f"sub-task {task.text!r} ({', '.join(task.success_criteria) or task.kind}) is not covered")
    asked_writes = sum(1 for task in perception.subtasks if task.kind in _WRITE_KINDS)
    planned_writes = sum(1 for tool in tools if TOOLS[tool].side_effect != "read")
    if planned_writes > asked_writes:
        issues.append(f"the plan has {planned_writes} writes but the request asked for {asked_writes}")
    return issues
