"""The plan validator: schemas, references, dependency order, projected cost."""

from __future__ import annotations

from pydantic import ValidationError

from chalicelib.contracts import Guards, Plan
from chalicelib.errors import UnknownToolError, describe_validation_error
from chalicelib.references import placeholder, referenced_steps
from chalicelib.tools.registry import get_tool


def validate_plan(plan: Plan, guards: Guards) -> list[str]:
    """Problems that make the plan unsafe or impossible to run; empty when it is valid."""
    problems: list[str] = []
    if not plan.steps:
        problems.append("the plan has no steps")
    seen: set[str] = set()
    cost = 0.0
    for step in plan.steps:
        if step.id in seen:
            problems.append(f"{step.id}: duplicate step id")
        try:
            spec = get_tool(step.tool)
        except UnknownToolError as exc:
            problems.append(f"{step.id}: {exc}")
            seen.add(step.id)
            continue
        cost += spec.cost
        later = [dep for dep in step.depends_on if dep not in seen]
        if later:
            problems.append(
                f"{step.id}: depends on {', '.join(later)}, which do not come before it "
                "(dependencies must be acyclic and earlier)"
            )
        refs = referenced_steps(step.args) | ({step.when.subject.split(".")[0]} if step.when else set())
        unknown = refs - seen
        if unknown:
            problems.append(
                f"{step.id}: references {', '.join(sorted(unknown))}, which is not an earlier step"
            )
        undeclared = (refs & seen) - set(step.depends_on)
        if undeclared:
            problems.append(f"{step.id}: references {', '.join(sorted(undeclared))} without depending on it")
        try:
            spec.args_model.model_validate(placeholder(step.args))
        except ValidationError as exc:
            problems.append(
                f"{step.id} ({step.tool}): arguments do not match the schema: {describe_validation_error(exc, root='(args)')}"
            )
        seen.add(step.id)
    if cost > guards.budget:
        problems.append(f"projected cost {cost:g} exceeds the budget {guards.budget:g}")
    if len(plan.steps) > guards.max_steps:
        problems.append(f"{len(plan.steps)} steps exceed max_steps {guards.max_steps}")
    return problems
