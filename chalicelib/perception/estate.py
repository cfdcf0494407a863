"""The estate reader: a question over the estate's tables, read so that every word is accounted for.

This is a hand-written parser, not a pattern per phrasing: the request is cut into tokens, each
token (or run of tokens) is looked up in a lexicon built from the domain catalogue and the database
schema (tables, columns, values, windows, aggregates, comparisons, negation, grouping, modifiers),
and the pieces are then composed into one typed query (``ReadParams``: a table, filters, a field,
an aggregate, a grouping, a unit and a rounding). The rule is PRECISE's: a token the lexicon does
not know, or a piece the composition does not use, means the question is not read at all
(``None``), never read without it. A hand-written parser was chosen over a grammar library because
the lexicon is the grammar's only large part, it is derived from the catalogue at import, and the
composition rules fit in one screen; it costs well under a millisecond per clause.

Where a word has two meanings that lead to different queries ("latency": p50 or p95), the
question is ambiguous and the reader says so instead of choosing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from chalicelib import catalogue
from chalicelib.contracts import Filter, FilterOp, ReadParams
from chalicelib.errors import MaooError

# columns each table offers (joined service attributes included), and which hold numbers
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "services": ("name", "tier", "owner", "status", "region"),
    "metrics": (
        "service",
        "window",
        "requests",
        "errors",
        "p50_ms",
        "p95_ms",
        "error_rate",
        "tier",
        "owner",
        "region",
        "status",  # the service's, joined: "the average p95 of the degraded services"
    ),
    "incidents": ("id", "service", "title", "severity", "status", "opened_at", "tier", "owner", "region"),
    "deployments": ("id", "service", "version", "deployed_at", "status", "tier", "owner", "region"),
    "mock_data": ("id", "name", "value"),
}
# the columns a table's own row holds (the service's, joined, are not shown with it)
_ROW = {
    table: tuple(c for c in columns if table == "services" or c not in ("tier", "owner", "region", "status"))
    + (("status",) if table in ("incidents", "deployments") else ())
    for table, columns in TABLE_COLUMNS.items()
}
NUMERIC = {"tier", "requests", "errors", "p50_ms", "p95_ms", "error_rate", "value"}
# the unit a column's values are in
UNITS = {"p50_ms": "ms", "p95_ms": "ms", "error_rate": "%", "requests": "count", "errors": "count"}
TIME_COLUMN = {"incidents": "opened_at", "deployments": "deployed_at"}
# what names a row of each table in an answer
KEY = {"services": "name", "metrics": "service", "incidents": "id", "deployments": "id", "mock_data": "name"}


@dataclass(frozen=True)
class Piece:
    kind: str  # table field value window agg which group not cmp num or and unit round id filler
    a: Any = None
    b: Any = None
    words: str = ""
    table: str | None = None  # the table a value belongs to, where its word says ("open": incidents)


@dataclass
class Reading:
    """What the estate reader made of a clause: a query, or why it could not (``problem``)."""

    params: ReadParams | None = None
    problem: str = ""
    ambiguous: bool = False
    impossible: bool = False
    asks_service: bool = False  # read, but which service it is about is not said ("what is the p95?")
    fields: tuple[str, ...] = ()  # the fields asked, when several were asked of one row
    pieces: list[Piece] = field(default_factory=list)


_FILLER = """
the a an of for in on at with is are was were be been what whats what's which's show list give get
fetch tell me us please can could would you u i we need want to know see display return find look up
there currently right now do does did have has how our my that which
just served serve serves handled handle handles saw see seen had processed received
ok okay hey hi thanks pls plz kindly quick quickly across among amongst between from
over during there's theres got have let lets let's check pull bring see
run runs running hosts host hosted has having sit sits living live lives located based deployed
currently presently at moment the moment hmm so um today's number figure ones one yet
still right now list listing r ur items entries records rows everything anything gimme teh da wat whats hw im
compute calculate determine figure out work tell log logged recent
doing going looking details detail info information query look up via through using ops database db api
compare compared comparing versus vs numbers figures rn waht wht btw lol report item where
summary overview rundown breakdown go goes gets climbs rises stays remains whether
""".split()
# said of a deployment, the act itself: "when was DEP-2001 rolled out", "which version went out"
_FILLER += ["rolled out", "roll out", "went out", "go out", "gone out", "released", "shipped out"]
# "not"/"no" are negation and "all"/"every" widen a question to every row: they have pieces of their own

_AGG = {
    "how many": "count",
    "number of": "count",
    "count": "count",
    "count of": "count",
    "#": "count",
    "total": "sum",
    "sum": "sum",
    "sum of": "sum",
    "combined": "sum",
    "altogether": "sum",
    "together": "sum",
    "in total": "sum",
    "average": "avg",
    "avg": "avg",
    "mean": "avg",
    "most": "max",
    "most common": "max",
    "slowest": "max",
    "busiest": "max",
    "highest": "max",
    "max": "max",
    "maximum": "max",
    "largest": "max",
    "biggest": "max",
    "greatest": "max",
    "top": "max",
    "worst": "max",
    "peak": "max",
    "least": "min",
    "least common": "min",
    "fastest": "min",
    "quietest": "min",
    "lowest": "min",
    "min": "min",
    "minimum": "min",
    "smallest": "min",
    "fewest": "min",
    "latest": "latest",
    "most recently": "latest",
    "newest": "latest",
    "most recent": "latest",
    "last": "latest",
    "earliest": "earliest",
    "oldest": "earliest",
    "first": "earliest",
}
_CMP = {
    "above": ">",
    "over": ">",
    "more than": ">",
    "greater than": ">",
    "higher than": ">",
    "exceeds": ">",
    "exceeding": ">",
    ">": ">",
    "below": "<",
    "under": "<",
    "less than": "<",
    "lower than": "<",
    "fewer than": "<",
    "<": "<",
    "at least": ">=",
    "at or above": ">=",
    "at or over": ">=",
    "at or under": "<=",
    "at or below": "<=",
    ">=": ">=",
    "or more": ">=",
    "at most": "<=",
    "<=": "<=",
    "no more than": "<=",
    "not more than": "<=",
    "or less": "<=",
    "equal to": "=",
    "equals": "=",
    "=": "=",
}


def _comparators() -> dict[str, str]:
    """The reader's comparison words and the catalogue's (one list for every reader of a condition); "is"
    and "not" are read by themselves here, so the catalogue's phrases with them are left out."""
    found = dict(_CMP)
    for phrase, op in catalogue.COMPARATOR_WORDS.items():
        if not phrase.startswith("is ") and op != "!=":
            found.setdefault(phrase, "=" if op == "==" else op)
    return found


_NOT = (
    "not",
    "no",
    "non",
    "isn't",
    "aren't",
    "other than",
    "apart from",
    "except",
    "except for",
    "excluding",
    "exclude",
    "besides",
    "aside from",
    "but not",
    "without",
    "all but",
    "that aren't",
    "that are not",
    "which are not",
    "not counting",
    "excl",
    "exc",
)
# a table named in the singular ("the checkout incident"): the question is about exactly one row
_SINGULAR = ("incident", "inc", "service", "svc", "deployment", "deploy", "release", "app")
_GROUP = (
    "for each",
    "per",
    "by",
    "each",
    "for every",
    "broken down by",
    "grouped by",
    "group by",
    "split by",
)
_WHICH = ("which", "what", "whose", "which one", "name the", "name of the")
_FIELD_WORDS = {
    "tier": "tier",
    "tiers": "tier",
    "owner": "owner",
    "owners": "owner",
    "owned by": "owner",
    "team": "owner",
    "owning team": "owner",
    "region": "region",
    "regions": "region",
    "status": "status",
    "state": "status",
    "health": "status",
    "requests": "requests",
    "request count": "requests",
    "request volume": "requests",
    "traffic": "requests",
    "calls": "requests",
    "reqs": "requests",
    "throughput": "requests",
    "errors": "errors",
    "error count": "errors",
    "error": "errors",
    "errs": "errors",
    "failures": "errors",
    "p50": "p50_ms",
    "p50 latency": "p50_ms",
    "median latency": "p50_ms",
    "median": "p50_ms",
    "p95": "p95_ms",
    "p95 latency": "p95_ms",
    "p95 latencies": "p95_ms",
    "latency p95": "p95_ms",
    "p95s": "p95_ms",
    "p50 latencies": "p50_ms",
    "latency p50": "p50_ms",
    "p50s": "p50_ms",
    "error rate": "error_rate",
    "error rates": "error_rate",
    "failure rate": "error_rate",
    "error percentage": "error_rate",
    "err rate": "error_rate",
    "error ratio": "error_rate",
    "title": "title",
    "about": "title",
    "severity": "severity",
    "sev": "severity",
    "severities": "severity",
    "opened": "opened_at",
    "opened at": "opened_at",
    "version": "version",
    "value": "value",
    "values": "value",
    "mock values": "value",
    "mock value": "value",
    "versions": "version",
    "ship": "version",
    "shipped": "version",
    "owns": "owner",
    "owner of": "owner",
    "release": "version",
    "deployed at": "deployed_at",
    "when": "time",
    "where does": "region",
    "where is": "region",
    "where are": "region",
    "what time": "time",
}
_AMBIGUOUS_WORDS = {"latency": "p50 or p95", "latencies": "p50 or p95", "slow": "p50 or p95"}
_TABLE_WORDS = {
    "services": "services",
    "svcs": "services",
    "apps": "services",
    "incidents": "incidents",
    "incs": "incidents",
    "outages": "incidents",
    "issues": "incidents",
    "deployments": "deployments",
    "deploys": "deployments",
    "releases": "deployments",
    "rollouts": "deployments",
    "metrics": "metrics",
    "stats": "metrics",
    "mock data": "mock_data",
    "mock items": "mock_data",
    "mock data items": "mock_data",
    "mock": "mock_data",
    "mock dataset": "mock_data",
    "sample data": "mock_data",
}
_UNIT_MOD = {
    "in seconds": "s",
    "in secs": "s",
    "in s": "s",
    "in minutes": "min",
    "in mins": "min",
    "in milliseconds": "ms",
    "in ms": "ms",
    "in thousands": "thousands",
    "in millions": "millions",
    "in percent": "%",
    "as a percentage": "%",
    "in hours": "h",
    "as a fraction": "fraction",
    "as a decimal": "fraction",
    "as a ratio": "fraction",
}
_UNIT_FACTOR = {
    ("ms", "s"): 1 / 1000,
    ("ms", "min"): 1 / 60000,
    ("ms", "h"): 1 / 3_600_000,
    ("ms", "ms"): 1,
    ("count", "thousands"): 1 / 1000,
    ("count", "millions"): 1 / 1_000_000,
    ("%", "%"): 1,
    ("%", "fraction"): 1 / 100,
}
_NUMBER_UNITS = {
    "ms": "ms",
    "millisecond": "ms",
    "milliseconds": "ms",
    "%": "%",
    "percent": "%",
    "pct": "%",
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
}
_ROUND = re.compile(
    r"^(?:(?:rounded|round(?:ed)?\s+(?:it\s+)?to|to)\s+)?(\d+)\s+(?:decimal\s+places?|decimals?|places?|dp|digits?)$"
    r"|^(?:rounded\s+|round(?:ed)?\s+(?:it\s+)?)?(?:to\s+)?(?:a|the\s+nearest)\s+whole\s+number$|^as\s+an\s+integer$"
)


def _status_words() -> dict[str, tuple[str, str, str]]:
    """status word -> (table, column, value); "unresolved" is a negation of its own."""
    words: dict[str, tuple[str, str, str]] = {}
    for state in catalogue.SERVICE_STATES:
        words[state] = ("services", "status", state)
    words["unhealthy"] = ("services", "status!", "healthy")
    for word, value in catalogue.INCIDENT_STATES.items():
        if word not in ("current", "past", "unresolved"):
            words[word] = ("incidents", "status", value)
    words["unresolved"] = ("incidents", "status!", "resolved")
    words["still open"] = ("incidents", "status", "open")
    for word, value in catalogue.DEPLOY_STATES.items():
        words[word] = ("deployments", "status", value)
    words["were rolled back"] = ("deployments", "status", "rolled_back")
    words["got rolled back"] = ("deployments", "status", "rolled_back")
    words["rollback"] = ("deployments", "status", "rolled_back")
    words["rolled back"] = ("deployments", "status", "rolled_back")
    words["succeed"] = ("deployments", "status", "succeeded")
    words["fail"] = ("deployments", "status", "failed")
    return words


def _value_phrases() -> list[tuple[str, Piece]]:
    """Every value word of the estate: services (and aliases), owners, regions, severities, tiers, states."""
    found: list[tuple[str, Piece]] = []
    for service in catalogue.SERVICES:
        for name in (service.name, *service.aliases):
            found += [(name, Piece("value", "service", service.name))]
            found += [(f"{name}'s", Piece("value", "service", service.name))]
        found += [(service.owner, Piece("value", "owner", service.owner))]
    found += [(region, Piece("value", "region", region)) for region in catalogue.REGIONS]
    for sev in catalogue.SEVERITIES:
        for phrase in (sev, f"sev {sev[-1]}", f"severity {sev[-1]}"):
            found += [(phrase, Piece("value", "severity", sev))]
    for tier in sorted({s.tier for s in catalogue.SERVICES}):
        for phrase in (f"tier {tier}", f"tier-{tier}", f"tier{tier}", f"t{tier}"):
            found += [(phrase, Piece("value", "tier", tier))]
    for word, (table, column, value) in _status_words().items():
        found += [(word, Piece("value", column, value, table=table))]
    for window in catalogue.WINDOWS:
        found += [(phrase, Piece("window", window.name)) for phrase in (window.name, *window.words)]
    found += [(phrase, Piece("window", "1h")) for phrase in _HOUR_WORDS]
    found += [(phrase, Piece("window", "24h")) for phrase in _DAY_WORDS]
    found += [(phrase, Piece("window", "5m")) for phrase in ("5 mins", "five mins", "5min", "last 5 mins")]
    for item in _MOCK_ITEMS:
        found += [(item, Piece("value", "name", item, table="mock_data"))]
    return found


_HOUR_WORDS = (
    "hr",
    "an hour",
    "last hr",
    "past hr",
    "1 hr",
    "60 min",
    "60 mins",
    "last 60 minutes",
    "last 60 min",
)
_DAY_WORDS = ("24 hrs", "24 hr", "a day", "1 day", "last 24 hrs", "past 24 hrs", "24hrs")
_MOCK_ITEMS = ("alpha", "beta", "gamma", "delta")


@lru_cache(maxsize=1)
def lexicon() -> dict[str, list[Piece]]:
    """Phrase -> the pieces it may be; built from the catalogue once."""
    entries: list[tuple[str, Piece]] = [(w, Piece("filler")) for w in _FILLER]
    entries += [(phrase, Piece("agg", agg)) for phrase, agg in _AGG.items()]
    entries += [(phrase, Piece("cmp", op)) for phrase, op in _comparators().items()]
    entries += [(phrase, Piece("not")) for phrase in _NOT]
    entries += [(phrase, Piece("group")) for phrase in _GROUP]
    entries += [(phrase, Piece("which")) for phrase in _WHICH]
    entries += [("who", Piece("who"))]
    entries += [(w, Piece("all")) for w in ("all", "every", "any", "all the", "across all", "of all")]
    entries += [(w, Piece("one")) for w in _SINGULAR]
    entries += [(phrase, Piece("field", col)) for phrase, col in _FIELD_WORDS.items()]
    entries += [(phrase, Piece("ambiguous", why)) for phrase, why in _AMBIGUOUS_WORDS.items()]
    entries += [(phrase, Piece("table", table)) for phrase, table in _TABLE_WORDS.items()]
    entries += [(phrase, Piece("unit", unit)) for phrase, unit in _UNIT_MOD.items()]
    entries += _value_phrases()
    entries += [("or", Piece("or")), ("and", Piece("and")), (",", Piece("and")), ("&", Piece("and"))]
    entries += [("n", Piece("and")), (":", Piece("filler")), (";", Piece("filler")), ("-", Piece("filler"))]
    lex: dict[str, list[Piece]] = {}
    for phrase, piece in entries:
        lex.setdefault(phrase, []).append(piece)
    return lex


_PRONOUN_WORDS = re.compile(r"\b(?:its|it|their|them|that service|the service|this service)\b", re.I)
SEVERAL_FIELDS = "several fields asked"
_RECORDS = (("name", "tier", "owner", "status", "region"), ("requests", "errors", "p50_ms", "p95_ms"))
WORDS_NOT_READ = "words not read"  # of one row: the older rules' read of it shows them all
ANY = re.compile(r".")  # the rule table's pattern for this reader: it decides by reading, not by a pattern
_TOKEN = re.compile(
    r"(?<![\w.])-\d+(?:\.\d+)?|(?:inc|dep)-\d+(?='s\b)|[a-z0-9][a-z0-9_.'-]*[a-z0-9%]|[a-z0-9%]|[<>]=?|[#,&=]|\S",
    re.I,
)
_ID = re.compile(r"^(inc|dep)-\d+$")
_NOT_CARRIED = re.compile(
    r"\b(?:round(?:ed)?\s+(?:down|up)|(?:oldest|newest|latest|earliest|most\s+recent|biggest|smallest|"
    r"highest|lowest|largest)\s+first|in\s+(?:reverse|descending|ascending)\s+order)\b"
)
# "open a sev1": a verb of an action, not the state "open" of incidents
_ACTION_VERBS = frozenset({"open", "create", "raise", "file", "declare", "start", "cut", "log"})
_BEFORE_WINDOW = re.compile(
    r"\b(?:past|previous|prior|preceding)\s+(?=(?:\d+\s*|one\s+|an?\s+)?(?:h|m|d|hours?|hrs?|minutes?|mins?|days?)\b"
    r"|\d+[hmd]\b)"
)
_NUM = re.compile(r"^-?\d+(?:\.\d+)?$")


def tokens(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    text = re.sub(r"(\w)'s\b", r"\1", text)  # possessives and "what's": the 's adds nothing to a query
    text = re.sub(r"(\w)'(?=\s|$|[,.?!])", r"\1", text)  # "payments' p95"
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # "1,000" -> "1000"
    text = re.sub(r"\b(\d+(?:\.\d+)?)k\b", lambda m: f"{float(m.group(1)) * 1000:g}", text)  # "10k"
    text = re.sub(r"(\d)(ms|%|s)(?=\W|$)", r"\1 \2", text)  # "500ms" -> "500 ms", "1%" -> "1 %"
    text = re.sub(r"\bw/o\b", "without", re.sub(r"\bw/(?=\s|$)", "with", text))
    text = re.sub(r"[()\[\]]", " ", text)  # a parenthesis adds no meaning of its own: its words are read
    text = re.sub(r"\b(\d+) ?(h|m|d)\b", r"\1\2", text)  # "24 h" -> "24h", a window's name
    text = _BEFORE_WINDOW.sub("", text)  # "the past 24 hours": the window alone
    text = re.sub(r"\b(check|see|find out|know|tell me|ask)\s+if\b", r"\1 whether", text)  # a yes/no question
    # an ordering or a rounding direction MAOO cannot carry out stays one word no entry knows
    text = _NOT_CARRIED.sub(lambda m: m.group(0).replace(" ", "_"), text)
    return [t.rstrip(".?!") for t in _TOKEN.findall(text) if t.rstrip(".?!")]


def pieces(words: list[str]) -> tuple[list[Piece], list[str]]:
    """The longest-match pieces of ``words``, and the words no entry knows."""
    lex = lexicon()
    out: list[Piece] = []
    unknown: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(5, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + n])
            if _ROUND.match(phrase):
                places = _ROUND.match(phrase).group(1)  # type: ignore[union-attr]
                out.append(Piece("round", int(places) if places else 0, words=phrase))
                break
            if phrase in lex:
                out.append(_choose(lex[phrase], phrase, words[i + n :]))
                break
        else:
            word = words[i]
            if _ID.match(word):
                table = "incidents" if word.startswith("inc") else "deployments"
                out.append(Piece("id", table, word.upper(), word))
            elif _NUM.match(word):
                out.append(Piece("num", float(word), None, word))
            elif word in _NUMBER_UNITS and out and out[-1].kind == "num" and out[-1].b is None:
                last = out.pop()
                out.append(Piece("num", last.a, _NUMBER_UNITS[word], f"{last.words} {word}"))
            elif word in ("rounded", "round"):
                out.append(Piece("round", 0, words=word))
            else:
                unknown.append(word)
            n = 1
        i += n
    return out, unknown


def _starts_window(rest: list[str]) -> bool:
    lex = lexicon()
    return any(any(p.kind == "window" for p in lex.get(" ".join(rest[:n]), ())) for n in (1, 2, 3))


def _choose(options: list[Piece], phrase: str, rest: list[str]) -> Piece:
    """Of a phrase's meanings, a comparison when a number (not a window) follows it, else its first."""
    compares = [p for p in options if p.kind == "cmp"]
    if phrase in ("last", "past", "previous") and _starts_window(rest):
        return Piece("filler", words=phrase)
    if compares and rest and _NUM.match(rest[0]) and not _starts_window(rest):
        piece = compares[0]
    else:
        piece = next((p for p in options if p.kind != "cmp"), options[0])
    return Piece(piece.kind, piece.a, piece.b, phrase, piece.table)


def read(text: str) -> Reading:
    """The query ``text`` asks, with every word used; or why not."""
    words = tokens(text)
    if len(words) > 1 and words[0] in _ACTION_VERBS and words[1] in ("a", "an", "new", "another", "one"):
        return Reading(problem=f"{words[0]!r} {words[1]!r} asks for an action, not a question")
    found, unknown = pieces(words)
    if unknown:
        return Reading(problem=f"{WORDS_NOT_READ}: {', '.join(unknown)}", pieces=found)
    absent = _absence(found)
    if absent:
        return Reading(
            problem=f"{absent!r} asks for rows that do not exist, which MAOO cannot ask", pieces=found
        )
    ambiguous = [p for p in found if p.kind == "ambiguous"]
    if ambiguous:
        return Reading(
            problem=f"{ambiguous[0].words!r} could mean {ambiguous[0].a}", ambiguous=True, pieces=found
        )
    try:
        params = _compose([p for p in found if p.kind != "filler"])
    except _NotRead as exc:
        return Reading(
            problem=str(exc),
            pieces=found,
            impossible=exc.impossible,
            ambiguous=exc.ambiguous,
            asks_service=exc.asks_service,
            fields=exc.fields,
        )
    return Reading(params=params, pieces=found)


def names() -> tuple[str, ...]:
    """The single words of the reader's own vocabulary a typo may be corrected to: fields, tables,
    aggregates and comparisons of four letters or more."""
    phrases = [*_FIELD_WORDS, *_TABLE_WORDS, *_AGG, *_comparators()]
    return tuple(dict.fromkeys(p for p in phrases if p.isalpha() and len(p) >= 4))


def in_focus(text: str, service: str | None) -> str:
    """``text`` with the service in focus, if any, standing for its pronoun ("its error rate") or for the
    service it leaves unsaid ("compute the error rate" after "fetch the payments metrics")."""
    if not service:
        return text
    said = _PRONOUN_WORDS.sub(service, text)
    return f"{text} of {service}" if read(said).asks_service else said


def read_in_focus(text: str, service: str | None) -> Reading:
    """``text`` read with the service in focus (``in_focus``)."""
    return read(in_focus(text, service))


def reads_whole(text: str, service: str | None = None) -> bool:
    """Is every word of ``text`` read (with the service in focus)? Several fields of one row count: the
    service's record shows them all."""
    reading = read_in_focus(text, service)
    # several stored fields of one record (a service's, or its metrics'): the record read shows them all
    shown = bool(reading.fields) and any(set(reading.fields) <= set(record) for record in _RECORDS)
    return reading.params is not None or shown


def asks_service(text: str) -> bool:
    """Is ``text`` read, but for which service ("what is the p95?", "how many requests")?"""
    return read(text).asks_service


def live_metric(text: str, service: str | None = None) -> tuple[str, str | None, str] | None:
    """``(service, window, field)`` when ``text`` is one metric of one service, every word read ("the
    p95 of auth", "search err rate 1h", "its error rate" with a service in focus); the window is None
    when none is said."""
    reading = read_in_focus(text, service)
    p = reading.params
    if p is None or p.resource != "metrics" or p.aggregate not in ("list", "one") or p.field is None:
        return None
    if p.unit is not None or p.round_to is not None or p.group_by is not None:
        return None
    named = [f.value for f in p.filters if f.field == "service" and f.op == "="]
    if len(named) != 1 or len(p.filters) != 1:
        return None
    said = any(piece.kind == "window" for piece in reading.pieces)
    return str(named[0]), (p.window if said else None), p.field


def _absence(found: list[Piece]) -> str:
    """ "services with no open incidents", "services without deployments": a negation before a table's
    noun asks for the rows that have none of another table's (an anti-join), not for a filter."""
    for i, p in enumerate(found):
        if p.kind != "not" or p.words not in ("no", "without", "zero", "none of the"):
            continue
        j = i + 1
        while j < len(found) and found[j].kind in ("value", "field", "filler"):
            j += 1
        if j < len(found) and found[j].kind == "table" and found[j].a != _table_after(found, i):
            return " ".join(x.words for x in found[i : j + 1])
    return ""


def _table_after(found: list[Piece], at: int) -> str | None:
    """The table the question is about, when a table word comes before ``at`` ("services ... no
    incidents"); None when none does."""
    return next((p.a for p in found[:at] if p.kind == "table"), None) or next(
        (_SINGULAR_TABLE[p.words] for p in found[:at] if p.kind == "one"), None
    )


class _NotRead(MaooError):
    """Raised inside the composition: the question is not read, for the reason given. ``impossible``: the
    question is read, and asks for something the estate does not have (an id, a window)."""

    def __init__(
        self,
        message: str,
        impossible: bool = False,
        ambiguous: bool = False,
        asks_service: bool = False,
        fields: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.impossible = impossible
        self.ambiguous = ambiguous
        self.asks_service = asks_service
        self.fields = fields


@lru_cache(maxsize=1)
def _known_ids() -> frozenset[str]:
    return frozenset(
        [i.id for s in catalogue.SERVICES for i in s.incidents]
        + [d.id for s in catalogue.SERVICES for d in s.deployments]
    )


_CONTINUES = ("not", "or", "unit", "round", "window", "group", "cmp")


def continues_question(text: str) -> bool:
    """True when ``text`` only qualifies a question before it ("apart from checkout", "in seconds")."""
    found, _ = pieces(tokens(text))
    meaningful = [p for p in found if p.kind != "filler"]
    return bool(meaningful) and meaningful[0].kind in _CONTINUES


_SINGULAR_TABLE = {
    "incident": "incidents",
    "inc": "incidents",
    "service": "services",
    "svc": "services",
    "deployment": "deployments",
    "deploy": "deployments",
    "release": "deployments",
    "app": "services",
}


def _table_of(parts: list[Piece]) -> str:
    tables = {p.a for p in parts if p.kind == "table"} | {
        _SINGULAR_TABLE[p.words] for p in parts if p.kind == "one"
    }
    fields = {p.a for p in parts if p.kind == "field"}
    metric_fields = fields & {"requests", "errors", "p50_ms", "p95_ms", "error_rate"}
    ids = {str(p.a) for p in parts if p.kind == "id"}
    implied = {p.table for p in parts if p.kind == "value" and p.table}
    if "severity" in fields or any(p.kind == "value" and p.a == "severity" for p in parts):
        implied.add("incidents")
    if fields & {"title", "opened_at"}:
        implied.add("incidents")
    if fields & {"version", "deployed_at"}:
        implied.add("deployments")
    if "value" in fields:
        implied.add("mock_data")
    if metric_fields or any(p.kind == "window" for p in parts):
        implied.add("metrics")
    candidates = ((tables | implied) - {"services"}) | ids
    if "metrics" in candidates and len(candidates) > 1:
        candidates.discard("metrics") if not metric_fields else None
    if len(candidates) > 1:
        raise _NotRead(f"the question names several tables ({', '.join(sorted(candidates))})")
    if candidates:
        return candidates.pop()
    if (
        tables == {"services"}
        or fields & {"tier", "owner", "region", "status"}
        or any(p.kind == "value" for p in parts)
    ):
        return "services"
    raise _NotRead("no table named")


def _column(table: str, col: str) -> str:
    if table == "services" and col == "service":
        return "name"
    if col == "time" and table in TIME_COLUMN:
        return TIME_COLUMN[table]
    if col not in TABLE_COLUMNS[table]:
        raise _NotRead(f"{table} have no {col.replace('_ms', '').replace('_', ' ')}")
    return col


class _Composer:
    """Composes the pieces of one question into a query, one construct at a time; each method marks the
    pieces it uses, and a piece no method used means the question is not read."""

    def __init__(self, parts: list[Piece]) -> None:
        if not any(p.kind in ("table", "field", "value", "id", "window", "one") for p in parts):
            raise _NotRead("nothing of the estate is named")
        self.parts = parts
        self.used = [False] * len(parts)
        self.table = _table_of(parts)
        self.filters: list[Filter] = []
        self.window: str | None = None
        self.group_by: str | None = None
        self.aggregate: str | None = None
        self.agg_field: str | None = None
        self.asked: str | None = None
        self.unit: str | None = None
        self.round_to: int | None = None
        self.compared: str | None = None  # the column a comparison filters on, shown in a list
        self.singular_service = False  # "which service ..." over another table

    def take(self, i: int) -> Piece:
        self.used[i] = True
        return self.parts[i]

    def free(self, kind: str) -> list[int]:
        return [i for i, p in enumerate(self.parts) if p.kind == kind and not self.used[i]]

    def negated_before(self, i: int) -> bool:
        if i > 0 and self.parts[i - 1].kind == "not" and not self.used[i - 1]:
            self.take(i - 1)
            return True
        return False

    # -- the constructs, in the order they are read
    def values(self) -> None:
        """Windows, ids and values, with a negation before them and "or"/"and" lists of one column."""
        parts, i = self.parts, 0
        while i < len(parts):
            p = parts[i]
            if p.kind == "window":
                if self.window and self.window != p.a:
                    raise _NotRead("two windows named")
                self.window = self.take(i).a
            elif p.kind == "id":
                if p.b not in _known_ids():
                    raise _NotRead(f"there is no {p.b}", impossible=True)
                self.filters.append(Filter(field="id", value=self.take(i).b))
            elif p.kind == "value":
                i = self._value_list(i)
                continue
            i += 1

    def _value_list(self, i: int) -> int:
        p, parts = self.parts[i], self.parts
        negated = self.negated_before(i)
        column = str(p.a)
        if column.endswith("!"):
            column, negated = column[:-1], not negated
        if (
            p.table is not None
            and p.table != self.table
            and not (self.table == "metrics" and p.table == "services")
        ):
            raise _NotRead(f"{p.words!r} is not something {self.table} have")  # "degraded" incidents
        values = [self.take(i).b]
        j = i + 1
        while j + 1 < len(parts) and parts[j].kind in ("or", "and") and parts[j + 1].kind == "value":
            if parts[j + 1].a != p.a:
                break
            self.take(j)
            values.append(self.take(j + 1).b)
            j += 2
        column = _column(self.table, column)
        if len(values) == 1:
            self.filters.append(Filter(field=column, op="!=" if negated else "=", value=values[0]))
        else:
            self.filters.append(Filter(field=column, op="not in" if negated else "in", value=values))
        return j

    def comparisons(self) -> None:
        """A field, a comparator, a number: "p95 above 500 ms" (the field may come after the number)."""
        flip: dict[str, FilterOp] = {">": "<=", "<": ">=", ">=": "<", "<=": ">", "=": "!="}
        for i in self.free("cmp"):
            if i + 1 >= len(self.parts) or self.parts[i + 1].kind != "num":
                continue
            col = _nearest_field(self.parts, self.used, i)
            if col is None and self.compared and i and self.parts[i - 1].kind == "and":
                col = self.compared  # "a value above 15 and below 35": the field compared before
                self.take(i - 1)
            elif col is None:
                raise _NotRead(f"{self.parts[i].words!r} compares nothing named")
            _take_field(self.parts, self.used, col)
            self.compared = col
            op: FilterOp = flip[self.parts[i].a] if self.negated_before(i) else self.parts[i].a
            self.take(i)
            number = self.take(i + 1)
            self.filters.append(
                Filter(field=_column(self.table, col), op=op, value=_in_column_unit(col, number))
            )

    def grouping(self) -> None:
        """ "per region", "for each service", "by severity"."""
        for i in self.free("group"):
            if i + 1 >= len(self.parts):
                continue
            nxt = self.parts[i + 1]
            if nxt.kind == "field" and nxt.a in NUMERIC and any(p.kind == "agg" for p in self.parts):
                self.take(i)  # "fastest by p50": the measure the ranking is by
                continue
            if nxt.kind == "field" and nxt.a not in NUMERIC:
                self.group_by = _column(self.table, nxt.a)
            elif (
                nxt.kind == "one"
                and _SINGULAR_TABLE[nxt.words] == "services"
                or nxt.kind == "table"
                and nxt.a == "services"
            ):
                self.group_by = (
                    KEY["services"] if self.table == "services" else _column(self.table, "service")
                )
            else:
                continue
            self.take(i), self.take(i + 1)

    def aggregates(self) -> None:
        """The aggregate and the numeric field it is over."""
        for i in self.free("agg"):
            said = self.take(i).a
            if self.aggregate is not None and {self.aggregate, said} == {"count", "sum"}:
                self.aggregate = "sum"  # "the total number of requests": the requests, summed
                if self.agg_field is None:
                    self._bind_field(i)
                continue
            if self.aggregate is not None and self.aggregate != said:
                raise _NotRead("two aggregates named")
            elif self.aggregate is not None:
                continue  # "the worst (highest) p95": said twice
            self.aggregate = said
            if self.aggregate in ("latest", "earliest") and self.table not in TIME_COLUMN:
                raise _NotRead(f"{self.table} have no time to order by")
            if self.aggregate in ("latest", "earliest", "count"):
                continue
            self._bind_field(i)

    def _bind_field(self, i: int) -> None:
        col = _nearest_field(self.parts, self.used, i, numeric=True)
        if col is not None:
            self.agg_field = col
            _take_field(self.parts, self.used, col)
        elif self.table == "mock_data":
            self.agg_field = "value"  # "the mock sum": the one number a mock item has
        elif self.aggregate not in ("max", "min"):
            raise _NotRead(f"{self.parts[i].words!r} of what?")

    def field_asked(self) -> None:
        for i in self.free("which"):
            self.take(i)
        who = bool(self.free("who"))
        for i in self.free("who"):
            self.take(i)
        fields = [str(self.take(i).a) for i in self.free("field")]
        if self.table != "mock_data":
            fields = [f for f in fields if f != "value"]  # "the value of X": the field asked, said again
        service_noun = [i for i in self.free("one") if _SINGULAR_TABLE[self.parts[i].words] == "services"]
        if (who or service_noun) and fields in ([], ["title"]) and self.table in ("incidents", "deployments"):
            fields = ["service"]  # "who is INC-1005 about", "which service is INC-1004 about"
            for i in service_noun:
                self.take(i)
        by_id = any(f.field == "id" and f.op == "=" for f in self.filters) or (
            self.table == "services" and [f.field for f in self.filters if f.op == "="].count("name") == 1
        )
        if by_id and not fields and any(f.field == "status" and f.op == "=" for f in self.filters):
            # "is INC-1001 still open", "is search healthy": its status is the answer, not a filter that
            # leaves nothing to say
            self.filters = [f for f in self.filters if f.field != "status"]
            fields = ["status"]
        elif who and not fields and self.table == "services":
            fields = ["owner"]  # "who runs checkout"
        one_row = self.aggregate in ("latest", "earliest") or by_id
        if (
            len(set(fields)) > 1
            and one_row
            and {_column(self.table, f) for f in fields} <= set(_ROW[self.table])
        ):
            fields = []  # "when did billing last deploy and which version": the row, which holds them all
        if len(set(fields)) > 1:
            raise _NotRead(f"{SEVERAL_FIELDS} ({', '.join(dict.fromkeys(fields))})", fields=tuple(fields))
        self.asked = _column(self.table, fields[0]) if fields else None

    def shape(self) -> None:
        """Superlatives become rankings; a grouping with no aggregate sums a number or counts rows; a
        count of a number that is itself a count ("the number of requests") is that number, summed."""
        self._implied_shapes()
        said_per = any(p.kind == "group" and p.words == "per" for p in self.parts)
        if self.table == "metrics" and self.aggregate == "avg" and self.group_by == "service" and said_per:
            self.group_by = None  # "the average requests per service": one row per service, averaged
        if self.group_by is not None and self.aggregate in ("max", "min") and self.agg_field is not None:
            return  # the highest or lowest within each group
        if self.group_by is not None and self.aggregate in ("latest", "earliest"):
            raise _NotRead("the latest or earliest of each group is not something MAOO can ask")
        if self.aggregate in ("max", "min") and self.agg_field is None:
            # "which region runs the most services", "which service has the most incidents": count per
            # the thing asked, keep the largest
            group = self.asked or (_column(self.table, "service") if self.singular_service else None)
            if group is None:
                raise _NotRead("the most of what?")
            self.group_by, self.asked = group, None
            self.aggregate, self.agg_field = ("argmax" if self.aggregate == "max" else "argmin"), "count"
        elif self.aggregate in ("max", "min"):
            self.aggregate = "argmax" if self.aggregate == "max" else "argmin"
        elif self.aggregate is None and self.group_by == KEY[self.table] and self.asked not in NUMERIC:
            self.aggregate, self.group_by = "list", None  # "the status of each service": a row per service
        elif self.aggregate is None and self.group_by is not None:
            numeric = self.asked in NUMERIC
            self.aggregate, self.agg_field = ("sum", self.asked) if numeric else ("count", None)
            self.asked = None if numeric else self.asked
        elif self.aggregate in ("sum", "avg") and self.agg_field is None:
            raise _NotRead("a sum or an average of what?")
        if self.agg_field == "error_rate" and not (
            self.group_by == _column(self.table, "service")
            or (self.group_by is None and self.aggregate != "sum")
        ):
            # "the error rate per region": the rates of several services do not add up to theirs
            raise _NotRead(
                "error rates do not add up: ask for each service's rate, or the errors and requests"
            )

    def _after_every(self, i: int) -> bool:
        """Is the noun at ``i`` said after "every" or "all" ("every tier 1 service"), values between?"""
        j = i - 1
        while j >= 0 and self.parts[j].kind in ("value", "filler"):
            j -= 1
        return j >= 0 and self.parts[j].kind == "all"

    def _implied_shapes(self) -> None:
        """What the words imply before any ranking: one row for a noun in the singular, a sum for "the
        number of requests"."""
        # "every service": all rows, the noun in the singular after "every" or "each"
        singular = [i for i in self.free("one") if not self._after_every(i)]
        for i in self.free("one"):
            self.take(i)
        self.singular_service = (
            any(_SINGULAR_TABLE[self.parts[i].words] == "services" for i in singular)
            and self.table != "services"
        )
        if self.aggregate == "count" and self.asked in ("requests", "errors"):
            named = (
                any(f.field in ("service", "name") for f in self.filters) or self.free("all") or self.group_by
            )
            if not named:  # "how many requests": of which service? not the estate's total, unless said
                raise _NotRead("how many of which service's?", asks_service=True)
            self.aggregate, self.agg_field, self.asked = "sum", self.asked, None
        if singular and self.aggregate is None and self.group_by is None:
            self.aggregate = "one"
        if self._services_asked_of_rows():
            # "services with open incidents": the services the rows belong to, each with its count
            self.group_by, self.aggregate, self.agg_field = _column(self.table, "service"), "count", None
        if self.aggregate == "avg" and self.agg_field == "error_rate" and self.group_by is None:
            raise _NotRead(
                "the average error rate could be the mean of the rates or the rate of the sums",
                ambiguous=True,
            )

    def _services_asked_of_rows(self) -> bool:
        """The question's first noun is services, and the rows are incidents or deployments."""
        if self.table not in ("incidents", "deployments") or self.aggregate or self.group_by or self.asked:
            return False
        nouns = [p for p in self.parts if p.kind in ("table", "one")]
        first = nouns[0] if nouns else None
        return first is not None and (
            (first.kind == "table" and first.a == "services")
            or (first.kind == "one" and _SINGULAR_TABLE[first.words] == "services")
        )

    def modifiers(self) -> None:
        for i in self.free("unit"):
            self.unit = self.take(i).a
        for i in self.free("round"):
            self.round_to = self.take(i).a
        measured = self.agg_field or self.asked
        if self.unit is not None:
            base = (
                "count" if self.aggregate == "count" and self.agg_field is None else UNITS.get(measured or "")
            )
            if (base, self.unit) not in _UNIT_FACTOR:
                raise _NotRead(f"{(measured or 'that').replace('_ms', '')} cannot be given in {self.unit}")
        if self.round_to is not None and not (measured in NUMERIC or self.aggregate == "count"):
            raise _NotRead("nothing numeric to round")

    def params(self) -> ReadParams:
        every = bool(self.free("all")) or any(p.kind == "table" for p in self.parts)
        for i in self.free("all"):
            self.take(i)
        bare = not (self.filters or self.group_by or self.aggregate or every)
        if self.table == "metrics" and bare:
            raise _NotRead(
                "a metric of which service?", asks_service=True
            )  # "the error rate": the service in focus, or ask
        for i, p in enumerate(self.parts):  # connectives between used pieces are fine; nothing else is
            if not self.used[i] and p.kind not in ("and", "or", "table"):
                raise _NotRead(f"{p.words!r} is not used by the question")
        if self.table == "metrics":
            self.window = self.window or catalogue.DEFAULT_WINDOW
        elif self.window:
            said = next((p.words for p in self.parts if p.kind == "window"), self.window)
            raise _NotRead(f"{self.table} have no window ({said!r}: {self.window})")
        ranked_by = self.agg_field if self.agg_field and self.agg_field != "count" else None
        if ranked_by and self.asked and self.asked not in (ranked_by, KEY[self.table], "service", "name"):
            # "the tier of the service with the most errors": one field asked, another ranked by; the
            # answer would give the ranking's figure and drop the field asked
            most = {"argmax": "highest", "argmin": "lowest"}.get(str(self.aggregate), str(self.aggregate))
            raise _NotRead(
                f"the {self.asked} of the row with the {most} {ranked_by} asks two things: MAOO answers the "
                f"row and its {ranked_by}; ask for its {self.asked} after it"
            )
        field = ranked_by or self.asked
        if field is None and self.aggregate is None and self.compared is not None:
            field = _column(self.table, self.compared)
        return ReadParams(
            resource=self.table,  # type: ignore[arg-type]
            window=self.window,
            field=field,
            aggregate=self.aggregate or "list",  # type: ignore[arg-type]
            filters=self.filters,
            group_by=self.group_by,
            unit=self.unit,
            round_to=self.round_to,
        )


def _compose(parts: list[Piece]) -> ReadParams:
    composer = _Composer(parts)
    composer.values()
    composer.comparisons()
    composer.grouping()
    composer.aggregates()
    composer.field_asked()
    composer.shape()
    composer.modifiers()
    return composer.params()


def _nearest_field(parts: list[Piece], used: list[bool], at: int, numeric: bool = False) -> str | None:
    """The unused field piece nearest ``at`` (after it first, then before)."""
    order = [*range(at + 1, len(parts)), *range(at - 1, -1, -1)]
    for j in order:
        p = parts[j]
        if p.kind == "field" and not used[j] and (not numeric or p.a in NUMERIC):
            return str(p.a)
    return None


def _take_field(parts: list[Piece], used: list[bool], col: str) -> None:
    for j, p in enumerate(parts):
        if p.kind == "field" and p.a == col and not used[j]:
            used[j] = True
            return


def _in_column_unit(col: str, number: Piece) -> float:
    """The number as the column holds it ("1.5 s" against a latency in ms is 1500)."""
    unit, base = number.b, UNITS.get(col)
    if unit is None or unit == base:
        return float(number.a)
    if unit == "s" and base == "ms":
        return float(number.a) * 1000
    raise _NotRead(f"{number.words!r} is not a unit of {col.replace('_ms', '')}")


# ---------------------------------------------------------------- arithmetic over figures of the estate

_PRONOUNS = frozenset({"its", "their", "it", "his", "her", "them", "that", "those", "this", "same"})
_A, _B = r"(?P<a>.+?)", r"(?P<b>.+?)"
_LEAD = r"^(?:(?:what|how much)\s+(?:is|was|are)\s+|calculate\s+|compute\s+|work out\s+|give me\s+|get\s+)?(?:the\s+)?"
_BINARY_FORMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern + r"$"), expression)
    for pattern, expression in (
        (_LEAD + r"(?:sum|total)\s+of\s+" + _A + r"\s+and\s+" + _B, "{a} + {b}"),
        (_LEAD + r"difference\s+between\s+" + _A + r"\s+and\s+" + _B, "{a} - {b}"),
        (_LEAD + r"ratio\s+of\s+" + _A + r"\s+to\s+" + _B, "{a} / {b}"),
        (_LEAD + r"product\s+of\s+" + _A + r"\s+and\s+" + _B, "{a} * {b}"),
        (_LEAD + r"(?:average|mean)\s+of\s+" + _A + r"\s+and\s+" + _B, "({a} + {b}) / 2"),
        (
            _LEAD + r"(?:larger|bigger|higher|greater|max|maximum)\s+of\s+" + _A + r"\s+and\s+" + _B,
            "max({a}, {b})",
        ),
        (_LEAD + r"(?:smaller|lower|lesser|min|minimum)\s+of\s+" + _A + r"\s+and\s+" + _B, "min({a}, {b})"),
        (
            r"^how\s+much\s+(?:bigger|larger|higher|greater|more)\s+(?:is|was|are)\s+"
            + _A
            + r"\s+than\s+"
            + _B,
            "{a} - {b}",
        ),
        (r"^how\s+much\s+(?:smaller|lower|less)\s+(?:is|was|are)\s+" + _A + r"\s+than\s+" + _B, "{b} - {a}"),
        (r"^add\s+" + _A + r"\s+(?:and|to)\s+" + _B, "{a} + {b}"),
        (r"^subtract\s+" + _B + r"\s+from\s+" + _A, "{a} - {b}"),
        (r"^divide\s+" + _A + r"\s+by\s+" + _B, "{a} / {b}"),
        (r"^multiply\s+" + _A + r"\s+by\s+" + _B, "{a} * {b}"),
        (_LEAD + _A + r"\s+as\s+a\s+(?:percentage|percent|share)\s+of\s+" + _B, "{a} / {b} * 100"),
        (_LEAD + r"(?P<a>-?\d+(?:\.\d+)?)\s*(?:%|percent)\s+of\s+" + _B, "{a} / 100 * {b}"),
        (_LEAD + _A + r"\s+(?:plus|\+)\s+" + _B, "{a} + {b}"),
        (_LEAD + _A + r"\s+(?:minus|-|less)\s+" + _B, "{a} - {b}"),
        (_LEAD + _A + r"\s+(?:times|\*|x|multiplied\s+by)\s+" + _B, "{a} * {b}"),
        (_LEAD + _A + r"\s+(?:divided\s+by|/)\s+" + _B, "{a} / {b}"),
    )
)
_UNARY_FORMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern + r"$"), expression)
    for pattern, expression in (
        (_LEAD + r"(?:twice|double)\s+" + _A, "{a} * 2"),
        (_LEAD + r"triple\s+" + _A, "{a} * 3"),
        (_LEAD + r"half\s+(?:of\s+)?" + _A, "{a} / 2"),
        (_LEAD + r"(?:square\s+root|sqrt)\s+of\s+" + _A, "{a} ** 0.5"),
        (_LEAD + _A + r"\s+squared", "{a} ** 2"),
        (_LEAD + _A + r"\s+cubed", "{a} ** 3"),
    )
)
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


@dataclass
class ArithmeticReading:
    """Figures of the estate and how they combine: ``expression`` over ``@a`` (and ``@b``), numbers inline."""

    figures: list[ReadParams]
    expression: str


def _operand_pieces(text: str) -> list[Piece] | None:
    words = [w for w in tokens(text) if w not in _PRONOUNS]
    found, unknown = pieces(words)
    return None if unknown else [p for p in found if p.kind != "filler"]


def single_figure(params: ReadParams) -> bool:
    """A question whose answer is one number: an aggregate, or a numeric field of one named object."""
    if params.group_by is not None:
        return False
    if params.aggregate in ("count", "sum", "avg"):
        return True
    named = any(f.op == "=" and f.field in ("service", "name", "id") for f in params.filters)
    return params.aggregate in ("list", "one") and params.field in NUMERIC and named


def read_arithmetic(text: str) -> ArithmeticReading | None:
    """``text`` as figures of the estate (and numbers) combined by one operation, every word used; None
    otherwise.

    A second figure takes from the first what it leaves out ("the p95 of checkout and search": search's
    p95; "errors of search over 24 h minus over 1 h": search's errors over 1h), and a window named only
    at the end applies to both ("payments p50 and auth p50 over 5m"). At least one operand must be a
    figure of the estate: arithmetic on numbers alone is the arithmetic grammar's.
    """
    joined = " ".join(tokens(text))
    for pattern, expression in _BINARY_FORMS:
        if match := pattern.match(joined):
            return _binary(match.group("a"), match.group("b"), expression)
    for pattern, expression in _UNARY_FORMS:
        if match := pattern.match(joined):
            figure = _figure(_operand_pieces(match.group("a")))
            return ArithmeticReading([figure], expression.format(a="@a")) if figure else None
    return None


def _figure(found: list[Piece] | None) -> ReadParams | None:
    if not found:
        return None
    try:
        params = _compose(found)
    except _NotRead:
        return None
    return params if single_figure(params) else None


def _binary(a_text: str, b_text: str, expression: str) -> ArithmeticReading | None:
    a_number, b_number = _NUMBER.match(a_text.strip()), _NUMBER.match(b_text.strip())
    if a_number and b_number:
        return None
    if a_number or b_number:
        figure = _figure(_operand_pieces(b_text if a_number else a_text))
        if figure is None:
            return None
        a, b = (a_text.strip(), "@a") if a_number else ("@a", b_text.strip())
        return ArithmeticReading([figure], expression.format(a=a, b=b))
    a_pieces, b_pieces = _operand_pieces(a_text), _operand_pieces(b_text)
    if not a_pieces or not b_pieces:
        return None
    first, second = (
        _figure(_inherit(a_pieces, b_pieces, objects=False)),
        _figure(_inherit(b_pieces, a_pieces)),
    )
    if first is None or second is None or first == second:
        return None
    return ArithmeticReading([first, second], expression.format(a="@a", b="@b"))


def _inherit(target: list[Piece], source: list[Piece], objects: bool = True) -> list[Piece]:
    """``target`` with what it leaves out taken from ``source``: its window, its field and (with ``objects``)
    the object it names."""
    kinds = {p.kind for p in target}
    taken = [p for p in source if p.kind == "window"] if "window" not in kinds else []
    if "field" not in kinds and "agg" not in kinds:
        taken += [p for p in source if p.kind == "field"]
    if objects and not any(p.kind in ("value", "id") for p in target):
        taken += [p for p in source if p.kind in ("value", "id")]
    return target + taken
