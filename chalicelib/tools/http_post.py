"""``http_post``: send JSON to an allowlisted origin, with an ``Idempotency-Key`` header."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chalicelib.config import get_settings, origin_of
from chalicelib.contracts import SideEffect
from chalicelib.errors import ConfigError
from chalicelib.tools import _http
from chalicelib.tools.base import LambdaSettings, ToolArgs, ToolContext, ToolSpec
from chalicelib.tools.url_policy import check_url_arg


class HttpPostArgs(ToolArgs):
    url: str = Field(min_length=1, max_length=2048)
    json_body: dict[str, Any] = Field(default_factory=dict)


def run(args: HttpPostArgs, ctx: ToolContext) -> dict[str, Any]:
    headers = {"Idempotency-Key": ctx.idempotency_key} if ctx.idempotency_key else None
    return _http.request("POST", args.url, body=args.json_body, headers=headers)


def side_effect_for(args: dict[str, Any]) -> SideEffect:
    """``write-idempotent`` where the origin honours ``Idempotency-Key``; a plain ``write`` elsewhere."""
    try:
        origin = origin_of(str(args.get("url", "")))
    except ConfigError:
        return "write"
    return "write-idempotent" if origin in get_settings().idempotent_origins() else "write"


SPEC = ToolSpec(
    name="http_post",
    description="POST JSON to an allowlisted origin; the write carries an Idempotency-Key.",
    args_model=HttpPostArgs,
    side_effect="write-idempotent",
    cost=2.0,
    run=run,
    side_effect_for=side_effect_for,
    lambda_settings=LambdaSettings(timeout=15, memory_mb=256),
    max_calls_per_plan=4,
    check_args=check_url_arg,
)
