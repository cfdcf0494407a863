"""Did the sub-tasks read from a clause use every domain term the clause names?

A rule can match a clause and still drop part of it: "the sev1 incidents of auth" read as "the
incidents of auth" answers a question nobody asked, and reports success. So after a clause is read, each
catalogue term it names (a severity, a tier, a region, an owner, a service state, an incident or
deployment state, a window, a service) must show in what was built from it. A term left unused
makes the clause not understood, and the run stops before any tool with the term named.
"""

from __future__ import annotations

from typing import Any

from chalicelib import catalogue
from chalicelib.contracts import SubTask


def _words(text: str) -> list[str]:
    return "".join(ch.lower() if ch.isalnum() or ch in "-_" else " " for ch in text).split()


def _window_terms(words: list[str]) -> list[str]:
    text = " " + " ".join(words) + " "
    return [w.name for w in catalogue.WINDOWS if any(f" {phrase} " in text for phrase in w.words)]


def terms(text: str) -> list[tuple[str, Any]]:
    """The catalogue terms ``text`` names, as ``(kind, value)``."""
    words = _words(text)
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
    return found


def _used(kind: str, value: Any, tasks: list[SubTask]) -> bool:
    params = [t.params for t in tasks]
    resources = {p.get("resource") for p in params}
    if kind == "severity":
        return any(p.get("severity") == value for p in params)
    if kind in ("tier", "region", "owner"):
        return any(p.get(kind) == value for p in params) or "service" in resources
    if kind == "service_state":
        return any(p.get("status") == value for p in params) or "service" in resources
    if kind == "incident_state":
        return any(p.get("status") == value for p in params) or not ({"incidents"} & resources)
    if kind == "deploy_state":
        return any(p.get("status") == value for p in params) or "deployments" not in resources
    if kind == "window":
        windowed = [p for p in params if p.get("resource") == "metrics" or p.get("metric") == "error_rate"]
        return not windowed or any(p.get("window") == value for p in windowed)
    return True


def unused_terms(text: str, tasks: list[SubTask]) -> list[str]:
    """The terms ``text`` names that none of ``tasks`` (what was read from it) uses, as words."""
    return [
        str(value) if kind != "tier" else f"tier {value}"
        for kind, value in dict.fromkeys(terms(text))
        if not _used(kind, value, tasks)
    ]
