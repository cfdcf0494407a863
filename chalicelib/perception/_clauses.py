"""Splitting a request into clauses, and reading the hard constraints it sets.

Constraints ("in at most 3 steps", "read-only", "budget of 5") are read first and taken out of
the text. The rest is split into clauses in the order the user wrote them, each remembering how
it was joined to the one before ("and", "then", "otherwise").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalicelib.contracts import ClauseReading, Constraints
from chalicelib.perception import lexicon as lx


@dataclass(frozen=True)
class Clause:
    text: str
    joiner: str  # "start", "and", "then" or "otherwise": how it follows the clause before it


_SEPARATOR = re.compile(
    r"(\s*;\s*|,?\s+and\s+then\s+|,\s*then\s+|\s+then\s+(?=" + lx.VERBS + r")|,?\s*\b(?:(?:and\s+)?after that|afterwards|and finally|finally|"
    r"and also|also)\b\s*,?\s+(?=" + lx.VERBS + r")|,?\s*\b(?:otherwise|else)\b\s*,?\s*|,\s*and\s+(?=" + lx.VERBS + r")|,\s*(?="
    + lx.VERBS + r")|\s+and\s+(?=" + lx.VERBS + r")|\s+(?:but|while)\s+(?=" + lx.VERBS + r"))",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)")


def _joiner(separator: str) -> str:
    lowered = separator.lower()
    if re.search(r"\b(?:otherwise|else)\b", lowered):
        return "otherwise"
    if ";" in lowered or re.search(r"\b(?:then|after that|afterwards|finally)\b", lowered):
        return "then"
    return "and"


def clauses(request: str) -> list[Clause]:
    """The request's clauses in order, each with how it is joined to the one before."""
    found: list[Clause] = []
    for sentence in _SENTENCE.split(request.strip()):
        parts = _SEPARATOR.split(sentence.strip().rstrip(".!? "))
        joiner = "then"  # a new sentence ends what a condition governs
        for i, part in enumerate(parts):
            if i % 2 == 1:
                joiner = _joiner(part) if joiner == "and" else joiner
                continue
            text = part.strip(" ,")
            if text:
                found.append(Clause(text, joiner if found else "start"))
                joiner = "and"
    return found


def split_clauses(request: str) -> list[str]:
    return [c.text for c in clauses(request)]


# ---------------------------------------------------------------- constraints


def constraints_of(request: str) -> Constraints:
    """The hard constraints a request sets."""
    found: dict[str, Any] = {}
    if m := lx.MAX_STEPS.search(request):
        found["max_steps"] = int(m.group("n"))
    if m := lx.DEADLINE.search(request):
        seconds = float(m.group("n"))
        found["deadline_seconds"] = seconds * 60 if m.group("unit").lower().startswith("min") else seconds
    if m := lx.BUDGET.search(request):
        found["budget"] = float(m.group("n") or m.group("m"))
    if lx.READ_ONLY.search(request):
        found["read_only"] = True
    if lx.NO_FILES.search(request):
        found["no_files"] = True
    if lx.NO_HTTP.search(request):
        found["denied_tools"] = ["http_get", "http_post"]
    return Constraints(**found)


_CONSTRAINT_RULES = (("max_steps", lx.MAX_STEPS), ("deadline", lx.DEADLINE), ("budget", lx.BUDGET),
                     ("read_only", lx.READ_ONLY), ("no_files", lx.NO_FILES), ("no_http", lx.NO_HTTP))


def constraint_readings(request: str) -> list[ClauseReading]:
    """How each constraint phrase of the request was read: the clause-level account of them."""
    return [ClauseReading(text=m.group(0).strip(" ,"), rule=f"constraint.{name}", reading="constraint")
            for name, pattern in _CONSTRAINT_RULES for m in pattern.finditer(request)]


def strip_constraints(request: str) -> str:
    """The request without the words that set constraints, and without the conjunctions they leave behind."""
    for pattern in (lx.MAX_STEPS, lx.DEADLINE, lx.BUDGET, lx.READ_ONLY, lx.NO_FILES, lx.NO_HTTP):
        request = pattern.sub("", request)
    request = re.sub(r"\s*,(?:\s*,)+", ",", request)
    request = re.sub(r"(?:[\s,]+(?:and|but|then|with|using|while))+\s*(?=[.!?]|$)", "", request, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", request).strip(" ,")
