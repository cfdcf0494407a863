"""``http_get``: read JSON from an allowlisted origin."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chalicelib.tools import _http
from chalicelib.tools.base import LambdaSettings, ToolArgs, ToolContext, ToolFailure, ToolSpec
from chalicelib.tools.url_policy import check_url_arg


class HttpGetArgs(ToolArgs):
    url: str = Field(min_length=1, max_length=2048)
    params: dict[str, str | int | float] = Field(default_factory=dict)
    expect_fields: list[str] = Field(
        default_factory=list, description="Fields the JSON body must have; a missing one is schema drift"
    )


def run(args: HttpGetArgs, ctx: ToolContext) -> dict[str, Any]:
    result = _http.request("GET", args.url, params=args.params or None)
    body = result["body"]
    if args.expect_fields:
        present = set(body) if isinstance(body, dict) else set()
        missing = [name for name in args.expect_fields if name not in present]
        if missing:
            raise ToolFailure(
                "schema_drift",
                f"GET {args.url}: the response lacks {', '.join(missing)}",
                details={"missing": missing, "present": sorted(present)},
            )
    return result


SPEC = ToolSpec(
    name="http_get",
    description="GET a JSON resource from an allowlisted origin (the mock API by default).",
    args_model=HttpGetArgs,
    side_effect="read",
    cost=1.0,
    run=run,
    lambda_settings=LambdaSettings(timeout=15, memory_mb=256),
    check_args=check_url_arg,
)
