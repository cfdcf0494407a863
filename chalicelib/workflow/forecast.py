"""What a request will call, foreseen before it runs: the URLs of its rule-based plan.

The run itself perceives and plans again, inside its states; this forecast only lets a caller
prepare ahead, never decides anything the run does. A caller uses it to start a server the run
will reach while the engine starts (the CLI's mock API), or to refuse a set-up mistake early
(``chalicelib.api``: a request for an ops API nobody serves). A request that cannot be planned
here (ambiguous, unsupported, pointing back at an earlier run) forecasts no URL: the run explains.
"""

from __future__ import annotations

from chalicelib.errors import MaooError


def planned_urls(request: str, plan_text: bool = False) -> list[str]:
    """The URLs the rule-based plan of ``request`` (or of the plan text) calls, in plan order; ``[]`` if
    it cannot be planned."""
    from chalicelib.perception.plan_text import perceive_plan_text
    from chalicelib.perception.request_reader import perceive
    from chalicelib.planning.planner import NoRouteError, make_plan

    try:
        plan = make_plan(perceive_plan_text(request) if plan_text else perceive(request))
    except (NoRouteError, MaooError, ValueError):
        return []
    return [url for step in plan.steps if isinstance(url := step.args.get("url"), str)]


def calls_origin(request: str, origin: str, plan_text: bool = False) -> bool:
    """Does the rule-based plan of ``request`` call a URL on ``origin`` (``scheme://host:port``)?"""
    prefix = origin.rstrip("/") + "/"
    return any(url.startswith(prefix) for url in planned_urls(request, plan_text))
