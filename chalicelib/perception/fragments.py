"""The rule table's vocabulary: the small pattern fragments several rules share.

This module is part of the rule table (``perception/rules/``): every regular expression of
perception is compiled either in a rule's own module or here, and nowhere else
(``tests/unit/test_rule_table.py`` walks the package to hold that). What lives here is what more
than one rule reads, or what the modules that serve the rules (the arithmetic reader, the
accounting of terms) need: the services and windows a clause names (built from the domain
catalogue), pronouns, the words that say a resource, a number, a comparator (the catalogue's
condition phrasing), politeness to strip, and the words around arithmetic. A rule's own pattern
stays in the rule's module, built from these fragments.

It sits beside the ``rules`` package rather than inside it so that the arithmetic reader and the
accounting, which the rules' builders import, can share it without an import cycle.
"""

from __future__ import annotations

import re
from typing import cast

from chalicelib import catalogue
from chalicelib.contracts import Comparator

NOCASE = re.IGNORECASE

KNOWN_SERVICES = catalogue.SERVICE_NAMES
WINDOWS_AVAILABLE = catalogue.WINDOW_NAMES
SERVICE_NAME = "|".join(KNOWN_SERVICES)  # the services as an alternation, from the catalogue
NUMBER = r"-?\d+(?:\.\d+)?"

# ---------------------------------------------------------------- services, pronouns

SERVICE = re.compile(r"\b(?P<service>" + SERVICE_NAME + r")\b", NOCASE)
ALL_SERVICES = re.compile(
    r"\b(?:all|every|each)\s+(?:of\s+the\s+|the\s+)?services\b|\bacross\s+(?:all\s+)?services\b", NOCASE
)
PRONOUN = re.compile(r"\b(its|it|their|them|that service|the service|this service)\b", NOCASE)
RESULT_PRONOUN = re.compile(
    r"^(?:it|them|that|this|those|these|everything|all of (?:it|them)|the (?:results?|output|answer|"
    r"values?|numbers?|data|findings|report|summary|list|rows|above|lot)|(?:the\s+)?(?:results?|output))$",
    NOCASE,
)

# ---------------------------------------------------------------- windows

# the looser forms operators type for a catalogue window ("5-min", "one hr", "24hrs"), by window name;
# a window the catalogue adds without one is read by its catalogue words alone
_LOOSE_WINDOW_FORMS = {
    "5m": r"|\b(?:5|five)[ -]?min(?:ute)?s?\b",
    "1h": r"|\b(?:last|past|this|previous)\s+(?:hour|60 minutes)\b|\b(?:1|one)[ -]?h(?:ou)?r?\b",
    "24h": r"|\b(?:last|past|previous)\s+(?:day|24 hours)\b|\b24[ -]?h(?:ours?|rs?)?\b|\b(?:1|one)[ -]?d(?:ay)?\b",
}
WINDOWS = tuple(  # the catalogue's words for each window, and the looser forms
    (
        re.compile(
            r"\b(?:"
            + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in window.words)
            + r")\b"
            + _LOOSE_WINDOW_FORMS.get(window.name, ""),
            NOCASE,
        ),
        window.name,
    )
    for window in catalogue.WINDOWS
)
# a span of time MAOO has no data for ("last 3 weeks", "yesterday"): reported, never ignored
OTHER_WINDOW = re.compile(
    r"\b(?:(?:last|past|previous|this)\s+(?:\d+\s+|few\s+|couple of\s+)?(?:weeks?|months?|years?|quarter|days|hours|minutes)"
    r"|\d+\s*(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?)|yesterday)\b",
    NOCASE,
)

# ---------------------------------------------------------------- what a clause reads

DATABASE = re.compile(r"\b(?:ops\s+)?(?:database|db|sql|sqlite)\b|\bquery\b", NOCASE)
ERROR_RATE = re.compile(
    r"\berror[ -]?rates?\b|\bfailure[ -]?rates?\b|\berror percentage\b|\bpercent(?:age)? of (?:failed|failing) requests\b",
    NOCASE,
)
METRICS = re.compile(
    r"\b(metrics|latency|latencies|p95|p50|traffic|request count|error count|throughput|numbers)\b", NOCASE
)
SUMMARIZE = re.compile(
    r"\bsummar(?:y|ies|ize|ise|ising|izing)\b|\bsum (?:it |them |this |that |everything )?up\b|\brecap\b|\bbrief(?:ing)?\b|\btl;?dr\b|\boverview\b",
    NOCASE,
)
INCIDENTS = re.compile(r"\bincidents?\b|\boutages?\b", NOCASE)
DEPLOYMENTS = re.compile(
    r"\b(deployments?|deploys|releases?|rollouts?|versions?|deployed)\b|\bdeploy history\b|\blast deploy\b",
    NOCASE,
)
SERVICES_LIST = re.compile(r"\bservices\b|\bservice (?:list|catalog(?:ue)?|inventory)\b", NOCASE)
COUNT = re.compile(r"\bhow many\b|\bcount\b|\bnumber of\b", NOCASE)
ARITHMETIC_WORD = re.compile(r"\b(?:divide|multiply|add|subtract|plus|minus|times)\b", NOCASE)
URL = re.compile(r"(?P<url>\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+)", NOCASE)

# the states a clause filters by, each the catalogue's words for it
_OPEN_STATES = [w for w, s in catalogue.INCIDENT_STATES.items() if s == "open"]
_RESOLVED_STATES = [w for w, s in catalogue.INCIDENT_STATES.items() if s == "resolved"]
OPEN_WORD = re.compile(r"\b(" + "|".join(_OPEN_STATES) + r")\b", NOCASE)
RESOLVED_WORD = re.compile(r"\b(" + "|".join(_RESOLVED_STATES) + r")\b", NOCASE)
DEPLOY_STATUS = re.compile(
    r"\b(?P<status>"
    + "|".join(
        re.escape(w).replace(r"\ ", r"[ -]") for w in sorted(catalogue.DEPLOY_STATES, key=len, reverse=True)
    )
    + r")\b",
    NOCASE,
)
SERVICE_STATUS_FILTER = re.compile(
    r"\b(?P<status>" + "|".join(catalogue.SERVICE_STATES) + r"|unhealthy)\b", NOCASE
)

# ---------------------------------------------------------------- conditions: the catalogue's phrasing

COMPARATORS: dict[str, Comparator] = {
    phrase: cast(Comparator, op) for phrase, op in catalogue.COMPARATOR_WORDS.items()
}
NEGATED: dict[Comparator, Comparator] = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
COMPARATOR = "|".join(sorted((re.escape(k) for k in COMPARATORS), key=len, reverse=True))

# ---------------------------------------------------------------- what a clause carries but does not read

FILLER = re.compile(
    r"^(?:(?:please|kindly|now|also|and|then|first(?:ly)?|next|finally|lastly|afterwards|after that|ok(?:ay)?|hey|hi|maoo|"
    r"can you|could you|would you|will you|i want you to|i'd like you to|i would like you to|i need you to|i want to|i need to|"
    r"i'd like to|go ahead and|just|quickly|(?:and\s+)?then)[\s,:]+)+",
    NOCASE,
)
FILLER_TAIL = re.compile(r"(?:[\s,]+(?:please|for me|thanks|thank you|as well|too|right now|now))+$", NOCASE)
# where the free text of a message or an incident title starts: carried as written, never read
FREE_TEXT_TAIL = re.compile(
    r"\s+(?:that|saying|titled|called|named|with (?:the )?(?:message|title|text|note)|to say|reading)\s+|\s*[:'\"]",
    NOCASE,
)
SPACES = re.compile(r"\s+")

# ---------------------------------------------------------------- arithmetic: what surrounds the grammar's words

ARITHMETIC_LEAD = re.compile(
    r"^(?:(?:please|now|then|and|also)\s+)*(?:calculate|compute|evaluate|work out|figure out|determine|solve|find|tell me|give me|"
    r"what(?:'s| is| are| does| do)|whats|how much (?:is|are|does|do)|how much)\b\s*:?\s*",
    NOCASE,
)
ARITHMETIC_TRAIL = re.compile(r"\s*(?:\bcome to|\bmake|\bgive|\bequal|\bequals|\bis|=|\?|\.|!)*\s*$", NOCASE)
RESULT_OF = re.compile(r"^(?:the\s+)?(?:result|value|answer)\s+(?:of|to)\s+", NOCASE)
OPERANDS = (
    (re.compile(r"\b(?:the\s+)?(?:number of errors|error count|errors)\b", NOCASE), "@errors"),
    (
        re.compile(
            r"\b(?:the\s+)?(?:number of requests|request count|total requests|requests|traffic)\b", NOCASE
        ),
        "@requests",
    ),
    (
        re.compile(r"\b(?:the\s+)?(?:p95|95th percentile)(?:\s+latency)?\b|\b(?:the\s+)?latency\b", NOCASE),
        "@p95_ms",
    ),
    (re.compile(r"\b(?:the\s+)?(?:p50|median)(?:\s+latency)?\b", NOCASE), "@p50_ms"),
    (
        re.compile(
            r"\b(?:the\s+|that\s+)(?:number|figure|count|total)\b(?!\s+of)|"
            r"\b(?:the\s+)?(?:previous\s+|last\s+)?(?:result|answer|value|outcome)\b|\bit\b|\bthat\b",
            NOCASE,
        ),
        "@result",
    ),
)
# a quoted passage, kept whole by ``split`` (odd parts are the quotes): the user's own words
QUOTED = re.compile(r"((?:^|(?<=\s))[\"'“‘][^\"'“”‘’]+[\"'”’])")
THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}\b)")
NUMBER_TOKEN = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*|\d+(?:\.\d+)?|\S|\s+")
DIGIT = re.compile(r"\d")
OPERATION = re.compile(r"[-+*/%]|\b(?:sqrt|max|min|round|abs)\(")
REF_NAME = re.compile(r"@\w+")


# ---------------------------------------------------------------- reading with the fragments


def services(text: str) -> list[str]:
    """The services ``text`` names, in order, each once."""
    return list(dict.fromkeys(m.group("service").lower() for m in SERVICE.finditer(text)))


def window(text: str) -> str | None:
    """The catalogue window ``text`` names, or None."""
    for pattern, name in WINDOWS:
        if pattern.search(text):
            return name
    return None


def other_window(text: str) -> str | None:
    """A span of time ``text`` names that MAOO has no data for, as written, or None."""
    m = OTHER_WINDOW.search(text)
    return m.group(0) if m else None


def clean(text: str) -> str:
    """A clause without politeness and connectives: "please then fetch X for me" -> "fetch X"."""
    text = FILLER.sub("", text.strip())
    text = FILLER_TAIL.sub("", text)
    return text.strip(" ,.;:")


def read_text(text: str) -> str:
    """``text`` up to where free text starts (a message, a title): the part a rule reads."""
    cut = FREE_TEXT_TAIL.search(text)
    return text[: cut.start()] if cut else text


def incident_status(text: str) -> str | None:
    """ "open" or "resolved" when ``text`` names an incident state (open words first), else None."""
    m = OPEN_WORD.search(text) or RESOLVED_WORD.search(text)
    return catalogue.INCIDENT_STATES[m.group(0).lower()] if m else None


def deploy_status(text: str) -> str | None:
    m = DEPLOY_STATUS.search(text)
    if not m:
        return None
    word = m.group("status").lower()
    return catalogue.DEPLOY_STATES.get(word, catalogue.DEPLOY_STATES.get(word.replace(" ", "-"), word))


def service_status(text: str) -> str | None:
    m = SERVICE_STATUS_FILTER.search(text)
    if not m:
        return None
    word = m.group("status").lower()
    return "degraded" if word == "unhealthy" else word


# ---------------------------------------------------------------- the arithmetic reader's text steps


def without_thousands_commas(text: str) -> str:
    return THOUSANDS_COMMA.sub("", text)


def number_tokens(text: str) -> list[str]:
    """Words, numbers, single symbols and runs of space: what number words are read from."""
    return NUMBER_TOKEN.findall(text)


def arithmetic_body(text: str) -> str:
    """A clause without what surrounds its arithmetic ("what is ... ?", "the result of ...")."""
    text = ARITHMETIC_LEAD.sub("", text, count=1)
    text = RESULT_OF.sub("", text)
    return ARITHMETIC_TRAIL.sub("", text).strip()


def with_operands(text: str) -> str:
    """Operands that name earlier data as ``@refs``: "the errors" -> ``@errors``, "it" -> ``@result``."""
    for pattern, token in OPERANDS:
        text = pattern.sub(token, text)
    return text


def has_digit(text: str) -> bool:
    return bool(DIGIT.search(text))


def has_operation(expression: str) -> bool:
    return bool(OPERATION.search(expression))


def ref_names(expression: str) -> list[str]:
    return REF_NAME.findall(expression)


def has_url(text: str) -> bool:
    return bool(URL.search(text))


# "... and put its 1h error rate in the title", "... with its error rate as the title": an incident's title
# is a figure read for it
TITLE_FROM = re.compile(
    r",?\s*(?:(?:and\s+)?(?:put|use|set)\s+(?P<a>.+?)\s+(?:in|into|as)\s+(?:the\s+|its\s+)?title"
    r"|\s+with\s+(?P<b>.+?)\s+as\s+(?:the\s+|its\s+)?title)\b",
    NOCASE,
)
