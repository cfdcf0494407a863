"""Did the sub-tasks read from a clause use every domain term the clause names?

A rule can match a clause and still drop part of it: "the sev1 incidents of auth" read as "the
incidents of auth" answers a question nobody asked, and reports success. So after a clause is read, each
catalogue term it names (a severity, a tier, a region, an owner, a service state, an incident or
deployment state, a window, a service) must show in what was built from it. A term left unused
makes the clause not understood, and the run stops before any tool with the term named.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import catalogue
from chalicelib.contracts import ComputeTask, CreateTask, FetchTask, NotifyTask, QueryTask, SubTask
from chalicelib.perception import fragments as fr
from chalicelib.perception.arithmetic import numbers_to_digits


def _words(text: str) -> list[str]:
    return "".join(ch.lower() if ch.isalnum() or ch in "-_" else " " for ch in text).split()


def _window_terms(words: list[str]) -> list[str]:
    text = " " + " ".join(words) + " "
    return [w.name for w in catalogue.WINDOWS if any(f" {phrase} " in text for phrase in w.words)]


_FILE_EXTENSIONS = ("md", "txt", "json", "csv", "log")


def _without_file_names(text: str) -> str:
    """``text`` without file names: "degraded.txt" names a file, not the state degraded."""
    return " ".join(
        word
        for word in text.split()
        if not word.strip("'\".,;:!?").lower().endswith(tuple(f".{ext}" for ext in _FILE_EXTENSIONS))
    )


def terms(text: str) -> list[tuple[str, Any]]:
    """The catalogue terms ``text`` names, as ``(kind, value)``; a file name names none."""
    words = _words(_without_file_names(text))
    found: list[tuple[str, Any]] = []
    for i, word in enumerate(words):
        if word in catalogue.SEVERITIES:
            found.append(("severity", word))
        elif word == "tier" and i + 1 < len(words) and words[i + 1].isdigit():
            found.append(("tier", int(words[i + 1])))
        elif word in catalogue.REGIONS:
            found.append(("region", word))
        elif word in {s.owner for s in catalogue.SERVICES}:
            found.append(("owner", word))
        elif word in catalogue.SERVICE_STATES:
            found.append(("service_state", word))
        elif word in ("resolved", "closed", "fixed", "unresolved", "active", "ongoing"):
            found.append(("incident_state", catalogue.INCIDENT_STATES[word]))
        elif (
            word in ("failed", "succeeded", "successful")
            or word in ("rolled-back", "rolled_back")
            or (word == "rolled" and i + 1 < len(words) and words[i + 1] == "back")
        ):
            found.append(("deploy_state", catalogue.DEPLOY_STATES.get(word, "rolled_back")))
    found += [("window", w) for w in _window_terms(words)]
    if not _window_terms(words) and (span := fr.other_window(text)):
        found.append(("span", span))
    found += [("channel", c) for c in _channel_terms(words)]
    found += [("operation", w) for w in words if w in _OPERATION_WORDS]
    found += [("negation", w) for w in words if w in _NEGATIONS]
    found += [("number", w) for w in _words(numbers_to_digits(text)) if _is_number(w)]
    return found


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


# a clause that negates ("but not the latency", "except sev3") asks for a filter no reading has
_NEGATIONS = frozenset({"not", "except", "excluding", "without", "but not", "exclude", "apart"})


# words that ask for a computation: a clause that says one must have been read into one
_OPERATION_WORDS = frozenset(
    {
        "divide",
        "divided",
        "multiply",
        "multiplied",
        "add",
        "subtract",
        "plus",
        "minus",
        "times",
        "double",
        "halve",
        "triple",
        "squared",
        "cubed",
        "percent",
        "percentage",
        "average",
        "mean",
        "sum",
        "product",
        "twice",
        "ratio",
        "share",
        "per",
    }
)
# channel words no other reading uses ("ops" is also the ops database, "team" and "owner" are everyday words)
_DISTINCT_CHANNEL_WORDS = (
    "oncall",
    "on-call",
    "on call",
    "pager",
    "sre",
    "slack",
    "email",
    "e-mail",
    "incident channel",
)


def _channel_terms(words: list[str]) -> list[str]:
    text = " " + " ".join(words) + " "
    return [
        c.name
        for c in catalogue.CHANNELS
        if any(f" {w} " in text for w in (c.name, *c.words) if w in _DISTINCT_CHANNEL_WORDS)
    ]


def _used(kind: str, value: Any, tasks: list[SubTask]) -> bool:
    reads = [t.params for t in tasks if isinstance(t, (FetchTask, QueryTask))]
    resources = {p.resource for p in reads}
    if kind == "severity":
        return any(
            t.params.severity == value for t in tasks if isinstance(t, (FetchTask, QueryTask, CreateTask))
        )
    if kind in ("tier", "region", "owner"):
        said = ({"tier": p.tier, "region": p.region, "owner": p.owner}[kind] for p in reads)
        return value in said or "service" in resources
    if kind == "service_state":
        return any(p.status == value for p in reads) or "service" in resources
    if kind == "incident_state":
        return any(p.status == value for p in reads) or not ({"incidents"} & resources)
    if kind == "deploy_state":
        return any(p.status == value for p in reads) or "deployments" not in resources
    if kind == "window":  # a window applies to metrics only: said of anything else, it would be dropped
        windows = [p.window for p in reads if p.resource == "metrics"]
        windows += [
            t.params.window for t in tasks if isinstance(t, ComputeTask) and t.params.metric == "error_rate"
        ]
        return value in windows
    if kind == "span":  # a span of time MAOO has no data for ("last week") is never silently ignored
        return False
    if (
        kind == "channel"
    ):  # email and slack may name the medium ("email the on-call"): any notification uses them
        return any(
            isinstance(t, NotifyTask) and (t.params.channel == value or value in ("email", "slack"))
            for t in tasks
        )
    if kind == "operation":
        return any(t.kind == "compute" for t in tasks)
    if kind == "negation":  # only a condition can say "is not"
        return any(t.condition is not None and t.condition.op == "!=" for t in tasks)
    if (
        kind == "number"
    ):  # every number said is used: in an expression, a filter, a window, a condition, a path
        return any(_number_in(value, t) for t in tasks)
    return True


def _number_in(number: str, task: SubTask) -> bool:
    text = json.dumps(task.params.model_dump(mode="json"))
    if task.condition is not None:
        text += f" {task.condition.value:g} {task.condition.value}"
    return any(
        number == w or w.startswith(number) and not w[len(number) : len(number) + 1].isdigit()
        for w in _words(text.replace("@", " "))
    )


def unused_terms(text: str, tasks: list[SubTask]) -> list[str]:
    """The terms ``text`` names that none of ``tasks`` (what was read from it) uses, as words."""
    return [
        str(value) if kind != "tier" else f"tier {value}"
        for kind, value in dict.fromkeys(terms(text))
        if not _used(kind, value, tasks)
    ]
