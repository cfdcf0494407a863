"""Rule-based perception: a plain-language operations request -> ``PerceivedState``.

Deterministic by design (offline mode is the default). The request is split into clauses in the
order the user wrote them; each clause is matched against the domain's patterns. What no pattern
understands is reported, never guessed: nothing understood is ``unsupported``, a clause left over
is ``ambiguous`` with the clause named.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.contracts import Condition, Constraints, PerceivedState, SubTask
from chalicelib.perception import lexicon as lx

_SPLIT = re.compile(
    r"\s*(?:;|,?\s+and\s+then\s+|,\s*then\s+|\s+then\s+|,\s*and\s+(?=" + lx.VERBS + r")|,\s*(?=" + lx.VERBS + r")|\s+and\s+(?=" + lx.VERBS + r"))\s*",
    re.IGNORECASE,
)
_CONDITION = re.compile(
    r"^if\s+(?:the\s+)?(?P<subject>.+?)\s+(?:is\s+)?(?P<op>above|over|greater than|more than|exceeds|higher than|at least|below|under|less than|lower than|at most|>=|<=|>|<)\s+(?P<value>\d+(?:\.\d+)?)\s*(?:%|percent)?\s*,?\s*(?:then\s+)?(?P<action>[a-z].*)$",
    re.IGNORECASE,
)
_OPS = {
    "above": ">", "over": ">", "greater than": ">", "more than": ">", "exceeds": ">", "higher than": ">",
    "at least": ">=", "below": "<", "under": "<", "less than": "<", "lower than": "<", "at most": "<=",
    ">=": ">=", "<=": "<=", ">": ">", "<": "<",
}


def split_clauses(request: str) -> list[str]:
    text = request.strip().rstrip(".!? ")
    return [part.strip(" ,") for part in _SPLIT.split(text) if part and part.strip(" ,")]


def _constraints(request: str) -> Constraints:
    found: dict[str, Any] = {}
    if m := lx.MAX_STEPS.search(request):
        found["max_steps"] = int(m.group("n"))
    if m := lx.DEADLINE.search(request):
        seconds = float(m.group("n"))
        found["deadline_seconds"] = seconds * 60 if m.group("unit").lower().startswith("min") else seconds
    if m := lx.BUDGET.search(request):
        found["budget"] = float(m.group("n"))
    if lx.READ_ONLY.search(request):
        found["read_only"] = True
    if lx.NO_FILES.search(request):
        found["no_files"] = True
    return Constraints(**found)


def _strip_constraints(request: str) -> str:
    for pattern in (lx.MAX_STEPS, lx.DEADLINE, lx.BUDGET, lx.READ_ONLY, lx.NO_FILES):
        request = pattern.sub("", request)
    return re.sub(r"\s+", " ", request).strip(" ,.")


def _service(clause: str, context: dict[str, Any]) -> str | None:
    if m := lx.SERVICE.search(clause):
        return m.group("service").lower()
    if lx.PRONOUN.search(clause):
        return context.get("service")
    return None


def _window(clause: str, default: str | None) -> str | None:
    for pattern, window in lx.WINDOWS:
        if pattern.search(clause):
            return window
    return default


def _clause_tasks(clause: str, context: dict[str, Any]) -> list[SubTask] | None:
    """The sub-tasks one clause asks for, or ``None`` when no pattern understands it."""
    service = _service(clause, context)
    if service:
        context["service"] = service
    window = _window(clause, context.get("window"))
    if window:
        context["window"] = window

    if lx.ERROR_RATE.search(clause):
        if not service:
            return [SubTask(kind="compute", text=clause, params={"metric": "error_rate", "service": None})]
        tasks = []
        if context.get("metrics_fetched") != service:
            tasks.append(SubTask(kind="fetch", text=clause, params={"resource": "metrics", "service": service, "window": window or "1h"},
                                 success_criteria=[f"metrics of {service} fetched"]))
            context["metrics_fetched"] = service
        tasks.append(SubTask(kind="compute", text=clause, params={"metric": "error_rate", "service": service},
                             success_criteria=[f"error rate of {service} computed"]))
        return tasks
    if lx.MOCK_DATA.search(clause):
        return [SubTask(kind="fetch", text=clause, params={"resource": "mock_data"}, success_criteria=["mock data fetched"])]
    if lx.SUMMARIZE.search(clause):
        return [SubTask(kind="summarize", text=clause, success_criteria=["a summary of the results"])]
    if m := lx.SAVE.search(clause):
        return [SubTask(kind="save", text=clause, params={"path": m.group("path")}, success_criteria=[f"{m.group('path')} written"])]
    if lx.CREATE_INCIDENT.search(clause):
        service = service or context.get("service")
        severity = (lx.SEVERITY.search(clause).group("sev").lower() if lx.SEVERITY.search(clause) else "sev3")
        if not service:
            return [SubTask(kind="create", text=clause, params={"resource": "incident", "service": None})]
        return [SubTask(kind="create", text=clause, params={"resource": "incident", "service": service, "severity": severity},
                        success_criteria=[f"incident opened for {service}"])]
    if m := lx.NOTIFY.search(clause):
        channel = (m.group("channel") or "ops").lower()
        return [SubTask(kind="notify", text=clause, params={"channel": channel, "service": service}, success_criteria=[f"{channel} notified"])]
    if lx.INCIDENTS.search(clause):
        status = "open" if lx.OPEN_WORD.search(clause) else ("resolved" if lx.RESOLVED_WORD.search(clause) else None)
        return [SubTask(kind="fetch", text=clause, params={"resource": "incidents", "service": service, "status": status},
                        success_criteria=["incidents listed"])]
    if lx.DEPLOYMENTS.search(clause):
        return [SubTask(kind="query", text=clause, params={"table": "deployments", "service": service}, success_criteria=["deployments listed"])]
    if lx.METRICS.search(clause) and service:
        context["metrics_fetched"] = service
        return [SubTask(kind="fetch", text=clause, params={"resource": "metrics", "service": service, "window": window or "1h"},
                        success_criteria=[f"metrics of {service} fetched"])]
    if lx.SERVICES_LIST.search(clause):
        return [SubTask(kind="query", text=clause, params={"table": "services", "service": None}, success_criteria=["services listed"])]
    if (lx.STATUS.search(clause) or lx.CHECK.search(clause)) and service:
        return [SubTask(kind="fetch", text=clause, params={"resource": "service", "service": service}, success_criteria=[f"status of {service} fetched"])]
    if expression := lx.arithmetic(clause):
        return [SubTask(kind="compute", text=clause, params={"expression": expression}, success_criteria=[f"{expression} computed"])]
    return None


def _condition(clause: str, context: dict[str, Any]) -> tuple[list[SubTask], Condition, str] | None:
    m = _CONDITION.match(clause)
    if not m:
        return None
    subject_tasks = _clause_tasks(m.group("subject"), context)
    if not subject_tasks or subject_tasks[-1].kind != "compute":
        return None
    return subject_tasks, Condition(subject="", op=_OPS[m.group("op").lower()], value=float(m.group("value"))), m.group("action")


def perceive(request: str) -> PerceivedState:
    constraints = _constraints(request)
    body = _strip_constraints(request)
    context: dict[str, Any] = {}
    subtasks: list[SubTask] = []
    unknown: list[str] = []
    conditional = False
    clauses = split_clauses(body)
    while clauses:
        clause = clauses.pop(0)
        if clause.lower().startswith("if ") and clauses and not _CONDITION.match(clause):
            clause = f"{clause}, {clauses.pop(0)}"  # "if X is above 5 %" was split from its action
        if cond := _condition(clause, context):
            subject_tasks, condition, action = cond
            subtasks.extend(subject_tasks)
            # the condition compares the value the subject's compute sub-task produces
            condition = condition.model_copy(update={"subject": f"#{len(subtasks) - 1}"})
            action_tasks = _clause_tasks(action, context)
            if not action_tasks:
                unknown.append(action)
                continue
            subtasks.extend(task.model_copy(update={"condition": condition}) for task in action_tasks)
            conditional = True
            continue
        tasks = _clause_tasks(clause, context)
        if tasks is None:
            unknown.append(clause)
        else:
            subtasks.extend(tasks)

    missing = [f"what to do with {clause!r}" for clause in unknown]
    for task in subtasks:
        if task.params.get("service", "") is None and task.kind in ("create", "compute") and "expression" not in task.params:
            missing.append(f"which service ({', '.join(lx.KNOWN_SERVICES)}) for {task.text!r}")
    entities: dict[str, Any] = {}
    services = sorted({t.params["service"] for t in subtasks if t.params.get("service")})
    if services:
        entities["services"] = services
    if context.get("window"):
        entities["window"] = context["window"]
    files = [t.params["path"] for t in subtasks if t.kind == "save"]
    if files:
        entities["files"] = files
    expressions = [t.params["expression"] for t in subtasks if "expression" in t.params]
    if expressions:
        entities["expressions"] = expressions

    if not subtasks:
        task_type, intent = "unsupported", "unsupported"
    elif missing:
        task_type, intent = "ambiguous", "ambiguous"
    else:
        task_type = "conditional" if conditional else ("multi_step" if len(subtasks) > 1 else "single")
        intent = "+".join(dict.fromkeys(t.kind for t in subtasks))
    return PerceivedState(
        intent=intent,
        task_type=task_type,
        entities=entities,
        constraints=constraints,
        success_criteria=[c for t in subtasks for c in t.success_criteria],
        subtasks=subtasks,
        missing=missing if subtasks else [],
    )
