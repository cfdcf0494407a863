"""Splitting a request into clauses, each remembering how it was joined to the one before.

A clause starts after ";", "then", "after that", "otherwise", or after "and" or a comma when a
verb follows ("check payments and restart it" splits, so the restart is reported). Unsupported
actions are among the verbs for that reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.perception.fragments import NOCASE

# Words that start a new clause when they follow "and" or a comma
VERBS = (
    r"(?:fetch|get|grab|retrieve|pull|load|read|calculate|compute|evaluate|work out|figure out|determine|"
    r"summari[sz]e|sum up|recap|save|write|store|export|dump|persist|record|list|show|display|give|tell|"
    r"open|create|file|raise|declare|log|query|notify|alert|page|send|let|inform|ping|message|check|inspect|"
    r"find|look up|look at|what|what's|how|divide|multiply|add|subtract|sum|if|when|count|compare|see|verify|"
    r"report|return|print|post|restart|reboot|deploy|redeploy|roll back|rollback|scale|delete|drop|remove|"
    r"kill|shut down|stop|update|modify|close|resolve|acknowledge|ack|otherwise|else|take|double|halve|triple|"
    r"square|cube|round|convert|multiply|share)\b"
)
_BEFORE_VERB = r"(?=" + VERBS + r")"
CLAUSE_SEPARATOR = re.compile(
    r"([,;]\s*(?:and\s+)?if\s+not\s*[,:]\s*|\s*;\s*|\s*(?:->|=>|→)\s*|,?\s+and\s+then\s+|,\s*then\s+|\s+then\s+"
    + _BEFORE_VERB
    + r"|,?\s*\b(?:(?:and\s+)?after that|afterwards|and finally|finally|"
    r"and also|also)\b\s*,?\s+"
    + _BEFORE_VERB
    + r"|,?\s*\b(?:otherwise|else)\b\s*,?\s*|,\s*and\s+"
    + _BEFORE_VERB
    + r"|,\s*"
    + _BEFORE_VERB
    + r"|\s+and\s+"
    + _BEFORE_VERB
    + r"|\s+(?:but|while)\s+"
    + _BEFORE_VERB
    + r")",
    NOCASE,
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
OTHERWISE_JOIN = re.compile(r"\b(?:otherwise|else)\b|\bif\s+not\s*[,:]", NOCASE)
THEN_JOIN = re.compile(r"\b(?:then|after that|afterwards|finally)\b|->|=>|→", NOCASE)


@dataclass(frozen=True)
class Clause:
    text: str
    joiner: str  # "start", "and", "then" or "otherwise": how it follows the clause before it


def _joiner(separator: str) -> str:
    lowered = separator.lower()
    if OTHERWISE_JOIN.search(lowered):
        return "otherwise"
    if ";" in lowered or THEN_JOIN.search(lowered):
        return "then"
    return "and"


def clauses(request: str) -> list[Clause]:
    """The request's clauses in order, each with how it is joined to the one before."""
    found: list[Clause] = []
    for sentence in SENTENCE_END.split(request.strip()):
        parts = CLAUSE_SEPARATOR.split(sentence.strip().rstrip(".!? "))
        joiner = "then"  # a new sentence ends what a condition governs
        for i, part in enumerate(parts):
            if i % 2 == 1:
                # "otherwise" wins over whatever came before it ("; otherwise", ". Otherwise,"): the clause
                # after it is the other branch of the last condition, never an unconditional action
                otherwise = OTHERWISE_JOIN.search(part)
                joiner = "otherwise" if otherwise else (_joiner(part) if joiner == "and" else joiner)
                continue
            text = part.strip(" ,")
            if text:
                found.append(Clause(text, joiner if found else "start"))
                joiner = "and"
    return found


def split_clauses(request: str) -> list[str]:
    return [c.text for c in clauses(request)]
