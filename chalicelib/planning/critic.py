"""The critic: does the plan do what was asked, and nothing more? And did the run achieve it?

``critique`` reviews a plan before anything runs: every sub-task (and so every success criterion)
is covered by a step of the right tool, on the right target, under the condition the user set;
no step has a side effect the request did not ask for. Each issue names the step and what to do
about it, which is what the planner's one revision works from.

A finished run is judged by Finalize against each sub-task's postcondition
(``chalicelib.execution.postconditions``), not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import catalogue
from chalicelib.contracts import (
    CreateTask,
    NotifyTask,
    PerceivedState,
    Plan,
    SaveTask,
    Step,
    SubTask,
)
from chalicelib.tools.registry import TOOLS

_TOOL_FOR_KIND = catalogue.TOOLS_FOR_KIND  # which tools may carry out each kind of sub-task
_ENDPOINT_FOR_KIND = catalogue.ENDPOINT_FOR_KIND  # where a side effect of each kind must land


@dataclass(frozen=True)
class Issue:
    """One reason to reject a plan. ``action`` is what a revision does: drop or replace the step."""

    step_id: str
    rule: str
    message: str
    action: str  # "drop" | "replace"

    def __str__(self) -> str:
        return f"{self.step_id}: {self.message} [{self.rule}]"


def _criterion(task: SubTask) -> str:
    return ", ".join(task.success_criteria) or task.kind


def step_for(plan: Plan | None, index: int) -> Step | None:
    """The step that carries out sub-task ``index``: ``s<n>`` or one of its alternatives."""
    base = f"s{index + 1}"
    return next((s for s in plan.steps if s.id == base or s.alternative_of == base), None) if plan else None


def _target_problem(task: SubTask, step: Step) -> str | None:
    args = step.args
    body = args.get("json_body", {}) if isinstance(args.get("json_body"), dict) else {}
    if task.kind in _ENDPOINT_FOR_KIND and not str(args.get("url", "")).endswith(
        _ENDPOINT_FOR_KIND[task.kind]
    ):
        return f"posts to {args.get('url')!r}, not to {_ENDPOINT_FOR_KIND[task.kind]}"
    if isinstance(task, CreateTask) and body.get("service") != task.params.service:
        return (
            f"opens the incident for {body.get('service')!r}, but the request names {task.params.service!r}"
        )
    if isinstance(task, NotifyTask) and body.get("channel") != task.params.channel:
        return f"notifies {body.get('channel')!r}, but the request names {task.params.channel!r}"
    if isinstance(task, SaveTask) and args.get("path") != task.params.path:
        return f"writes {args.get('path')!r}, but the request names {task.params.path!r}"
    if (
        isinstance(task, SaveTask)
        and (literal := task.params.content) is not None
        and literal.kind == "literal"
    ):
        if str(args.get("content", "")).rstrip("\n") != literal.text:
            return f"writes {str(args.get('content', ''))[:60]!r}, but the request asks for {literal.text!r}"
    elif task.kind == "save" and "{{" not in str(args.get("content", "")):
        return "writes no result of the run, only fixed text"
    if (
        isinstance(task, NotifyTask)
        and (literal := task.params.content) is not None
        and literal.kind == "literal"
    ):
        if body.get("message") != literal.text:
            return f"posts {str(body.get('message'))[:60]!r}, but the request asks for {literal.text!r}"
    if task.kind == "compute" and not args.get("expression"):
        return "has no expression to compute"
    return None


def critique(plan: Plan, perception: PerceivedState) -> list[Issue]:
    """Reasons to reject the plan; empty when it covers every sub-task with no unasked side effect."""
    issues: list[Issue] = []
    covering: set[str] = set()
    for index, task in enumerate(perception.subtasks):
        base = f"s{index + 1}"
        step = step_for(plan, index)
        if step is None or step.tool not in _TOOL_FOR_KIND[task.kind]:
            found = f" ({step.id} uses {step.tool})" if step else ""
            issues.append(
                Issue(
                    base,
                    "critic.uncovered",
                    f"sub-task {task.text!r} ({_criterion(task)}) is not covered{found}",
                    "replace",
                )
            )
            continue
        covering.add(step.id)
        if problem := _target_problem(task, step):
            issues.append(Issue(step.id, "critic.wrong_target", f"{step.tool} {problem}", "replace"))
        if task.condition is not None and step.when is None:
            c = task.condition
            issues.append(
                Issue(
                    step.id,
                    "critic.unconditional",
                    f"{step.tool} runs unconditionally, but the request asked for it "
                    f"only when its condition holds ({c.op} {c.value:g})",
                    "replace",
                )
            )
    for step in plan.steps:
        if step.id not in covering and step.tool in TOOLS and TOOLS[step.tool].side_effect != "read":
            issues.append(
                Issue(
                    step.id,
                    "critic.unasked_write",
                    f"{step.tool} is a side effect the request did not ask for",
                    "drop",
                )
            )
    return issues
