"""Splitting a request into clauses, and reading the hard constraints it sets.

Constraints ("in at most 3 steps", "read-only", "budget of 5") are read first and taken out of
the text. The rest is split into clauses in the order the user wrote them, each remembering how
it was joined to the one before ("and", "then", "otherwise").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.contracts import ClauseReading, Constraints
from chalicelib.perception import lexicon as lx


@dataclass(frozen=True)
class Clause:
    text: str
    joiner: str  # "start", "and", "then" or "otherwise": how it follows the clause before it


def _joiner(separator: str) -> str:
    lowered = separator.lower()
    if lx.OTHERWISE_JOIN.search(lowered):
        return "otherwise"
    if ";" in lowered or lx.THEN_JOIN.search(lowered):
        return "then"
    return "and"


def clauses(request: str) -> list[Clause]:
    """The request's clauses in order, each with how it is joined to the one before."""
    found: list[Clause] = []
    for sentence in lx.SENTENCE_END.split(request.strip()):
        parts = lx.CLAUSE_SEPARATOR.split(sentence.strip().rstrip(".!? "))
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


_CONSTRAINT_RULES = (
    ("max_steps", lx.MAX_STEPS),
    ("deadline", lx.DEADLINE),
    ("budget", lx.BUDGET),
    ("read_only", lx.READ_ONLY),
    ("no_files", lx.NO_FILES),
    ("no_http", lx.NO_HTTP),
)


def constraint_readings(request: str) -> list[ClauseReading]:
    """How each constraint phrase of the request was read: the clause-level account of them."""
    return [
        ClauseReading(text=m.group(0).strip(" ,"), rule=f"constraint.{name}", reading="constraint")
        for name, pattern in _CONSTRAINT_RULES
        for m in pattern.finditer(request)
    ]


def strip_constraints(request: str) -> str:
    """The request without the words that set constraints, and without the conjunctions they leave behind."""
    for pattern in (lx.MAX_STEPS, lx.DEADLINE, lx.BUDGET, lx.READ_ONLY, lx.NO_FILES, lx.NO_HTTP):
        request = pattern.sub("", request)
    request = lx.REPEATED_COMMAS.sub(",", request)
    request = lx.DANGLING_CONJUNCTION.sub("", request)
    return lx.SPACES.sub(" ", request).strip(" ,")
