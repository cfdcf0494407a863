"""The last check of a reading: every word of the request that asks for something is used by it.

PRECISE's rule, over the whole request rather than one clause: a request is answered only when its
reading uses every word that carries meaning. The rules and readers before this point may each have
read their clause correctly and still, together, have dropped a word another clause needed: a file
named but never written ("summarize the open incidents into incidents.md"), a channel or a verb of
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

_FILE = re.compile(r"\b[\w./-]+\.(?:md|txt|json|csv|log)\b", re.I)
_QUOTED = re.compile(r"([\"'“‘])(.+?)([\"'”’])")
_CHANNEL = re.compile(r"#[\w-]+|\b(\w+)\s+channel\b", re.I)
_UNITS = "seconds|secs|minutes|mins|hours|hrs|days|milliseconds|ms|thousands|millions|billions|percent|percentages?|kb|mb|gb"
_RANKS = (
    "most|least|highest|lowest|top|max|maximum|min|minimum|largest|smallest|biggest|fewest|worst|best|"
    "slowest|fastest|busiest|quietest|average|mean|median"
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
    return negated or conditional or c.read_only or c.no_files or bool(c.denied_tools)


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
            _estate(p, lambda q: q.unit is not None) or _computes(p, lambda e: "/ 1000" in e or "* 1000" in e)
        ),
        "{w!r} asks for a unit no step converts to",
    ),
    _Check(
        re.compile(r"\b(?:round(?:ed|ing)?|decimal places?|dp|significant|nearest)\b", re.I),
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
        lambda p: _estate(p, lambda q: q.group_by is not None),
        "{w!r} asks for one answer per group, and none is grouped",
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


def unused_words(request: str, perception: PerceivedState) -> list[str]:
    """What the request asks that ``perception`` does not hold, in words; empty when all is used."""
    text = _QUOTED.sub(" ", request)  # quoted words are content, carried, not read
    problems = _unwritten_files(request, perception) + _unposted_channels(text, perception)
    for check in _CHECKS:
        found = check.pattern.search(text)
        if found and not check.holds(perception):
            problems.append(check.says.format(w=found.group(0)))
    return problems
