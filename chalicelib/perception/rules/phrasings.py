"""Arithmetic said as a whole phrase: powers, roots, factorials, percent changes, the larger of two,
unit conversions and rounding ("3 to the 4th", "7!", "decrease 90 by 20 %", "how many minutes is 5400
seconds", "round 10 / 3 to two places").

Each form is one pattern over the clause (numbers already in digits) and the ``calc`` expression it
makes; a clause that is not exactly one form is left to the arithmetic grammar. The whole clause must
match, so no word of it is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from chalicelib.perception.arithmetic import numbers_to_digits, to_expression
from chalicelib.perception.fragments import NOCASE

_N = r"(-?\d+(?:\.\d+)?)"
_LEAD = re.compile(
    r"^(?:(?:what|how much)\s+(?:is|are|'s)\s+|what's\s+|calculate\s+|compute\s+|work out\s+|give me\s+|"
    r"tell me\s+|find\s+|get\s+|express\s+|give\s+)?(?:the\s+)?",
    NOCASE,
)
_TAIL = re.compile(r"\s*,?\s*\b(?:please|pls|plz|thanks|thx|ty)\s*[?.!]?$", NOCASE)
_SECONDS = {
    "ms": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "day": 86400,
    "days": 86400,
    "week": 604800,
    "weeks": 604800,
}
_UNIT = r"(" + "|".join(sorted(_SECONDS, key=len, reverse=True)) + r")"
_MAX_FACTORIAL = 20
_PARTS = {"half": 2, "third": 3, "quarter": 4, "fourth": 4, "fifth": 5, "sixth": 6, "tenth": 10}
_PART = r"(" + "|".join(_PARTS) + r")"


_FACTORIAL_MARK = re.compile(r"(\d)\s*!(?=\s|$|[?.,])")


def spell_factorials(text: str) -> str:
    """ "7!" as "7 factorial": an exclamation mark after a number is not the end of a sentence."""
    return _FACTORIAL_MARK.sub(r"\1 factorial", text)


def _convert(amount: str, source: str, target: str) -> str:
    factor = _SECONDS[source.lower()] / _SECONDS[target.lower()]
    return f"{amount} * {factor:g}" if factor >= 1 else f"{amount} / {1 / factor:g}"


def _factorial(n: str) -> str | None:
    value = float(n)
    if not value.is_integer() or not 0 <= value <= _MAX_FACTORIAL:
        return None
    return " * ".join(str(k) for k in range(1, int(value) + 1)) or "1" if value > 1 else "1"


_LIST = r"-?\d+(?:\.\d+)?(?:(?:\s*,\s*|\s+)(?:and\s+)?-?\d+(?:\.\d+)?)+"


def _of_list(kind: str, numbers: str) -> str:
    """ "the average of 10 20 and 30": the numbers however they are separated, combined."""
    values = re.findall(r"-?\d+(?:\.\d+)?", numbers)
    kind = kind.lower()
    if kind in ("average", "mean"):
        return f"({' + '.join(values)}) / {len(values)}"
    if kind == "product":
        return " * ".join(values)
    return " + ".join(values)


def _round(expression: str, places: str) -> str | None:
    inner = to_expression(expression) or (expression if re.fullmatch(_N, expression.strip()) else None)
    if inner is None or not places.isdigit():
        return None
    return f"round({inner}, {places})"


def _convert_to(target: str, amount: str, source: str) -> str:
    return _convert(amount, source, target)


_CONVERT_TO = _convert_to
_FORMS: tuple[tuple[re.Pattern[str], Callable[..., str | None]], ...] = tuple(
    (re.compile(pattern + r"\s*[?.!]?$", NOCASE), build)
    for pattern, build in (
        (_N + r"\s+to\s+the\s+(\d+)(?:st|nd|rd|th)?(?:\s+power)?", lambda a, b: f"{a} ** {b}"),
        (_N + r"\s+(?:raised\s+)?to\s+the\s+power\s+of\s+" + _N, lambda a, b: f"{a} ** {b}"),
        (r"(?:square\s+root|sqrt)\s+of\s+" + _N, lambda a: f"{a} ** 0.5"),
        (r"cube\s+root\s+of\s+" + _N, lambda a: f"{a} ** (1 / 3)"),
        (_N + r"\s*!", _factorial),
        (_N + r"\s+factorial", _factorial),
        (r"factorial\s+of\s+" + _N, _factorial),
        (r"increase\s+" + _N + r"\s+by\s+" + _N + r"\s*(?:%|percent)", lambda a, p: f"{a} * (1 + {p} / 100)"),
        (r"decrease\s+" + _N + r"\s+by\s+" + _N + r"\s*(?:%|percent)", lambda a, p: f"{a} * (1 - {p} / 100)"),
        (_N + r"\s+increased\s+by\s+" + _N + r"\s*(?:%|percent)", lambda a, p: f"{a} * (1 + {p} / 100)"),
        (_N + r"\s+decreased\s+by\s+" + _N + r"\s*(?:%|percent)", lambda a, p: f"{a} * (1 - {p} / 100)"),
        (
            r"(?:percent(?:age)?|%)\s+change\s+from\s+" + _N + r"\s+to\s+" + _N,
            lambda a, b: f"({b} - {a}) / {a} * 100",
        ),
        (
            r"(?:larger|bigger|greater|higher|max|maximum)\s+of\s+" + _N + r"\s+and\s+" + _N,
            lambda a, b: f"max({a}, {b})",
        ),
        (
            r"(?:smaller|lower|lesser|min|minimum)\s+of\s+" + _N + r"\s+and\s+" + _N,
            lambda a, b: f"min({a}, {b})",
        ),
        (
            r"how\s+many\s+" + _UNIT + r"\s+(?:is|are|in|are\s+in|are\s+there\s+in)\s+" + _N + r"\s*" + _UNIT,
            _CONVERT_TO,
        ),
        (r"(?:convert\s+)?" + _N + r"\s*" + _UNIT + r"\s+(?:in|to|into|as)\s+" + _UNIT, _convert),
        (_N + r"\s+as\s+a\s+percent(?:age)?", lambda a: f"{a} * 100"),
        (_N + r"\s+split\s+" + _N + r"\s+ways", lambda a, b: f"{a} / {b}"),
        (r"divide\s+" + _N + r"\s+(?:among|between|across|into)\s+" + _N, lambda a, b: f"{a} / {b}"),
        (_N + r"\s+to\s+the\s+power\s+" + _N, lambda a, b: f"{a} ** {b}"),
        (r"square\s+of\s+" + _N, lambda a: f"{a} ** 2"),
        (r"cube\s+of\s+" + _N, lambda a: f"{a} ** 3"),
        (r"(average|mean|sum|total|product)\s+of\s+(" + _LIST + r")", _of_list),
        (r"(sum|add\s+up|total)\s+(" + _LIST + r")", _of_list),
        (
            _N + r"\s+out\s+of\s+" + _N + r"\s+(?:as\s+a\s+|in\s+)?(?:percent(?:age)?|%)",
            lambda a, b: f"{a} / {b} * 100",
        ),
        (_N + r"\s+is\s+what\s+(?:percent(?:age)?|%)\s+of\s+" + _N, lambda a, b: f"{a} / {b} * 100"),
        (
            r"what\s+(?:percent(?:age)?|%)\s+(?:of\s+" + _N + r"\s+is\s+" + _N + r")",
            lambda b, a: f"{a} / {b} * 100",
        ),
        (
            r"increase\s+" + _N + r"\s+by\s+(?:a|one)\s+" + _PART,
            lambda a, part: f"{a} * (1 + 1 / {_PARTS[part.lower()]})",
        ),
        (
            r"decrease\s+" + _N + r"\s+by\s+(?:a|one)\s+" + _PART,
            lambda a, part: f"{a} * (1 - 1 / {_PARTS[part.lower()]})",
        ),
        (_N + r"\s*(?:%|percent)\s+off\s+" + _N, lambda p, a: f"{a} * (1 - {p} / 100)"),
        (_N + r"\s+(?:minus|less)\s+" + _N + r"\s*(?:%|percent)", lambda a, p: f"{a} * (1 - {p} / 100)"),
        (_N + r"\s+plus\s+" + _N + r"\s*(?:%|percent)", lambda a, p: f"{a} * (1 + {p} / 100)"),
        (r"round\s+" + _N, lambda a: f"round({a})"),
        (_N + r",?\s+rounded", lambda a: f"round({a})"),
        (r"(?:1|a|one)\s+" + _PART + r"\s+of\s+" + _N, lambda part, a: f"{a} / {_PARTS[part.lower()]}"),
        (_N + r"\s*(?:%|percent)\s+more\s+than\s+" + _N, lambda p, a: f"{a} * (1 + {p} / 100)"),
        (_N + r"\s*(?:%|percent)\s+less\s+than\s+" + _N, lambda p, a: f"{a} * (1 - {p} / 100)"),
        (_N + r"\s+more\s+than\s+" + _N, lambda a, b: f"{b} + {a}"),
        (_N + r"\s+less\s+than\s+" + _N, lambda a, b: f"{b} - {a}"),
        (r"round\s+(.+?)\s+to\s+(\d+)\s+(?:decimal\s+)?(?:places?|decimals?|dp|digits?)", _round),
        (r"(.+?),?\s+rounded\s+to\s+(\d+)\s+(?:decimal\s+)?(?:places?|decimals?|dp|digits?)", _round),
        (r"round\s+(.+?)\s+to\s+(?:a|the\s+nearest)\s+whole\s+number", lambda e: _round(e, "0")),
        (r"(.+?),?\s+(?:rounded\s+)?to\s+(?:a|the\s+nearest)\s+whole\s+number", lambda e: _round(e, "0")),
        (
            _N + r"\s+(?:per|a|an|every)\s+" + _UNIT + r"\s+(?:for|over|during|in)\s+" + _N + r"\s*" + _UNIT,
            lambda rate, per, amount, unit: f"{rate} * {_convert(amount, unit, per)}",
        ),
    )
)


def phrase_expression(text: str) -> tuple[str, str | None] | None:
    """The ``calc`` expression of a clause that is exactly one whole-phrase form, and the unit its value is
    in when the form converts one ("minutes"); None when the clause is no such form."""
    t = _TAIL.sub("", _LEAD.sub("", numbers_to_digits(text).strip()))
    for pattern, build in _FORMS:
        match = pattern.match(t)
        if match and (expression := build(*match.groups())) is not None:
            unit = (
                match.groups()[0]
                if build is _CONVERT_TO
                else (match.groups()[-1] if build is _convert else None)
            )
            return expression, unit
    return None
