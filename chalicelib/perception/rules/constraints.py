"""The constraint rules: hard limits a request sets ("in at most 3 steps", "read-only", "budget
of 5"). They are read first and taken out of the text before it is split into clauses; each
phrase read shows in the perceived state as ``constraint.<name>``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.contracts import ClauseReading, Constraints
from chalicelib.perception.fragments import NOCASE, SPACES

_LEAD = r"\s*,?\s*\b"  # a constraint may follow a comma
_AND_BUT = r"(?:and\s+)?(?:but\s+)?"
_DONT = r"(?:don'?t|do not|never|without)"

MAX_STEPS = re.compile(
    _LEAD
    + r"(?:(?:and\s+)?(?:in|within|using|use|with|take|limit (?:it|this|yourself) to|keep (?:it|this) (?:to|under))\s+)?"
    r"(?:at most|no more than|not more than|max(?:imum)?(?: of)?|a maximum of|only|under|fewer than|less than)?\s*"
    r"(?P<n>\d+)\s+(?:tool\s+)?(?:steps?|calls?|tool calls?)(?:\s+or\s+(?:fewer|less))?(?:\s+(?:at most|max(?:imum)?))?\b",
    NOCASE,
)
DEADLINE = re.compile(
    _LEAD
    + r"(?:(?:and\s+)?(?:within|in under|in less than|under|in no more than|taking no (?:more|longer) than|"
    r"take no (?:more|longer) than|with a (?:time limit|deadline|timeout) of|(?:time limit|deadline|timeout)(?: of|:)?|in at most|finish(?:ing)? (?:with)?in))\s+"
    r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>seconds?|secs?|s|minutes?|mins?)\b",
    NOCASE,
)
BUDGET = re.compile(
    _LEAD
    + r"(?:(?:and\s+)?(?:with\s+)?(?:a\s+)?(?:budget|cost limit|cost cap|spending limit)(?:\s+(?:of|is|:))?\s*(?P<n>\d+(?:\.\d+)?)"
    r"|(?:and\s+)?(?:spend(?:ing)?|cost(?:ing)?)\s+(?:at most|no more than|under|less than|up to)\s+(?P<m>\d+(?:\.\d+)?))"
    r"(?:\s*(?:credits?|units?|points?))?\b",
    NOCASE,
)
READ_ONLY = re.compile(
    _LEAD
    + r"(?:"
    + _AND_BUT
    + r"(?:keep (?:it|this|everything)\s+|do (?:it|this|everything)\s+|stay\s+|be\s+)?(?:in\s+)?(?:as\s+a\s+)?"
    r"read[- ]only(?:\s+mode)?|" + _AND_BUT + _DONT + r"\s+(?:change|changing|modify|modifying|"
    r"write|writing|touch|touching)\s+anything|(?:and\s+)?(?:with\s+)?no\s+(?:writes|side[- ]effects|changes)|(?:and\s+)?without\s+(?:any\s+)?"
    r"side[- ]effects|(?:and\s+)?make no changes)\b",
    NOCASE,
)
NO_FILES = re.compile(
    _LEAD + r"(?:" + _AND_BUT + _DONT + r"\s+(?:write|writing|save|saving|create|creating)\s+(?:any\s+)?"
    r"(?:files?|anything to (?:a )?(?:disk|file))|(?:and\s+)?(?:with\s+)?no\s+files?(?:\s+(?:output|writes?))?|(?:and\s+)?"
    r"(?:don'?t|do not|never)\s+(?:save|store)\s+anything)\b",
    NOCASE,
)
NO_HTTP = re.compile(
    _LEAD + r"(?:" + _AND_BUT + _DONT + r"\s+(?:call|calling|use|using|hit|hitting|touch|touching)\s+"
    r"(?:the\s+|any\s+)?(?:api|http|apis|network)|(?:and\s+)?(?:use\s+)?(?:the\s+)?(?:database|db) only|(?:and\s+)?only\s+(?:use\s+)?"
    r"(?:the\s+)?(?:ops\s+)?(?:database|db)|(?:and\s+)?(?:use|using|via|with|through)\s+(?:only|just)\s+(?:the\s+)?(?:ops\s+)?(?:database|db)"
    r"|(?:and\s+)?(?:using|via|through)\s+(?:the\s+)?(?:ops\s+)?(?:database|db)\s+only)\b",
    NOCASE,
)
# the words left after "show me the plan for" are an action in -ing form: "opening a sev1 incident"
_GERUNDS = {
    "opening": "open",
    "writing": "write",
    "notifying": "notify",
    "posting": "post",
    "saving": "save",
    "creating": "create",
    "sending": "send",
    "counting": "count",
    "listing": "list",
    "filing": "file",
}
DRY_RUN = re.compile(
    _LEAD
    + r"(?:(?:and\s+)?(?:but\s+)?(?:(?:as\s+)?(?:a\s+)?dry[- ]?run(?:\s+(?:only|mode))?(?:\s+(?:of|for))?"
    r"|(?:(?:just|only)\s+)?(?:show|tell|give)\s+(?:me\s+)?(?:the|your|a)\s+plan(?:\s+only)?(?:\s+(?:for|to|of))?"
    r"|(?:just\s+)?plan\s+(?:it\s+)?only|(?:just\s+)?(?:what|how)\s+(?:would\s+you|you\s+would)\s+do(?:\s+(?:to|it))?"
    r"|(?:but\s+)?(?:don'?t|do not)\s+actually\s+(?:do|run|execute|send|write|open|post)(?:\s+(?:it|this|that|anything))?"
    r"|without\s+actually\s+(?:doing|running|executing)\s+(?:it|this|that|anything))(?:\s*[:,])?)"
    r"(?:\s+(?P<gerund>" + "|".join(_GERUNDS) + r")\b)?",
    NOCASE,
)
LEADING_CONJUNCTION = re.compile(
    r"^[\s,:]*(?:(?:but|and|then|pls|plz|please|just|so)[\s,]+)*", NOCASE
)  # "dry run, but notify ..."
REPEATED_COMMAS = re.compile(r"\s*,(?:\s*,)+")
DANGLING_CONJUNCTION = re.compile(r"(?:[\s,]+(?:and|but|then|with|using|while))+\s*(?=[.!?]|$)", NOCASE)


def _deadline(m: re.Match[str]) -> float:
    seconds = float(m.group("n"))
    return seconds * 60 if m.group("unit").lower().startswith("min") else seconds


@dataclass(frozen=True)
class ConstraintRule:
    name: str  # shown as ``constraint.<name>`` in the perceived state
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str]], dict[str, Any]]  # the phrase read -> the Constraints fields it sets
    examples: tuple[tuple[str, dict[str, Any]], ...]  # (request, the constraints it sets)
    left: Callable[[re.Match[str]], str] = lambda m: ""  # what the phrase leaves in the request's text


CONSTRAINT_RULES: tuple[ConstraintRule, ...] = (
    ConstraintRule(
        "max_steps",
        MAX_STEPS,
        lambda m: {"max_steps": int(m.group("n"))},
        (("check payments in at most 3 steps", {"max_steps": 3}),),
    ),
    ConstraintRule(
        "deadline",
        DEADLINE,
        lambda m: {"deadline_seconds": _deadline(m)},
        (("list the services within 2 minutes", {"deadline_seconds": 120.0}),),
    ),
    ConstraintRule(
        "budget",
        BUDGET,
        lambda m: {"budget": float(m.group("n") or m.group("m"))},
        (("list the services with a budget of 5", {"budget": 5.0}),),
    ),
    ConstraintRule(
        "read_only",
        READ_ONLY,
        lambda m: {"read_only": True},
        (("check auth, read-only", {"read_only": True}),),
    ),
    ConstraintRule(
        "dry_run",
        DRY_RUN,
        lambda m: {"dry_run": True},
        (("dry run: open a sev2 incident for search", {"dry_run": True}),),
        lambda m: f" {_GERUNDS[m.group('gerund').lower()]} " if m.group("gerund") else " ",
    ),
    ConstraintRule(
        "no_files",
        NO_FILES,
        lambda m: {"no_files": True},
        (("list the incidents but don't write any files", {"no_files": True}),),
    ),
    ConstraintRule(
        "no_http",
        NO_HTTP,
        lambda m: {"denied_tools": ["http_get", "http_post"]},
        (("check auth using the database only", {"denied_tools": ["http_get", "http_post"]}),),
    ),
)


def constraints_of(request: str) -> Constraints:
    """The hard constraints a request sets (the first phrase of each kind)."""
    found: dict[str, Any] = {}
    for rule in CONSTRAINT_RULES:
        if m := rule.pattern.search(request):
            found.update(rule.build(m))
    return Constraints(**found)


def constraint_readings(request: str) -> list[ClauseReading]:
    """How each constraint phrase of the request was read: the clause-level account of them."""
    return [
        ClauseReading(text=m.group(0).strip(" ,"), rule=f"constraint.{rule.name}", reading="constraint")
        for rule in CONSTRAINT_RULES
        for m in rule.pattern.finditer(request)
    ]


def strip_constraints(request: str) -> str:
    """The request without the words that set constraints, and without the conjunctions they leave behind."""
    for rule in CONSTRAINT_RULES:
        request = rule.pattern.sub(rule.left, request)
    request = REPEATED_COMMAS.sub(",", request)
    request = DANGLING_CONJUNCTION.sub("", request)
    request = LEADING_CONJUNCTION.sub("", request)
    return SPACES.sub(" ", request).strip(" ,")
