"""Arithmetic asked in words or in symbols -> an expression the ``calc`` tool accepts.

"two plus two" -> ``2 + 2``; "15% of 80" -> ``(15 / 100 * 80)``; "the average of 10, 20 and 30"
-> ``((10 + 20 + 30) / 3)``; "divide 144 by 12" -> ``(144 / 12)``.

An operand may also name an earlier result: ``@errors``, ``@requests``, ``@p50_ms``, ``@p95_ms``
(fields of a service's metrics) and ``@result`` (the previous computation). Perception decides
which step each one refers to; the planner turns them into ``{{sN...}}`` references.

The result is checked with ``ast`` against the same kinds of node ``calc`` allows, so an
expression perception produces is one ``calc`` can evaluate (never Python ``eval``).
"""

from __future__ import annotations

import ast
import re

from chalicelib.perception.arithmetic_grammar import parse

REFS = ("@errors", "@requests", "@p50_ms", "@p95_ms", "@result")
FUNCTIONS = ("sqrt", "max", "min", "round", "abs")

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_NUMBER_WORDS = set(_UNITS) | set(_TENS) | set(_SCALES)

_I = re.IGNORECASE
_LEAD = re.compile(
    r"^(?:(?:please|now|then|and|also)\s+)*(?:calculate|compute|evaluate|work out|figure out|determine|solve|find|tell me|give me|"
    r"what(?:'s| is| are| does| do)|whats|how much (?:is|are|does|do)|how much)\b\s*:?\s*", _I)
_TRAIL = re.compile(r"\s*(?:\bcome to|\bmake|\bgive|\bequal|\bequals|\bis|=|\?|\.|!)*\s*$", _I)
_PREFIX = re.compile(r"^(?:the\s+)?(?:result|value|answer)\s+(?:of|to)\s+", _I)
_OPERANDS = (
    (re.compile(r"\b(?:the\s+)?(?:number of errors|error count|errors)\b", _I), "@errors"),
    (re.compile(r"\b(?:the\s+)?(?:number of requests|request count|total requests|requests|traffic)\b", _I), "@requests"),
    (re.compile(r"\b(?:the\s+)?(?:p95|95th percentile)(?:\s+latency)?\b|\b(?:the\s+)?latency\b", _I), "@p95_ms"),
    (re.compile(r"\b(?:the\s+)?(?:p50|median)(?:\s+latency)?\b", _I), "@p50_ms"),
    (re.compile(r"\b(?:the\s+)?(?:previous\s+|last\s+)?(?:result|answer|value|outcome)\b|\bit\b|\bthat\b", _I), "@result"),
)


def numbers_to_digits(text: str) -> str:
    """Number words as digits: "twenty-one plus three point five" -> "21 plus 3.5"."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    tokens = re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*|\d+(?:\.\d+)?|\S|\s+", text)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        run_end, value = _number_run(tokens, i) if not tokens[i].isspace() else (i, 0.0)
        if run_end > i:
            out.append(_format(value))
            i = run_end
        else:
            out.append(tokens[i])
            i += 1
    return "".join(out)


def _words(token: str) -> list[str]:
    return token.lower().split("-")


def _is_number_token(tokens: list[str], i: int) -> bool:
    token = tokens[i]
    if all(part in _NUMBER_WORDS for part in _words(token)):
        return True
    # "a hundred", "a thousand"
    return token.lower() == "a" and i + 2 < len(tokens) and tokens[i + 2].lower() in _SCALES


def _number_run(tokens: list[str], start: int) -> tuple[int, float]:
    """(end index, value) of the number words starting at ``start``; end == start when none."""
    total, current, i, seen = 0.0, 0.0, start, False
    last_word = start
    while i < len(tokens):
        token = tokens[i]
        if token.isspace():
            i += 1
            continue
        if not _is_number_token(tokens, i):
            if token.lower() == "point" and seen:
                digits, j = _decimal_digits(tokens, i + 1)
                if digits:
                    current += float("0." + digits)
                    last_word = j - 1
                    i = j
                    break
            break
        for part in _words(token):
            if part == "a":
                current = current or 1
            elif part in _UNITS:
                current += _UNITS[part]
            elif part in _TENS:
                current += _TENS[part]
            elif part == "hundred":
                current = (current or 1) * 100
            else:
                total += (current or 1) * _SCALES[part]
                current = 0
        seen = True
        last_word = i
        i += 1
    if not seen:
        return start, 0.0
    return last_word + 1, total + current


def _decimal_digits(tokens: list[str], start: int) -> tuple[str, int]:
    """The digits spelled after "point", and the index just past the last of them."""
    digits, i, end = "", start, start
    while i < len(tokens):
        token = tokens[i].lower()
        if token.isspace():
            i += 1
            continue
        if token in _UNITS and _UNITS[token] < 10:
            digits += str(_UNITS[token])
            i += 1
            end = i
            continue
        break
    return digits, end


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


# ---------------------------------------------------------------- words -> expression

_LIST_SPLIT = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+", _I)
_T = r"(?:the\s+)?"


def _items(text: str) -> list[str] | None:
    parts = [p for p in _LIST_SPLIT.split(text.strip()) if p.strip()]
    converted = [_convert(p) for p in parts]
    if len(converted) < 2 or any(c is None for c in converted):
        return None
    return converted  # type: ignore[return-value]


def _binary(template: str):
    def build(m: re.Match) -> str | None:
        a, b = _convert(m.group("a")), _convert(m.group("b"))
        if a is None or b is None:
            return None
        return template.format(a=a, b=b)
    return build


def _listed(kind: str):
    def build(m: re.Match) -> str | None:
        items = _items(m.group("list"))
        if items is None:
            return None
        if kind == "sum":
            return "(" + " + ".join(items) + ")"
        if kind == "product":
            return "(" + " * ".join(items) + ")"
        if kind == "average":
            return "((" + " + ".join(items) + f") / {len(items)})"
        return f"{kind}(" + ", ".join(items) + ")"
    return build


def _unary(template: str):
    def build(m: re.Match) -> str | None:
        a = _convert(m.group("a"))
        return None if a is None else template.format(a=a)
    return build


_FORMS = tuple((re.compile(pattern, _I), builder) for pattern, builder in (
    (_T + r"(?:sum|total)\s+of\s+(?P<list>.+)", _listed("sum")),
    (r"add\s+(?P<a>.+?)\s+to\s+(?P<b>.+)", _binary("({b} + {a})")),
    (r"add\s+(?:up\s+)?(?:together\s+)?(?P<list>.+)", _listed("sum")),
    (_T + r"product\s+of\s+(?P<list>.+)", _listed("product")),
    (r"multiply\s+(?P<a>.+?)\s+(?:by|and|with|times)\s+(?P<b>.+)", _binary("({a} * {b})")),
    (r"divide\s+(?P<a>.+?)\s+(?:by|over)\s+(?P<b>.+)", _binary("({a} / {b})")),
    (r"subtract\s+(?P<a>.+?)\s+from\s+(?P<b>.+)", _binary("({b} - {a})")),
    (r"take\s+(?P<a>.+?)\s+(?:away\s+)?from\s+(?P<b>.+)", _binary("({b} - {a})")),
    (_T + r"difference\s+between\s+(?P<a>.+?)\s+and\s+(?P<b>.+)", _binary("({a} - {b})")),
    (_T + r"(?:average|mean)\s+of\s+(?P<list>.+)", _listed("average")),
    (r"average\s+(?P<list>.+)", _listed("average")),
    (_T + r"(?:max|maximum|largest|biggest|highest|greatest)\s+(?:value\s+)?of\s+(?P<list>.+)", _listed("max")),
    (_T + r"(?:min|minimum|smallest|lowest|least)\s+(?:value\s+)?of\s+(?P<list>.+)", _listed("min")),
    (_T + r"square\s+root\s+of\s+(?P<a>.+)", _unary("sqrt({a})")),
    (r"(?:what\s+)?percent(?:age)?\s+of\s+(?P<b>.+?)\s+(?:is|are)\s+(?P<a>.+)", _binary("({a} / {b} * 100)")),
    (r"(?:what\s+)?percent(?:age)?\s+(?:is|are)\s+(?P<a>.+?)\s+of\s+(?P<b>.+)", _binary("({a} / {b} * 100)")),
    (r"(?P<a>.+?)\s+as\s+a\s+percent(?:age)?\s+of\s+(?P<b>.+)", _binary("({a} / {b} * 100)")),
    (r"(?P<a>.+?)\s*(?:%|percent|per cent)\s+of\s+(?P<b>.+)", _binary("({a} / 100 * {b})")),
    (r"(?P<a>.+?)\s+(?:increased|raised|grown)\s+by\s+(?P<b>.+?)\s*(?:%|percent|per cent)", _binary("({a} * (1 + {b} / 100))")),
    (r"(?P<a>.+?)\s+(?:decreased|reduced|lowered|cut)\s+by\s+(?P<b>.+?)\s*(?:%|percent|per cent)", _binary("({a} * (1 - {b} / 100))")),
    (_T + r"quotient\s+of\s+(?P<a>.+?)\s+(?:and|by)\s+(?P<b>.+)", _binary("({a} / {b})")),
    (_T + r"ratio\s+of\s+(?P<a>.+?)\s+(?:to|and)\s+(?P<b>.+)", _binary("({a} / {b})")),
    (_T + r"(?:remainder|modulo|modulus)\s+(?:of\s+)?(?P<a>.+?)\s+(?:divided\s+by|by|and)\s+(?P<b>.+)", _binary("({a} % {b})")),
    (r"(?P<a>.+?)\s+squared", _unary("({a} ** 2)")),
    (r"(?P<a>.+?)\s+cubed", _unary("({a} ** 3)")),
    (r"(?P<a>.+?)\s+(?:to\s+the\s+power\s+of|raised\s+to(?:\s+the\s+power\s+of)?|to\s+the)\s+(?P<b>.+?)(?:\s*(?:st|nd|rd|th)\s+power)?", _binary("({a} ** {b})")),
))
_INFIX = tuple((re.compile(pattern, _I), symbol) for pattern, symbol in (
    (r"\s+plus\s+", " + "),
    (r"\s+minus\s+", " - "),
    (r"\s+(?:times|multiplied\s+by|x)\s+", " * "),
    (r"\s+divided\s+by\s+", " / "),
    (r"\s+(?:mod|modulo)\s+", " % "),
    (r"×", " * "),
    (r"÷", " / "),
    (r"\^", " ** "),
))


def _convert(text: str) -> str | None:
    text = text.strip().strip(",")
    text = re.sub(r"^the\s+(?=\d|@)", "", text, flags=_I)
    if not text:
        return None
    for pattern, build in _FORMS:
        m = pattern.fullmatch(text)
        if m:
            built = build(m)
            if built is not None:
                return built
    out = f" {text} "
    for pattern, symbol in _INFIX:
        out = pattern.sub(symbol, out)
    out = re.sub(r"(?<=\d)\s*x\s*(?=\d)", " * ", out)
    out = re.sub(r"\s+", " ", out).strip()
    return out if _valid(out) else None


_ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Call, ast.Name, ast.Load,
                  ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.UAdd, ast.USub)


def _valid(expression: str) -> bool:
    probe = expression
    for ref in REFS:
        probe = probe.replace(ref, "1")
    if "@" in probe or not re.search(r"\d", probe):
        return False
    try:
        tree = ast.parse(probe, mode="eval")
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            return False
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, (int, float))):
            return False
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            return False
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            return False
    return True


def _has_operation(expression: str) -> bool:
    return bool(re.search(r"[-+*/%]|\b(?:" + "|".join(FUNCTIONS) + r")\(", expression))


def to_expression(text: str) -> str | None:
    """The arithmetic a clause asks for as a ``calc`` expression (maybe with ``@refs``), or ``None``.

    A lone operand ("compute it", "what is 42") is not arithmetic: there is nothing to compute.
    """
    t = numbers_to_digits(text).strip()
    t = _LEAD.sub("", t, count=1)
    t = _PREFIX.sub("", t)
    t = _TRAIL.sub("", t).strip()
    if not t:
        return None
    for pattern, token in _OPERANDS:
        t = pattern.sub(token, t)
    expression = parse(t) or _convert(t)
    if expression is None or not _valid(expression) or not _has_operation(expression):
        return None
    if expression.startswith("(") and expression.endswith(")") and _valid(expression[1:-1]) and _balanced_outer(expression):
        expression = expression[1:-1]
    return expression


def _balanced_outer(expression: str) -> bool:
    """True when the first "(" closes at the very end, so the outer pair can be dropped."""
    depth = 0
    for i, ch in enumerate(expression):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(expression) - 1:
            return False
    return True


def refs_in(expression: str) -> list[str]:
    """The ``@refs`` an expression uses, in order of first use."""
    return list(dict.fromkeys(re.findall(r"@\w+", expression)))
