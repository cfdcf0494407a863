"""The action rules with a side effect on the mock API: open an incident, notify a channel.

Severities and channels are the catalogue's words (``catalogue.SEVERITY_WORDS``,
``catalogue.CHANNELS``). A message or a title the clause carries is free text: carried as
written, never read or corrected.
"""

from __future__ import annotations

import re

from chalicelib import catalogue
from chalicelib.contracts import Condition, make_subtask
from chalicelib.perception import estate
from chalicelib.perception import fragments as fr
from chalicelib.perception.fragments import NOCASE
from chalicelib.perception.rules.context import Context
from chalicelib.perception.rules.rule import Rule

# ---------------------------------------------------------------- severities, from the catalogue

_SEV_NUMBER = "[" + "".join(s.removeprefix("sev") for s in catalogue.SEVERITIES) + "]"  # "sev1".."sev4"
_SEVERITY_WORD = "|".join(sorted(catalogue.SEVERITY_WORDS, key=len, reverse=True))
# "sev 2", "severity 2", "p2" (the numbered forms), then each severity's words, in severity order
SEVERITY_WORDS = (
    (
        re.compile(
            rf"\bsev[ -]?(?P<n>{_SEV_NUMBER})\b|\bseverity[ -]?(?P<m>{_SEV_NUMBER})\b|\bp(?P<p>{_SEV_NUMBER})\b",
            NOCASE,
        ),
        None,
    ),
    *(
        (
            re.compile(
                r"\b(?:" + "|".join(w for w, s in catalogue.SEVERITY_WORDS.items() if s == sev) + r")\b",
                NOCASE,
            ),
            sev,
        )
        for sev in catalogue.SEVERITIES
    ),
)
CREATE_INCIDENT_PATTERN = re.compile(
    r"\b(?:open|create|file|raise|declare|log|start|cut|report)\s+(?:(?:a|an|one|new|another|the)\s+)?(?:new\s+)?"
    rf"(?:(?:sev[ -]?{_SEV_NUMBER}|{_SEVERITY_WORD})(?:[ -](?:severity|priority|sev))?\s+)?"
    r"incident\b(?!s)|\b(?:create|file|raise|declare|log)\s+(?:new\s+)?incidents\b",
    NOCASE,
)

# ---------------------------------------------------------------- channels, from the catalogue

# every word the catalogue has for a channel, longest first: "sre team" before "sre"
_CHANNEL = "|".join(
    sorted(
        (
            re.escape(w).replace(r"\ ", r"[- ]").replace(r"\-", r"[- ]")
            for c in catalogue.CHANNELS
            for w in (c.name, *c.words)
            if not w.startswith("the ")
        ),
        key=len,
        reverse=True,
    )
)
_CHANNELS = {word: channel.name for channel in catalogue.CHANNELS for word in (channel.name, *channel.words)}
NOTIFY_PATTERN = re.compile(
    r"\b(?:notify|alert|page|ping|inform|message|email|e-mail|slack|tell(?!\s+(?:me|us)\b)|warn)\b(?:\s+(?:the\s+)?(?P<channel>"
    + _CHANNEL
    + r"|#[\w-]+)\b)?|\bsend\s+(?:a\s+|an\s+)?(?:notification|message|alert|page)\b"
    r"(?:\s+to\s+(?:the\s+)?(?P<channel2>" + _CHANNEL + r"|#[\w-]+))?|\blet\s+(?:the\s+)?"
    r"(?P<channel3>" + _CHANNEL + r")(?:\s+team)?\s+know\b"
    r"|\b(?:post|send|share|push)\s+(?P<object>.+?)\s+(?:to|in|on)\s+(?:the\s+)?(?P<channel4>"
    + _CHANNEL
    + r"|#[\w-]+)(?:\s+channel)?(?:,?\s+(?:pls|please|plz|thanks|thx))?\s*$",
    NOCASE,
)
# "post that figure to sre", "post them to ops": what was just read or computed is the message
REFERENCE_OBJECT = re.compile(
    r"^(?:it|them|that|those|these|the result|the count|that number|that figure|the number|their names|their ids|"
    r"the names|the ids|the list|the answer|the value|that value)$",
    NOCASE,
)
NOTIFY_REST = re.compile(r"\b(?:about|with|of|that)\s+(?P<rest>.+)$", NOCASE)


def severity(text: str) -> str:
    for pattern, sev in SEVERITY_WORDS:
        if m := pattern.search(text):
            return sev or f"sev{m.group('n') or m.group('m') or m.group('p')}"
    return catalogue.DEFAULT_SEVERITY


def _channel(m: re.Match[str]) -> str:
    raw = (
        m.group("channel")
        or m.group("channel2")
        or m.group("channel3")
        or m.group("channel4")
        or catalogue.DEFAULT_CHANNEL
    ).lower()
    raw = raw.lstrip("#")
    return _CHANNELS.get(raw, _CHANNELS.get(raw.replace(" ", "-"), raw))


_EACH = re.compile(r"\b(?:each|both|all of them|every one|them all|them)\b", NOCASE)


def create(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    titled = fr.TITLE_FROM.search(text)
    if titled:
        text = text[: titled.start()] + text[titled.end() :]
    services = named or ([ctx.service] if ctx.service else [])
    if not named and len(ctx.focus) > 1:
        if not _EACH.search(text):  # "check auth and search, then open an incident for it": which?
            ctx.missing.append(f"which service {text!r} is for: {' or '.join(ctx.focus)}")
            return True
        services = ctx.focus  # "... for each of them", "for both"
    if not services:
        ctx.add(
            make_subtask(kind="create", text=text, params={"resource": "incident", "service": None}),
            condition,
        )
        ctx.ask_service(text)
        return True
    sev = severity(text)
    params: dict[str, object] = {"resource": "incident", "severity": sev}
    if quoted := QUOTED_TEXT.search(text):  # "... titled 'slow checkout'": the title is the user's words
        params["title"] = {"kind": "literal", "text": quoted.group("text")}
    if titled:  # "... and put its 1h error rate in the title": read for the title, before the incident
        what = titled.group("a") or titled.group("b")
        read = len(ctx.tasks)
        service = services[0] if len(services) == 1 else None
        ctx.read_data(estate.in_focus(what, service), fr.services(what), fr.window(what), condition)
        if len(ctx.tasks) == read:
            ctx.missing.append(f"what {what!r} is, to put in the title")
            return True
        params["title"] = {"kind": "value", "task": len(ctx.tasks) - 1}
    for service in services:
        ctx.add(
            make_subtask(
                kind="create",
                text=text,
                params={**params, "service": service},
                success_criteria=[f"{sev} incident opened for {service}"],
            ),
            condition,
        )
    return True


def notify(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    m = NOTIFY_PATTERN.match(text)
    assert m is not None  # the rule's pattern matched
    channel = _channel(m)
    about = NOTIFY_REST.search(text[m.end() :])
    rest = about.group("rest").strip() if about else ""
    if m.group("object") and not QUOTED_TEXT.fullmatch(m.group("object").strip()):
        return _post_object(ctx, text, m.group("object").strip(), channel, condition)
    read = len(ctx.tasks)
    if rest and not fr.RESULT_PRONOUN.match(rest):
        # data the message is about ("about the checkout error rate") is read first; free text stays in the message
        ctx.read_data(rest, fr.services(rest), fr.window(rest), condition)
    named = fr.services(fr.QUOTED.sub(" ", text))
    params: dict[str, object] = {"channel": channel, "service": named[0] if named else ctx.service}
    if len(ctx.tasks) > read and not QUOTED_TEXT.search(text):
        # "notify ops with the number of open incidents": the message carries the figure read for it;
        # "with a summary of the open incidents": the answer, in sentences
        figure = ctx.last_compute == len(ctx.tasks) - 1
        params["content"] = {"kind": "value", "task": len(ctx.tasks) - 1} if figure else {"kind": "answer"}
    if quoted := QUOTED_TEXT.search(text):  # "notify ops 'deploy freeze'": the message is the user's words
        params["content"] = {"kind": "literal", "text": quoted.group("text")}
    elif (said := SAID.search(text[m.end() :])) is not None:  # "notify oncall that the deploy finished"
        params["content"] = {"kind": "literal", "text": said.group("text").strip()}
    ctx.add(
        make_subtask(kind="notify", text=text, params=params, success_criteria=[f"{channel} notified"]),
        condition,
    )
    return True


def _post_object(ctx: Context, text: str, what: str, channel: str, condition: Condition | None) -> bool:
    """ "post that figure to sre", "post the count of failed deployments to ops": the message
    carries what was just computed, or what the object reads as (read first)."""
    if not REFERENCE_OBJECT.match(what):
        reported = len(ctx.missing)
        if not ctx.read_data(what, fr.services(what), fr.window(what), condition):
            if len(ctx.missing) == reported:
                ctx.missing.append(f"what {what!r} is in {text!r}")
            return True
    if not ctx.tasks:
        ctx.missing.append(f"what {what!r} refers to: nothing is read or computed before {text!r}")
        return True
    source = len(ctx.tasks) - 1
    ctx.add(
        make_subtask(
            kind="notify",
            text=text,
            params={"channel": channel, "service": ctx.service, "content": {"kind": "value", "task": source}},
            success_criteria=[f"{channel} notified with {what}"],
        ),
        condition,
    )
    return True


SAID = re.compile(r"^\s*(?:that|saying|:)\s+(?P<text>.+)$", NOCASE)
QUOTED_TEXT = re.compile(r"[\"'“‘](?P<text>[^\"'“”‘’]+)[\"'”’]")


# the verb opens the clause, or follows a joiner or a courtesy: "find the earliest open incident" names
# the state open, it does not ask to open one
_BEFORE_VERB = re.compile(
    r"(?:^|(?:^|.*\b)(?:and|then|also|to|please|pls|plz|kindly|just|now|go|you|me|us|should|must|can|could|"
    r"would|will|pls|lets|let's)\s*|.*[,;:]\s*)$",
    NOCASE,
)


def _asks_to_create(text: str, named: list[str]) -> bool:
    m = CREATE_INCIDENT_PATTERN.search(text)
    return m is not None and bool(_BEFORE_VERB.match(text[: m.start()]))


CREATE_INCIDENT = Rule(
    "create_incident",
    CREATE_INCIDENT_PATTERN,
    create,
    (
        ("open a sev2 incident for search", ("create",)),
        ("raise a critical incident for auth", ("create",)),
        ("open an incident", ()),
    ),
    applies=_asks_to_create,
    free_text=True,
)
NOTIFY = Rule(
    "notify",
    NOTIFY_PATTERN,
    notify,
    (
        ("page the on-call", ()),
        ("let the sre team know", ()),
        ("notify ops about the error rate of search", ("fetch", "compute", "notify")),
    ),
    applies=lambda text, named: bool(NOTIFY_PATTERN.match(text)),
    free_text=True,
)
