"""The arithmetic rules: arithmetic in words or symbols (read by the grammar of
``perception/arithmetic_grammar.py``), arithmetic written as code (passed to calc as written, so
calc's own allowlist judges it), and a request to compute with nothing to compute."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.contracts import Condition, make_subtask
from chalicelib.perception import fragments as fr
from chalicelib.perception.arithmetic import refs_in, to_expression
from chalicelib.perception.fragments import NOCASE
from chalicelib.perception.rules.context import Context
from chalicelib.perception.rules.phrasings import phrase_expression
from chalicelib.perception.rules.rule import Rule

_COMPUTE_VERB = r"(?:calculate|compute|evaluate|work out|figure out|determine|solve)"
COMPUTE_LEAD = re.compile(r"^" + _COMPUTE_VERB + r"\b", NOCASE)
QUESTION_LEAD = re.compile(r"^(?:what is|how much is)\b", NOCASE)
NUMBER_OR_RESULT = re.compile(r"\d|\b(?:it|that|the result)\b", NOCASE)
RAW_EXPRESSION = re.compile(
    r"^(?:calculate|compute|evaluate|eval|solve)\s*:?\s*(?P<expr>.*[()\[\]'\"_=;{}].*)$", NOCASE
)
_PREP = r"(?:\s*\b(?:over|in|for|during|within|across|from|of)\s+(?:the\s+)?)?"
WINDOW_PHRASES = tuple(
    re.compile(_PREP + r"(?:" + pattern.pattern + r")", NOCASE) for pattern, _ in fr.WINDOWS
)
SERVICE_PHRASE = re.compile(
    r"(?:\s*\b(?:of|for|from|in|on|at)\s+(?:the\s+)?)?\b(?:"
    + fr.SERVICE_NAME
    + r")(?:'s)?(?:\s+service)?\b|\b(?:its|their|the service's)\b",
    NOCASE,
)
ANYTHING = re.compile(r"\S")
_TAKE = re.compile(r"^(?:(?:then|now|and)\s+)?take\s+", NOCASE)
# a clause that goes on from the result before it: "100 divided by 8, then divided by 5"
_GOES_ON = re.compile(
    r"^(?:(?:and\s+)?then\s+|and\s+)?(?=(?:divided|multiplied|times|plus|minus|squared|cubed|to the power)\b)",
    NOCASE,
)


def _without_context(text: str) -> str:
    """The clause without its service and window phrases: what is left to read as arithmetic."""
    for pattern in WINDOW_PHRASES:
        text = pattern.sub("", text)
    return fr.SPACES.sub(" ", SERVICE_PHRASE.sub("", text)).strip()


def arithmetic(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    if _TAKE.match(text) and to_expression(text) is None:
        text = _TAKE.sub("", text)  # "take 5! and divide it by 6", "take a quarter of the result"
    phrased = phrase_expression(text)
    unit = phrased[1] if phrased else None
    expression = phrased[0] if phrased else (to_expression(text) or to_expression(_without_context(text)))
    if expression is None and ctx.last_compute is not None and _GOES_ON.match(text):
        expression = to_expression(f"it {_GOES_ON.sub('', text, count=1)}")  # "..., then divided by 5"
    if expression is None:
        return False
    refs: dict[str, list[Any]] = {}
    for ref in refs_in(expression):
        if ref == "@result":
            if ctx.last_compute is None:
                ctx.missing.append(f"which result {text!r} refers to: nothing is computed before it")
                return True
            refs[ref] = [ctx.last_compute, "value"]
            continue
        service = named[0] if named else ctx.service
        if not service:
            ctx.ask_service(text)
            return True
        refs[ref] = [ctx.metrics(service, ctx.window_or_default(window), text, condition), ref[1:]]
    params: dict[str, Any] = {"expression": expression}
    if unit:
        params["unit"] = unit
    if refs:
        params["refs"] = refs
    shown = expression
    for ref, (_index, field) in refs.items():
        shown = shown.replace(ref, field if field != "value" else "the previous result")
    ctx.last_compute = ctx.add(
        make_subtask(kind="compute", text=text, params=params, success_criteria=[f"{shown} computed"]),
        condition,
    )
    return True


def as_written(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    # what looks like code, not words, goes to calc as written: calc's own allowlist refuses it, with its rule
    m = RAW_EXPRESSION.match(text)
    assert m is not None  # the rule's pattern matched
    expression = m.group("expr").strip()
    ctx.last_compute = ctx.add(
        make_subtask(
            kind="compute",
            text=text,
            params={"expression": expression},
            success_criteria=[f"{expression} computed"],
        ),
        condition,
    )
    return True


def nothing_to_compute(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    ctx.missing.append(f"what to compute in {text!r}")
    return True


ARITHMETIC = Rule(
    "arithmetic",
    ANYTHING,  # offered every clause that gets this far: the grammar decides whether it is arithmetic
    arithmetic,
    (
        ("seven times six", ("compute",)),
        ("the average of 2, 4 and 6", ("compute",)),
        ("a third of 27", ("compute",)),
    ),
    applies=lambda text, named: True,
)
ARITHMETIC_AS_WRITTEN = Rule(
    "arithmetic_as_written",
    RAW_EXPRESSION,
    as_written,
    (("calculate max(3, 4)", ("compute",)),),
    applies=lambda text, named: bool(RAW_EXPRESSION.match(text)),
)
COMPUTE_MISSING = Rule(
    "compute_missing",
    COMPUTE_LEAD,
    nothing_to_compute,
    (("calculate it", ()),),
    applies=lambda text, named: bool(
        COMPUTE_LEAD.match(text) or (QUESTION_LEAD.match(text) and NUMBER_OR_RESULT.search(text))
    ),
)
