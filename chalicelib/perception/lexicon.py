"""The words perception recognises: patterns for intents, entities and constraints.

Kept apart from the matching logic so that widening the vocabulary is an edit to one list.
"""

from __future__ import annotations

import re

KNOWN_SERVICES = ("payments", "checkout", "search", "auth", "inventory")

_I = re.IGNORECASE
VERBS = r"(?:fetch|get|retrieve|pull|load|calculate|compute|evaluate|work out|summari[sz]e|save|write|store|export|list|show|open|create|file|raise|query|notify|alert|send|check|find|look up|what|how|divide|multiply|add|subtract|sum|if)\b"

SERVICE = re.compile(r"\b(?P<service>" + "|".join(KNOWN_SERVICES) + r")\b", _I)
PRONOUN = re.compile(r"\b(its|it|their|that service|the service)\b", _I)

WINDOWS = (
    (re.compile(r"\b(5|five)[ -]?min(ute)?s?\b", _I), "5m"),
    (re.compile(r"\b(last|past)\s+(hour|60 minutes)\b|\b1h\b|\bhourly\b", _I), "1h"),
    (re.compile(r"\b(last|past)\s+(day|24 hours)\b|\b24h\b|\btoday\b", _I), "24h"),
)

MOCK_DATA = re.compile(r"\b(fetch|get|retrieve|pull|load|read)\b.*\bmock\s+data\b|\bmock\s+data\b", _I)
ERROR_RATE = re.compile(r"\berror[ -]?rate\b|\bfailure rate\b", _I)
METRICS = re.compile(r"\b(metrics|latency|traffic|requests|error count)\b", _I)
SUMMARIZE = re.compile(r"\bsummar(y|ize|ise|ising|izing)\b|\bsum up\b|\brecap\b", _I)
SAVE = re.compile(r"\b(save|write|store|export|put)\b.*?\b(?:to|as|in|into)\s+(?:a\s+file\s+(?:called|named)\s+)?['\"]?(?P<path>[\w./-]+\.(?:md|txt|json|csv|log))['\"]?", _I)
CREATE_INCIDENT = re.compile(r"\b(open|create|file|raise|declare)\b.*\bincident\b", _I)
SEVERITY = re.compile(r"\b(?P<sev>sev[1-4])\b", _I)
NOTIFY = re.compile(r"\b(?:notify|alert|page|send (?:a )?(?:notification|message) to)\b(?:\s+(?:the\s+)?(?P<channel>oncall|on-call|ops|sre|team|slack|email))?", _I)
INCIDENTS = re.compile(r"\bincidents?\b", _I)
OPEN_WORD = re.compile(r"\b(open|active|ongoing|current)\b", _I)
RESOLVED_WORD = re.compile(r"\b(resolved|closed|past)\b", _I)
DEPLOYMENTS = re.compile(r"\b(deployments?|deploys?|releases?|rollouts?)\b", _I)
SERVICES_LIST = re.compile(r"\b(list|show|which|what)\b.*\bservices\b|\ball services\b", _I)
STATUS = re.compile(r"\b(status|health|healthy|state|up|down|degraded)\b", _I)
CHECK = re.compile(r"\b(check|inspect|look at|how is)\b", _I)

MAX_STEPS = re.compile(r"\b(?:in|within|using|use)?\s*(?:at most|no more than|max(?:imum)?(?: of)?)\s+(?P<n>\d+)\s+(?:tool\s+)?(?:steps?|calls?)\b", _I)
DEADLINE = re.compile(r"\b(?:within|in under|in less than|under)\s+(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>seconds?|secs?|s|minutes?|mins?)\b", _I)
BUDGET = re.compile(r"\bbudget\s+(?:of\s+)?(?P<n>\d+(?:\.\d+)?)\b|\b(?:spend|cost)\s+at most\s+(?P<m>\d+)", _I)
READ_ONLY = re.compile(r"\bread[- ]only\b|\b(?:don'?t|do not|never)\s+(?:change|modify|write)\s+anything\b", _I)
NO_FILES = re.compile(r"\b(?:don'?t|do not|never)\s+(?:write|save|create)\s+(?:any\s+)?files?\b|\bno files\b", _I)

_ARITH_CHARS = re.compile(r"[\d\s.+\-*/()%^×÷x]+")
_ARITH_LEAD = re.compile(r"\b(?:calculate|compute|evaluate|work out|what is|what's|how much is|solve)\b\s*:?\s*(?P<expr>.+)$", _I)


def arithmetic(clause: str) -> str | None:
    """The arithmetic expression a clause asks for, in symbols, or ``None``.

    Only symbol arithmetic (``2 + 2``, ``(3 * 4) / 2``); words for numbers and operators are a
    later widening of this lexicon.
    """
    m = _ARITH_LEAD.search(clause)
    candidate = (m.group("expr") if m else clause).strip().rstrip("?.! ")
    candidate = re.sub(r"(?<=\d)\s*x\s*(?=\d)", " * ", candidate)
    if not candidate or not _ARITH_CHARS.fullmatch(candidate) or not re.search(r"\d", candidate):
        return None
    if not re.search(r"[+\-*/%^×÷]", candidate) and not m:
        return None
    return re.sub(r"\s+", " ", candidate).strip()
