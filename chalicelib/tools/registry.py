"""The allowlist of tools. A tool that is not here cannot be planned, validated or called."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import UnknownToolError
from chalicelib.tools import calc, db_query, file_write, http_get, http_post, summarize
from chalicelib.tools.base import ToolSpec

TOOLS: dict[str, ToolSpec] = {
    spec.name: spec for spec in (http_get.SPEC, http_post.SPEC, db_query.SPEC, file_write.SPEC, calc.SPEC, summarize.SPEC)
}


def get_tool(name: str) -> ToolSpec:
    try:
        return TOOLS[name]
    except KeyError:
        raise UnknownToolError(f"unknown tool {name!r}; the allowlist is: {', '.join(TOOLS)}") from None


def describe_tools() -> list[dict[str, Any]]:
    """Every tool with its JSON schema, side-effect class and cost (for ``GET /tools`` and the CLI)."""
    return [
        {
            "name": spec.name,
            "description": spec.description,
            "side_effect": spec.side_effect,
            "cost": spec.cost,
            "args_schema": spec.args_model.model_json_schema(),
        }
        for spec in TOOLS.values()
    ]
