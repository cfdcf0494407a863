"""The last check of a reading: every word of the request that asks for something is used by it.

PRECISE's rule, over the whole request rather than one clause: a request is answered only when its
reading uses every word that carries meaning. The rules and readers before this point may each have
read their clause correctly and still, together, have dropped a word another clause needed: a file
named but never written (a summary "into" a file the reading never writes), a channel or a verb of
posting with nothing posted, a unit or a rounding asked with no conversion made, a superlative with
no ranking, a negation with nothing negated. Each such word names what the reading must hold; a
word whose counterpart is missing stops the run before any tool runs, naming it.

The lexicon below is small on purpose: these are the words whose loss changes the answer. Words
that name data (services, tables, columns, values) are accounted for where they are read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib import catalogue
from chalicelib.contracts import (
    ComputeTask,
    CreateTask,
    FetchTask,
    NotifyTask,
    PerceivedState,
    QueryTask,
    ReadParams,
    SaveTask,
    SummarizeTask,
)
from chalicelib.perception import fragments as fr
from chalicelib.perception.arithmetic import numbers_to_digits

_FILE = re.compile(r"\b[\w./-]+\.(?:md|txt|json|csv|log)\b", re.I)
_QUOTED = fr.QUOTED  # the user's own words: carried, not read
_CHANNEL = re.compile(r"#[\w-]+|\b(\w+)\s+channel\b", re.I)
_UNITS = (
    "fraction|decimal|ratio|seconds|secs|minutes|mins|hours|hrs|days|"
    "milliseconds|ms|thousands|millions|billions|percent|percentages?|kb|mb|gb"
)
_RANKS = (
    "most|least|highest|lowest|top|max|maximum|min|minimum|largest|smallest|biggest|fewest|worst|best|"
    "slowest|fastest|busiest|quietest|average|mean"
)
_GROUPS = "service|region|severity|tier|owner|status|team"
_NOT_WORDS = "other than|apart from|except|excluding|besides|aside from|but not|not|isn't|aren't|non"


def _estate(perception: PerceivedState, test: Callable[[ReadParams], bool]) -> bool:
    return any(isinstance(t, (QueryTask, FetchTask)) and test(t.params) for t in perception.subtasks)


def _any(perception: PerceivedState, kind: type) -> bool:
    return any(isinstance(t, kind) for t in perception.subtasks)


def _computes(perception: PerceivedState, test: Callable[[str], bool]) -> bool:
    return any(isinstance(t, ComputeTask) and test(t.params.expression or "") for t in perception.subtasks)


def _excludes(perception: PerceivedState) -> bool:
    c = perception.constraints
    negated = _estate(perception, lambda p: any(f.op not in ("=", "in") for f in p.filters))
    conditional = any(t.condition is not None for t in perception.subtasks)
    return negated or conditional or c.read_only or c.no_files or c.dry_run or bool(c.denied_tools)


@dataclass(frozen=True)
class _Check:
    """A word that asks for something, and what a reading must hold to have used it."""

    pattern: re.Pattern[str]
    holds: Callable[[PerceivedState], bool]
    says: str  # what is wrong, with {w} for the word


_CHECKS = (
    _Check(
        re.compile(r"\b(?:post|notify|ping|alert|send|broadcast|announce)\b", re.I),
        lambda p: _any(p, NotifyTask),
        "{w!r} asks to post, and nothing is posted",
    ),
    _Check(
        re.compile(
            r"\b(?:open|create|raise|file|log|start|declare)\w*\s+(?:an?|new|one)\s+(?:new\s+)?(?:\S+\s+)?incident\b",
            re.I,
        ),
        lambda p: _any(p, CreateTask),
        "{w!r} asks for an incident, and none would be opened",
    ),
    _Check(
        re.compile(r"\b(?:write|save|store|export|dump|persist|record)\b", re.I),
        lambda p: _any(p, SaveTask),
        "{w!r} asks to write, and nothing is written",
    ),
    _Check(
        re.compile(rf"\b(?:in|into|as|to)\s+(?:the\s+)?(?:{_UNITS})\b", re.I),
        lambda p: (
            _estate(p, lambda q: q.unit is not None)
            or any(isinstance(t, ComputeTask) and t.params.unit for t in p.subtasks)
        ),
        "{w!r} asks for a unit no step converts to",
    ),
    _Check(
        re.compile(
            r"\b(?:round(?:ed|ing)?|decimal places?|dp|significant|nearest|whole number|integer)\b", re.I
        ),
        lambda p: _estate(p, lambda q: q.round_to is not None) or _computes(p, lambda e: "round(" in e),
        "{w!r} asks for a rounding no step makes",
    ),
    _Check(
        re.compile(rf"\b(?<!at )(?:{_RANKS})\b", re.I),
        lambda p: (
            _estate(p, lambda q: q.aggregate not in (None, "list", "count"))
            or _any(p, ComputeTask)
            or _any(p, SummarizeTask)
        ),
        "{w!r} asks for a ranking or an aggregate no step computes",
    ),
    _Check(
        re.compile(
            rf"\b(?:for each|per (?:{_GROUPS})|broken down|grouped|group by|by (?:{_GROUPS}))\b", re.I
        ),
        lambda p: (
            _estate(p, lambda q: q.group_by is not None)
            or sum(isinstance(t, CreateTask) for t in p.subtasks) > 1
        ),  # "an incident for each of them"
        "{w!r} asks for one answer per group, and none is grouped",
    ),
    _Check(
        re.compile(
            r"\b(?:plus|minus|times|divided|multiplied|difference|ratio|product|quotient|"
            r"(?:percent(?:age)?|share|fraction|proportion)\s+of|"
            r"(?:more|fewer|less|higher|lower|bigger|smaller|greater|larger)\b(?:\s+[\w'-]+){0,6}?\s+than)\b",
            re.I,
        ),
        lambda p: (
            _any(p, ComputeTask)
            or any(t.condition is not None for t in p.subtasks)
            or _estate(
                p,
                lambda q: (
                    q.unit is not None or any(f.op not in ("=", "!=", "in", "not in") for f in q.filters)
                ),
            )
        ),
        "{w!r} asks for arithmetic no step computes",
    ),
    _Check(
        re.compile(rf"\b(?:{_NOT_WORDS})\b", re.I),
        _excludes,
        "{w!r} excludes something, and nothing is excluded",
    ),
)


def _unwritten_files(request: str, perception: PerceivedState) -> list[str]:
    saved = [t.params.path.lower() for t in perception.subtasks if isinstance(t, SaveTask)]
    return [
        f"{name!r} is named but nothing is written to it"
        for name in _FILE.findall(request)
        if not any(path.endswith(name.lower()) for path in saved)
    ]


def _unposted_channels(text: str, perception: PerceivedState) -> list[str]:
    posted = {t.params.channel for t in perception.subtasks if isinstance(t, NotifyTask)}
    known = {c.name for c in catalogue.CHANNELS}
    problems = []
    for match in _CHANNEL.finditer(text):
        hashed = match.group(0).startswith("#")
        name = match.group(0).lstrip("#").lower() if hashed else (match.group(1) or "").lower()
        if name not in posted and (hashed or name in known):
            problems.append(f"the channel {name!r} is named and nothing is posted to it")
    return problems


# verbs of actions MAOO has no tool for: a request that asks one is refused, whatever else it reads
_NO_TOOL = re.compile(
    r"(?:^|[,;.!?]\s*|\b(?:and|then|also|please|pls|plz|kindly|can|could|would|will|u|you|me|to|just|go|now)\s+)"
    r"(?:change|changes|set|update|modify|rename|delete|remove|drop|restart|reboot|scale|deploy|redeploy|"
    r"roll\s+back|rollback\s+(?:the|to)|resolve|close|acknowledge|ack|assign|reassign|escalate|silence|mute|"
    r"disable|enable|kill|shut\s+down|stop|sms|email|e-mail|tweet|fax|print)\b",
    re.I,
)
_ADDRESS = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_WINDOW_LIKE = re.compile(
    r"\b(\d+)\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|wk|weeks?|mo|months?|y|years?)\b(?!\s*(?:ago|per|/))",
    re.I,
)
_SEVERITY_LIKE = re.compile(r"\b(?:sev|severity|p)\s*-?\s*(\d+)\b", re.I)
_REFERENCE = re.compile(
    r"\b(?:it|its|that|those|them|their|these|the result|the count|that number|the same)\b", re.I
)


def _no_tool(text: str) -> list[str]:
    found = _NO_TOOL.search(text)
    return [f"{found.group(0).strip(' ,;.!?')!r} is an action MAOO has no tool for"] if found else []


def _unknown_windows(text: str) -> list[str]:
    known = {w.name for w in catalogue.WINDOWS} | {p for w in catalogue.WINDOWS for p in w.words}
    problems = []
    for match in _WINDOW_LIKE.finditer(text):
        phrase = match.group(0).lower()
        compact = f"{match.group(1)}{match.group(2)[0].lower()}"
        if phrase not in known and compact not in known and not _is_number_of_time(text, match):
            problems.append(
                f"there is no data for a {phrase!r} window (windows: {', '.join(catalogue.WINDOW_NAMES)})"
            )
    return problems


def _is_number_of_time(text: str, match: re.Match[str]) -> bool:
    """ "5400 seconds in minutes", "a deadline of 30 s": a duration to compute with, not a window."""
    before = text[: match.start()].lower().split()[-2:]
    after = text[match.end() :].lower().split()[:1]
    converted = bool(after) and after[0] in ("in", "to", "into", "as")
    return converted or bool(
        {"is", "in", "convert", "deadline", "within", "of", "how", "many", "for"} & set(before)
    )


def _unknown_severities(text: str) -> list[str]:
    return [
        f"there is no severity {m.group(0)!r} (severities: {', '.join(catalogue.SEVERITIES)})"
        for m in _SEVERITY_LIKE.finditer(text)
        if m.group(0).lower().startswith("sev") and f"sev{m.group(1)}" not in catalogue.SEVERITIES
    ]


def _unknown_channels(perception: PerceivedState) -> list[str]:
    known = {c.name for c in catalogue.CHANNELS}
    return [
        f"there is no channel {t.params.channel!r} (channels: {', '.join(sorted(known))})"
        for t in perception.subtasks
        if isinstance(t, NotifyTask) and t.params.channel not in known
    ]


def missing_details(perception: PerceivedState) -> list[str]:
    """A notification with no message, no condition and nothing read or computed before it ("notify ops"):
    what it would say is not known, so it is asked, not invented."""
    problems = []
    for index, task in enumerate(perception.subtasks):
        if isinstance(task, NotifyTask) and task.params.content is None and task.condition is None:
            before = perception.subtasks[:index]
            if not any(isinstance(t, (QueryTask, FetchTask, ComputeTask, SummarizeTask)) for t in before):
                problems.append(f"what to tell #{task.params.channel}: no message and nothing to report")
    return problems


def _dangling(text: str, perception: PerceivedState) -> list[str]:
    """A reference ("their names", "that number") with nothing read or computed to refer to."""
    produced = [
        t for t in perception.subtasks if isinstance(t, (QueryTask, FetchTask, ComputeTask, SummarizeTask))
    ]
    found = _REFERENCE.search(text)
    if found and not produced:
        return [f"{found.group(0)!r} refers to nothing read or computed before it"]
    return []


# after a quoted message or a file name, what may close the clause: its target and courtesy, no more
# what ends a clause after a message or a file: a joiner before a verb (the clause after it is read by
# itself), a condition, a sentence's end; "and the trend" after a message is not a clause of its own
_CLAUSE_END = re.compile(
    r"\b(?:and|then|also|after that)\s+(?:then\s+)?(?:(?:please|pls|also)\s+)?(?=(?:notify|alert|page|ping|tell|"
    r"send|post|open|create|raise|file|write|save|summari[sz]e|list|show|count|get|fetch|check|compute|"
    r"calculate|put|record|store|export|let|email|restart|delete|message|inform|warn|report|find|give)\b)"
    r"|\b(?:otherwise|else)\b|[;.!?](?:\s|$)",
    re.I,
)
# a condition read from the clause ends what comes before it ("open an incident for search if ...")
_CONDITION_START = re.compile(r"\b(?:only\s+)?(?:if|when|whenever|once|unless)\b", re.I)


_COMPARED = re.compile(r"\d|\b(?:" + fr.COMPARATOR + r")\b|\bany\b", re.I)


def _clause_end(rest: str, conditional: bool) -> int:
    """Where the clause after a message, a file or a target ends: a joiner before a verb, a sentence's end,
    or a condition read from it (one that compares: "only if it is Monday" is not one)."""
    condition = _CONDITION_START.search(rest) if conditional else None
    if condition and not _COMPARED.search(rest[condition.end() :]):
        condition = None
    ends = [m.start() for m in (_CLAUSE_END.search(rest), condition) if m]
    return min(ends, default=len(rest))


_TARGET = re.compile(
    r"\b(?:to|in|on|into|at|for)\s+(?:the\s+)?(?:#?[\w-]+\s+(?:channel|team)|#[\w-]+|[\w./-]+\.(?:md|txt|json|csv|log)|"
    + "|".join(
        re.escape(w)
        for w in sorted(
            {c.name for c in catalogue.CHANNELS}
            | {w for c in catalogue.CHANNELS for w in c.words}
            | set(catalogue.SERVICE_NAMES),
            key=len,
            reverse=True,
        )
    )
    + r")\b",
    re.I,
)
_COURTESY = frozenset(
    "please pls plz thanks thank you thx now right away asap immediately quickly kindly ok okay file channel "
    "the a an for me us team titled title called named saying with message service and but".split()
)
# the services an action is for and the severity it is opened with may close its clause too
_TARGET_WORDS = frozenset(
    [
        *catalogue.SERVICE_NAMES,
        *catalogue.SEVERITIES,
        *catalogue.SEVERITY_WORDS,
        "severity",
        "priority",
        "sev",
    ]
)
_INCIDENT_FOR = re.compile(
    r"\b(?:(?:create|raise|file|declare|log|cut)\b|open\s+(?:an?|new|another|one)\b|open\s+(?:sev[\w-]*\s+)?(?=incident\s))"
    r"[^,.;]*?"
    r"\bincidents?\s+(?:for|on|about|against)\s+(?:the\s+)?(?:"
    + "|".join(re.escape(n) for n in catalogue.SERVICE_NAMES)
    + r")\b",
    re.I,
)


def _after_quotes(request: str, conditional: bool) -> list[str]:
    """Words after a quoted message or a file name are read like any other: up to the end of their
    clause, only the target ("to #ops", "to status.txt") and courtesy may follow ("notify ops 'freeze'
    twice", "write 'ok' to a.txt in JSON": MAOO cannot do the rest, so it says so)."""
    ends = [m.end() for pattern in (_QUOTED, _FILE, _INCIDENT_FOR) for m in pattern.finditer(request)]
    left: list[str] = []
    for end in ends:
        rest = fr.TITLE_FROM.sub(" ", _QUOTED.sub(" ", request[end:]))  # a title read for it is accounted
        segment = _TARGET.sub(" ", rest[: _clause_end(rest, conditional)])
        left += [
            w
            for w in re.findall(r"[\w'-]+", segment.lower())
            if w not in _COURTESY and w not in _TARGET_WORDS  # "for payments, checkout and auth", "sev1"
        ]
    left = list(dict.fromkeys(left))
    return (
        [f"MAOO cannot apply {', '.join(repr(w) for w in left)} to what it writes or posts"] if left else []
    )


_CHANNEL_WORDS = sorted({w for c in catalogue.CHANNELS for w in (c.name, *c.words)}, key=len, reverse=True)
_NOTIFIED = re.compile(
    r"\b(?:notify|alert|page|ping|tell|message|inform|warn)\s+(?:the\s+)?#?(?:"
    + "|".join(re.escape(w) for w in _CHANNEL_WORDS)
    + r")\b(?:\s+(?:channel|team))?",
    re.I,
)
_ABOUT = re.compile(r"^\s*,?\s*(?:about|with|w/|of|on|regarding|re:?)\s+(?P<what>.+)$", re.I)
_FREE = re.compile(r"^\s*,?\s*(?:that|saying|:)\s", re.I)
_REFERENCE_PHRASE = re.compile(
    r"^(?:it|them|that|this|those|these|the results?|the answer|(?:their|its|the)\s+(?:names?|ids?|list|count|"
    r"number|values?|results?|figures?|details|findings|summary|rows))$",
    re.I,
)


def _after_channels(request: str, conditional: bool) -> list[str]:
    """What follows a channel notified, up to the end of its clause, is the message's content: the
    user's words (quoted, or after "that"), data read whole ("with the number of open incidents"), a
    reference ("w/ their names"), courtesy; anything else is a word MAOO cannot apply ("notify ops,
    every hour")."""
    from chalicelib.perception import estate

    left: list[str] = []
    for m in _NOTIFIED.finditer(request):
        rest = request[m.end() :]
        segment = rest[: _clause_end(rest, conditional)]
        if _FREE.match(segment) or _QUOTED.search(segment):
            continue  # the message is the user's own words (and a quote is checked on its own)
        about = _ABOUT.match(segment)
        if about:
            what = about.group("what").strip(" ,.!?")
            if estate.reads_whole(what) or _REFERENCE_PHRASE.match(what):
                continue
            words = re.findall(r"[\w'-]+", what.lower())
        else:
            words = re.findall(r"[\w'-]+", segment.lower())
        left += [w for w in words if w not in _COURTESY and w not in _TARGET_WORDS]
    left = list(dict.fromkeys(left))
    return [f"MAOO cannot apply {', '.join(repr(w) for w in left)} to the message it posts"] if left else []


def _unused_quotes(request: str, perception: PerceivedState) -> list[str]:
    """A quoted message, title or text that no action writes or posts ("notify ops 'x' and 'y'")."""
    carried: list[str] = []
    for t in perception.subtasks:
        for name in ("content", "title"):
            content = getattr(t.params, name, None)
            if content is not None and content.kind == "literal" and content.text:
                carried.append(content.text.strip())
        for name in ("sql", "url", "expression"):  # written as is, quotes and all
            if getattr(t.params, name, None):
                carried.append(str(getattr(t.params, name)))
    quoted = [m.group(0).strip()[1:-1].strip() for m in _QUOTED.finditer(request)]
    bare = [re.sub(r"\s+", "", c) for c in carried]  # "2+2" is the expression "2 + 2"
    unused = [q for q in quoted if q and not any(re.sub(r"\s+", "", q) in c for c in bare)]
    return [f"{q!r} is quoted and nothing writes or posts it" for q in dict.fromkeys(unused)]


def _used_services(perception: PerceivedState) -> set[str]:
    used: set[str] = set()
    for t in perception.subtasks:
        service = getattr(t.params, "service", None)
        if service:
            used.add(service)
        for f in getattr(t.params, "filters", []):
            if f.field in ("service", "name"):
                used.update(f.value if isinstance(f.value, list) else [f.value])
    return used


_MOCK_ITEMS = re.compile(r"\b(?:alpha|beta|gamma|delta)\b", re.I)


def _unused_items(text: str, perception: PerceivedState) -> list[str]:
    """A mock data item the request names ("the value of gamma") that no step reads by."""
    used = {
        str(v).lower()
        for t in perception.subtasks
        for f in getattr(t.params, "filters", [])
        if f.field == "name"
        for v in (f.value if isinstance(f.value, list) else [f.value])
    }
    return [
        f"{m!r} is named and nothing reads it" for m in _MOCK_ITEMS.findall(text) if m.lower() not in used
    ]


def _unused_services(text: str, perception: PerceivedState) -> list[str]:
    """A service the request names that no step reads, posts about or files for ("payments p50 plus auth's":
    both must be read)."""
    named = fr.services(text)
    used = _used_services(perception)
    everything = any(
        isinstance(t, (QueryTask, FetchTask)) and not getattr(t.params, "service", None)
        for t in perception.subtasks
    )
    return [] if everything else [f"{s!r} is named and nothing reads it" for s in named if s not in used]


_ID = re.compile(r"\b(?:inc|dep)-\d+\b", re.I)


def _unused_ids(text: str, perception: PerceivedState) -> list[str]:
    """An incident or deployment id the request names that no step reads by."""
    used = {
        str(f.value).upper()
        for t in perception.subtasks
        for f in getattr(t.params, "filters", [])
        if f.field == "id"
    }
    return [
        f"{i.upper()!r} is named and nothing reads it" for i in _ID.findall(text) if i.upper() not in used
    ]


def _unknown(read: str) -> list[str]:
    from chalicelib.perception.vocabulary import unknown_words

    words = unknown_words(read)
    return [f"MAOO does not know what {', '.join(repr(w) for w in words)} means here"] if words else []


_ENTITY_SHAPED = re.compile(
    r"(?<![\w./#@-])[a-z][a-z0-9]*(?:-[a-z0-9]+)+(?![\w./-])|(?<![\w./#@-])[a-z]+\d+[a-z0-9]*(?![\w./-])",
    re.I,
)


_NUMBER_WORDS = re.compile(r"-?\d+(?:\.\d+)?")


def _known_names() -> set[str]:
    from chalicelib.perception.estate import lexicon

    names = {phrase for phrase in lexicon() if " " not in phrase}
    names |= {c.name for c in catalogue.CHANNELS} | {w for c in catalogue.CHANNELS for w in c.words}
    names |= {w.name for w in catalogue.WINDOWS} | set(catalogue.SEVERITY_WORDS)
    return {n.lower() for n in names}


def _unknown_names(text: str) -> list[str]:
    """A name the estate does not have ("us-east-2", "platform-team", "checkout-v2", "p99", "sev5"): never
    read as the nearest name it does have, never dropped."""
    known = _known_names()
    found = [m.group(0) for m in _ENTITY_SHAPED.finditer(text) if m.group(0).lower() not in known]
    found = [f for f in found if not _ID.fullmatch(f)]  # ids are checked against the estate by the reader
    found = [f for f in found if not _NUMBER_WORDS.fullmatch(numbers_to_digits(f))]  # "forty-two" is 42
    return [f"there is no {name!r} in the estate" for name in dict.fromkeys(found)]


def actions_without_tool(text: str) -> list[str]:
    """An action MAOO has no tool for, in the request as the user wrote it (before any typo correction:
    "resolve INC-1001" is a verb, not the state "resolved")."""
    return _no_tool(fr.read_text(_QUOTED.sub(" ", text)))


def unused_words(request: str, perception: PerceivedState, word_problem: bool = False) -> list[str]:
    """What the request asks that ``perception`` does not hold, in words; empty when all is used. A word
    problem's nouns ("12 hosts send 30 events") are labels of its numbers, not words to read."""
    text = _QUOTED.sub(" ", request)  # quoted words are content, carried, not read
    read = fr.read_text(
        text
    )  # an unquoted message or title ("notify ops that the deploy finished") is carried too
    problems = _unwritten_files(request, perception) + _unposted_channels(text, perception)
    problems += _no_tool(read) + [f"{a!r} is an address outside the estate" for a in _ADDRESS.findall(text)]
    reads = any(isinstance(t, (QueryTask, FetchTask)) for t in perception.subtasks)
    # a duration in arithmetic ("a disk fills at 2 GB per hour: after 36 hours?") is not a window
    problems += _unknown_windows(text) if reads or not perception.subtasks else []
    problems += _unknown_severities(text) + _unknown_channels(perception)
    conditional = any(t.condition is not None for t in perception.subtasks)
    problems += _dangling(read, perception) + _after_quotes(request, conditional)
    problems += _after_channels(request, conditional) + _unused_quotes(request, perception)
    problems += _unused_services(read, perception)
    problems += _unused_ids(read, perception) + _unused_items(read, perception)
    problems += [] if word_problem else _unknown(read)
    problems += _unknown_names(_FILE.sub(" ", read))
    for check in _CHECKS:
        found = check.pattern.search(text)
        if found and not check.holds(perception):
            problems.append(check.says.format(w=found.group(0)))
    return problems
