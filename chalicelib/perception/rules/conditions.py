"""The condition rules: "if X is above 5 %, do Y" and "do Y if X is above 5 %".

A condition compares a subject (an error rate, a metric field, an incident count, the result
computed before) with a number, in the catalogue's phrasing ("above", "exceeds", "at most", ...,
``catalogue.COMPARATOR_WORDS``). The subject is read into sub-tasks first; the condition then
governs the action and the clauses joined to it with "and", until a "then" or a new sentence;
"otherwise" takes the negated condition.
"""

from __future__ import annotations

import re

from chalicelib import catalogue
from chalicelib.contracts import Condition
from chalicelib.perception import fragments as fr
from chalicelib.perception.arithmetic import numbers_to_digits
from chalicelib.perception.estate import asks_service, live_metric, reads_whole
from chalicelib.perception.fragments import COMPARATOR, NOCASE, NUMBER
from chalicelib.perception.rules.context import Context
from chalicelib.perception.rules.estate import estate_condition, estate_figure, starts_action
from chalicelib.perception.rules.rule import Rule

_IF = r"(?:if|when|whenever|in case|provided that)"
_STATE_WORD = "|".join(
    sorted(catalogue.INCIDENT_STATES, key=len, reverse=True)
)  # the catalogue's incident states
_STATE = r"(?P<status>" + _STATE_WORD + r")?"
_THEN_ACTION = r"(?:\s*(?:,\s*|\s+)(?:then\s+)?(?P<action>\S.*))?$"  # the action, when it follows

CONDITION_LEAD = re.compile(
    r"^(?:only\s+)?(?:if|when(?!\s+(?:was|were|did|does|do|is|will|has|had)\b)|whenever|in case|should|provided that)"
    r"\s+(?P<rest>.+)$",
    NOCASE,
)
CONDITION_TRAIL = re.compile(
    r"^(?P<action>.+?),?\s+(?:but\s+)?(?:only\s+)?" + _IF + r"\s+(?P<cond>.+)$", NOCASE
)
COMPARISON = re.compile(
    r"^(?P<subject>.+?)\s+(?:is\s+|are\s+|was\s+|goes\s+|gets\s+|rises\s+|climbs\s+|stays\s+|has\s+(?:gone\s+)?|went\s+)?"
    r"(?P<op>"
    + COMPARATOR
    + r")\s*(?P<value>"
    + NUMBER
    + r")\s*(?P<unit>%|percent|per ?cent|ms|milliseconds?|errors?|requests?)?"
    + _THEN_ACTION,
    NOCASE,
)
ANY_INCIDENTS = re.compile(
    r"^(?:there\s+(?:are|is)\s+(?:any\s+)?|(?P<service>\w+)\s+has\s+(?:any\s+)?)" + _STATE + r"\s*"
    r"incidents?(?:\s+(?:for|on|in|against)\s+(?:the\s+)?(?P<service2>\w+)(?:\s+service)?)?" + _THEN_ACTION,
    NOCASE,
)
INCIDENTS_HAS = re.compile(
    r"^(?P<service>\w+)\s+has\s+(?P<op>" + COMPARATOR + r")\s+(?P<value>" + NUMBER + r")\s+" + _STATE + r"\s*"
    r"incidents?" + _THEN_ACTION,
    NOCASE,
)
INCIDENT_COUNT_SUBJECT = re.compile(
    r"\b(?:number|count)\s+of\s+" + _STATE + r"\s*incidents\b|"
    r"\b(?:has|have)\s+" + _STATE.replace("status", "status2") + r"\s*incidents\b",
    NOCASE,
)
COMPUTED_PREFIX = re.compile(r"^(?:the\s+)?(?:computed|calculated|final)\s+", NOCASE)
# "the count", "that number", "this figure": the figure just computed, by what it is
_THE_FIGURE = re.compile(
    r"^(?:the|that|this|said)\s+(?:count|number|figure|value|total|sum|average|mean|result|answer|rate|"
    r"percentage|ratio|difference|product|amount|share|quotient)$",
    NOCASE,
)
_RESULT_WORDS = {
    "it",
    "that",
    "this",
    "result",
    "value",
    "the result",
    "the value",
    "the answer",
    "the rate",
    "the number",
    "the total",
}


def negated(condition: Condition) -> Condition:
    return condition.model_copy(update={"op": fr.NEGATED[condition.op]})


def has_action(text: str) -> bool:
    """Does a clause that starts with a condition ("if ...") also say what to do?"""
    m = CONDITION_LEAD.match(text)
    if not m:
        return False
    t = numbers_to_digits(m.group("rest"))
    for pattern in (ANY_INCIDENTS, INCIDENTS_HAS, COMPARISON):
        if found := pattern.match(t):
            # "if inventory had more than 100 errors in the last hour": what follows the number is still
            # the subject until a verb of an action starts
            return bool(found.group("action")) and starts_action(found.group("action"))
    return False


def starts_with_condition(text: str) -> bool:
    return bool(CONDITION_LEAD.match(text))


# ---------------------------------------------------------------- builders


def condition_first(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    m = CONDITION_LEAD.match(text)
    assert m is not None  # the rule's pattern matched
    reported = len(ctx.missing)
    parsed = _comparison(ctx, m.group("rest"), hint=text)
    if parsed is None:
        if len(ctx.missing) == reported:
            ctx.unknown.append(text)
        return True
    read, action = parsed
    ctx.rule = "condition_first"
    if not action:
        ctx.missing.append(f"what to do when {m.group('rest')!r}")
        return True
    ctx.scope = ctx.last_condition = read
    ctx.act(action, read)
    return True


def condition_after(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    m = CONDITION_TRAIL.match(text)
    assert m is not None  # the rule's pattern matched
    parsed = _comparison(ctx, m.group("cond"), hint=text)
    if parsed is None or parsed[1]:
        return False
    ctx.last_condition = parsed[0]
    ctx.rule = "condition_after"
    ctx.act(m.group("action"), parsed[0])
    return True


def _comparison(ctx: Context, text: str, hint: str) -> tuple[Condition, str | None] | None:
    t = numbers_to_digits(text)
    if (read := estate_condition(ctx, t)) is not None:
        return read
    if m := ANY_INCIDENTS.match(t):
        service = _known(m.group("service")) or _known(m.group("service2")) or _context_service(ctx, hint)
        ctx.service = service or ctx.service
        index = ctx.incident_count(service, m.group("status"), t)
        return Condition(subject=f"#{index}.count", op=">", value=0), m.group("action")
    if m := INCIDENTS_HAS.match(t):
        service = _known(m.group("service"))
        if service is None:
            return None
        ctx.service = service
        index = ctx.incident_count(service, m.group("status"), t)
        op = fr.COMPARATORS[m.group("op").lower()]
        return Condition(subject=f"#{index}.count", op=op, value=float(m.group("value"))), m.group("action")
    m = COMPARISON.match(t)
    if not m:
        return None
    subject = _subject(ctx, m.group("subject"), hint)
    if subject is None:
        return None
    op = fr.COMPARATORS[m.group("op").lower()]
    return Condition(subject=subject, op=op, value=float(m.group("value"))), m.group("action")


def _context_service(ctx: Context, hint: str) -> str | None:
    named = fr.services(hint)
    return named[0] if named else ctx.service


def _subject(ctx: Context, text: str, hint: str) -> str | None:
    """``#i`` or ``#i.field`` for what a condition compares; None (and what is missing) otherwise.

    The estate reader decides what the subject is, every word of it; a service's live metric or error
    rate is read from the live metrics, as the older rules did. A subject it does not read is a
    reference to what was just computed ("it", "the result"), or not understood."""
    if (figure := estate_figure(ctx, text)) is not None:
        return figure
    bare = COMPUTED_PREFIX.sub("", text.strip().lower())
    if bare in _RESULT_WORDS or fr.RESULT_PRONOUN.match(bare) or _THE_FIGURE.match(bare):
        if ctx.last_compute is None:
            ctx.missing.append(f"what {text.strip()!r} refers to: nothing is computed before the condition")
            return None
        return f"#{ctx.last_compute}"
    if (computed := ctx.numbers(text)) is not None:  # "if 12 squared is above 140"
        ctx.accounted(text)
        return f"#{computed}"
    live = live_metric(text, _context_service(ctx, hint))
    if live is None and (m := INCIDENT_COUNT_SUBJECT.search(text)) and reads_whole(text, ctx.service):
        named = fr.services(text)
        service = named[0] if named else _context_service(ctx, hint)
        ctx.service = service or ctx.service
        return f"#{ctx.incident_count(service, m.group('status') or m.group('status2'), text)}.count"
    if live is None:
        if asks_service(text):
            ctx.ask_service(text)
            return None
        ctx.missing.append(
            f"what {text.strip()!r} is: MAOO can compare an error rate, latency, error or request counts, "
            "an incident count or a computed result"
        )
        return None
    service, window, field = live
    ctx.service = service
    window = fr.window(text) or ctx.window_or_default(window)
    if field == "error_rate":
        return f"#{ctx.error_rate(service, window, text, None)}"
    return f"#{ctx.metrics(service, window, text, None)}.{field}"


def _known(name: str | None) -> str | None:
    return name.lower() if name and name.lower() in fr.KNOWN_SERVICES else None


CONDITION_FIRST = Rule(
    "condition_first",
    CONDITION_LEAD,
    condition_first,
    (
        ("if the error rate of search is above 5%, notify ops", ("fetch", "compute", "notify")),
        ("when checkout has open incidents then page the on-call", ("query", "notify")),
        ("if search has open incidents", ()),
    ),
    applies=lambda text, named: bool(CONDITION_LEAD.match(text)),
)
CONDITION_AFTER = Rule(
    "condition_after",
    CONDITION_TRAIL,
    condition_after,
    (("notify the sre team if the p95 of auth exceeds 300 ms", ("fetch", "notify")),),
    applies=lambda text, named: bool(CONDITION_TRAIL.match(text) and not CONDITION_LEAD.match(text)),
)


# "check whether X is at most 2 % and, if so, write ...": the question is the condition of what follows
_IF_SO = re.compile(
    r"\b(?:check|see|find out|tell me|let me know)\s+(?:whether|if)\s+(?P<cond>[^,;]+?)\s*,?\s*(?:and\s*,?\s*)?"
    r"if\s+(?:so|yes|it is|it does)\s*,?\s*(?P<then>[^;]+?)"
    r"(?:\s*[,;]?\s*(?:and\s+)?(?:if\s+not|otherwise|else)\s*,?\s*(?P<else>[^;]+?))?\s*[.?!]?$",
    NOCASE,
)


def if_so(request: str) -> str:
    """``request`` with "check whether X ..., and if so A (if not B)" said as "if X, A, otherwise B"."""
    m = _IF_SO.search(request)
    if m is None:
        return request
    said = f"if {m.group('cond')}, {m.group('then')}"
    if m.group("else"):
        said += f"; otherwise {m.group('else')}"
    return request[: m.start()] + said


# "checkout p95 over 1000? notify oncall", "search error rate above 5% => notify ops", "is it above 5 %?
# if yes, notify ops": a comparison, then an action joined by "?", an arrow or "if yes": the action is
# what to do when the comparison holds, never an unconditional write
_IMPLIED = re.compile(
    r"^(?P<cond>[^?;]*?(?:"
    + COMPARATOR
    + r")\s*-?\d[^?;]*?)\s*(?:\?\s*(?:if\s+(?:yes|so)\s*,?\s*)?|->|=>|→)\s*"
    r"(?P<then>(?:then\s+)?(?:please\s+)?(?:notify|alert|page|ping|tell|message|open|create|raise|file|write|save|"
    r"post|send)\b.+)$",
    NOCASE,
)
_QUESTION_LEAD = re.compile(r"^(?:is|are|was|were|does|do|did|has|have)\s+", NOCASE)


def implied_condition(request: str) -> str:
    """``request`` with a comparison followed by an action ("X above N? A", "X > N -> A") said as "if X
    above N, A"."""
    m = _IMPLIED.match(request.strip())
    if m is None or CONDITION_LEAD.match(m.group("cond")):
        return request
    return f"if {_QUESTION_LEAD.sub('', m.group('cond').strip())}, {m.group('then')}"
