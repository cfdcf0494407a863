"""The messages MAOO sends a model: the contract's JSON schema, the vocabulary, worked examples.

The examples are produced by the rule-based layer itself (``perceive`` and ``make_plan`` on fixed
requests), so the vocabulary the model is shown can never drift from what the planner, the policy
and the critic understand. The user's request travels as JSON data, never spliced into the
instructions.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from chalicelib.contracts import PerceivedState, Plan

EXAMPLE_REQUESTS = (
    "Fetch mock data, calculate 2 + 2, and summarize the result",
    "If the error rate of search is above 5 %, open an incident",
    "List open incidents for checkout and save them to incidents.md",
    "Which service has the most errors over 24h, other than search?",
)

_PERCEPTION_RULES = """\
You are the perception layer of MAOO, an operations orchestrator. Read the user's request and
describe it as one JSON object that validates against the JSON schema below. Answer with that JSON
object only: no prose, no code fence.

Vocabulary (the planner understands exactly these):
- subtasks[].kind: fetch | query (a read; query = the user asked for the database) | compute |
  summarize | save | create (open an incident) | notify (post to a channel).
- fetch/query params.resource: mock_data | metrics | service | services | incidents | deployments |
  url (params.url) | sql (params.sql); optional params.service, params.window (5m | 1h | 24h),
  params.status, params.severity (incidents), params.tier, params.region, params.owner (services),
  params.aggregate (count | sum | avg | min | max | argmax | argmin | latest | earliest | list |
  one), params.field (the column asked or aggregated: requests, errors, p50_ms, p95_ms, error_rate,
  tier, owner, status, region, title, severity, version, ...), params.filters ([{field, op, value}],
  op one of = != in "not in" > >= < <=), params.group_by, params.unit (s, min, thousands, millions,
  fraction), params.round_to. A word you cannot place in these fields means the request is
  "unsupported": never drop it.
- save params.content / notify params.content: {"kind": "literal", "text": the user's quoted words}
  or {"kind": "value", "task": index} for what an earlier sub-task produced.
- compute params.expression: arithmetic; an earlier sub-task's field is a token (e.g. "@errors")
  listed in params.refs as [sub-task index, field].
- save params.path (relative, e.g. "report.md"); create params.service, params.severity
  (sev1..sev4); notify params.channel.
- condition.subject "#<index>" is the value of sub-task <index> (0-based), e.g. "#1".
- task_type: single | multi_step | conditional; "unsupported" or "ambiguous" (with no subtasks,
  saying why in unsupported / missing) when the request is not an operations task MAOO can do.
"""

_PLAN_RULES = """\
You are the planning layer of MAOO, an operations orchestrator. Turn the perceived request into a
plan: one JSON object that validates against the JSON schema below. Answer with that JSON object
only: no prose, no code fence.

Rules:
- Use only these tools, with arguments that validate against their schemas: {tools}.
- One step per sub-task, in order, with id "s<n>" for sub-task n (1-based); a different route for a
  read is "s<n>b" with alternative_of "s<n>".
- Never reuse a step id listed in "avoid": those calls failed or are advised against.
- The ops API is {base_url}; reach nothing else unless the request gives a URL.
- A later step refers to an earlier result as "{{{{s1.body.errors}}}}" (a field) or "{{{{s1|json}}}}",
  and lists that step in depends_on. A conditional step carries "when" with subject "s<n>.<field>".
- Side effects (http_post, file_write) only where the request asks for them.
"""


def _schema(model: type[BaseModel]) -> str:
    return json.dumps(model.model_json_schema(), separators=(",", ":"))


@lru_cache(maxsize=1)
def _perception_examples() -> str:
    from chalicelib.perception.request_reader import perceive

    return "\n".join(
        json.dumps(
            {"request": request, "answer": perceive(request).model_dump(mode="json", exclude_defaults=True)},
            separators=(",", ":"),
        )
        for request in EXAMPLE_REQUESTS
    )


def perception_messages(request: str) -> tuple[str, str]:
    """``(system, user)`` asking for a ``PerceivedState``."""
    system = (
        f"{_PERCEPTION_RULES}\nJSON schema (PerceivedState):\n{_schema(PerceivedState)}\n\n"
        f"Examples:\n{_perception_examples()}\n"
    )
    return system, json.dumps({"request": request})


def _tool_catalogue() -> list[dict[str, Any]]:
    from chalicelib.tools.registry import TOOLS

    return [
        {
            "name": spec.name,
            "description": spec.description,
            "side_effect": spec.side_effect,
            "args_schema": spec.args_model.model_json_schema(),
        }
        for spec in TOOLS.values()
    ]


def _plan_example() -> str:
    from chalicelib.perception.request_reader import perceive
    from chalicelib.planning.planner import make_plan

    perception = perceive(EXAMPLE_REQUESTS[1])
    plan = make_plan(perception)
    return json.dumps(
        {
            "perception": perception.model_dump(mode="json", exclude_defaults=True),
            "answer": plan.model_dump(mode="json", exclude_defaults=True),
        },
        separators=(",", ":"),
    )


def plan_messages(
    perception: PerceivedState, avoid: set[str], revision: int, base_url: str
) -> tuple[str, str]:
    """``(system, user)`` asking for a ``Plan``."""
    tools = _tool_catalogue()
    system = (
        f"{_PLAN_RULES.format(tools=', '.join(t['name'] for t in tools), base_url=base_url)}\n"
        f"Tools:\n{json.dumps(tools, separators=(',', ':'))}\n\n"
        f"JSON schema (Plan):\n{_schema(Plan)}\n\nExample:\n{_plan_example()}\n"
    )
    user = json.dumps(
        {
            "perception": perception.model_dump(mode="json", exclude_defaults=True),
            "avoid": sorted(avoid),
            "revision": revision,
        },
        separators=(",", ":"),
    )
    return system, user
