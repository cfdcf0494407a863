"""Argument patches: repair a step from what its failure said, instead of giving up on it.

Two sources of repairs, both explicit tables: a known field rename in a response (schema drift),
and a 422's field-level errors for a field with a safe default. A step is patched at most once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalicelib.contracts import Plan, Signal, Step, ToolResult
from chalicelib.references import REF

KNOWN_RENAMES = {
    "errors": "error_count",
    "requests": "request_count",
    "items": "records",
    "status": "state",
    "severity": "level",
}
SAFE_DEFAULTS = {"severity": "sev3", "channel": "ops", "window": "1h"}


@dataclass(frozen=True)
class Patch:
    plan: Plan
    description: str


def _rename_refs(value: Any, step_id: str, renames: dict[str, str]) -> Any:
    if isinstance(value, str):

        def swap(m: re.Match) -> str:
            if m.group("step") != step_id:
                return m.group(0)
            parts = m.group("path").split(".")
            parts = [renames.get(p, p) for p in parts]
            return m.group(0).replace(m.group("path"), ".".join(parts), 1)

        return REF.sub(swap, value)
    if isinstance(value, dict):
        return {k: _rename_refs(v, step_id, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_refs(v, step_id, renames) for v in value]
    return value


def _drift_patch(plan: Plan, step: Step, details: dict[str, Any]) -> Patch | None:
    missing, present = details.get("missing", []), set(details.get("present", []))
    renames = {name: KNOWN_RENAMES[name] for name in missing if KNOWN_RENAMES.get(name) in present}
    if not missing or len(renames) != len(missing):
        return None
    steps = []
    for s in plan.steps:
        if s.id == step.id:
            fields = [renames.get(f, f) for f in s.args.get("expect_fields", [])]
            s = s.model_copy(update={"args": {**s.args, "expect_fields": fields}})
        elif step.id in s.depends_on:
            s = s.model_copy(update={"args": _rename_refs(s.args, step.id, renames)})
        steps.append(s)
    shown = ", ".join(f"{old} -> {new}" for old, new in renames.items())
    return Patch(
        plan.model_copy(update={"steps": steps}),
        f"the response renamed {shown}; expected fields and references patched",
    )


def _fields_patch(plan: Plan, step: Step, details: dict[str, Any]) -> Patch | None:
    body = details.get("body")
    fields = body.get("fields", []) if isinstance(body, dict) else []
    names = [str(f.get("field", "")).split(".")[-1] for f in fields if isinstance(f, dict)]
    json_body = step.args.get("json_body")
    if not names or not isinstance(json_body, dict):
        return None
    fixes = {
        name: SAFE_DEFAULTS[name]
        for name in names
        if name in SAFE_DEFAULTS and json_body.get(name) != SAFE_DEFAULTS[name]
    }
    if len(fixes) != len(names):
        return None
    patched = step.model_copy(update={"args": {**step.args, "json_body": {**json_body, **fixes}}})
    steps = [patched if s.id == step.id else s for s in plan.steps]
    shown = ", ".join(f"{k}={v!r}" for k, v in fixes.items())
    return Patch(
        plan.model_copy(update={"steps": steps}),
        f"the server rejected {', '.join(names)}; patched to the safe default {shown}",
    )


def propose_patch(plan: Plan, step: Step, signal: Signal, result: ToolResult) -> Patch | None:
    """A patched plan that should make ``step`` succeed, or ``None`` when no known repair applies."""
    if result.error is None:
        return None
    if signal == "schema_drift":
        return _drift_patch(plan, step, result.error.details)
    if signal == "bad_args" and result.error.status_code == 422:
        return _fields_patch(plan, step, result.error.details)
    return None
