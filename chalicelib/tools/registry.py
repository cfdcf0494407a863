"""The allowlist of tools. A tool that is not here cannot be planned, validated or called."""

from __future__ import annotations

from typing import Any

from chalicelib.config import get_settings
from chalicelib.contracts import SideEffect
from chalicelib.errors import UnknownToolError
from chalicelib.tools import calc, db_query, file_write, http_get, http_post, summarize
from chalicelib.tools.base import ToolSpec

TOOLS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (http_get.SPEC, http_post.SPEC, db_query.SPEC, file_write.SPEC, calc.SPEC, summarize.SPEC)
}


def get_tool(name: str) -> ToolSpec:
    try:
        return TOOLS[name]
    except KeyError:
        raise UnknownToolError(f"unknown tool {name!r}; the allowlist is: {', '.join(TOOLS)}") from None


def side_effect_of(name: str, args: dict[str, Any]) -> SideEffect:
    """The side-effect class of this call (some tools' class depends on the arguments)."""
    spec = get_tool(name)
    return spec.side_effect_for(args) if spec.side_effect_for else spec.side_effect


def cost_of(name: str) -> float:
    """Cost units of one call: ``MAOO_TOOL_COSTS`` overrides the tool's declared cost."""
    return get_settings().tool_costs.get(name, get_tool(name).cost)


def describe_tools() -> list[dict[str, Any]]:
    """Every tool with its JSON schema, side-effect class and cost (for ``GET /tools`` and the CLI)."""
    return [
        {
            "name": spec.name,
            "description": spec.description,
            "side_effect": spec.side_effect,
            "cost": cost_of(spec.name),
            "args_schema": spec.args_model.model_json_schema(),
        }
        for spec in TOOLS.values()
    ]
