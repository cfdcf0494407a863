"""Arithmetic asked in words or in symbols -> an expression the ``calc`` tool accepts.

"two plus two" -> ``2 + 2``; "15% of 80" -> ``(15 / 100 * 80)``; "the average of 10, 20 and 30"
-> ``((10 + 20 + 30) / 3)``; "divide 96 by 8" -> ``(96 / 8)``. The words are read by the grammar in
``arithmetic_grammar.py``.

An operand may also name an earlier result: ``@errors``, ``@requests``, ``@p50_ms``, ``@p95_ms``
(fields of a service's metrics) and ``@result`` (the previous computation). Perception decides
which step each one refers to; the planner turns them into ``{{sN...}}`` references.

The result is checked with ``ast`` against the same kinds of node ``calc`` allows, so an
expression perception produces is one ``calc`` can evaluate (never Python ``eval``).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.contracts import ComputeTask, SubTask
from chalicelib.perception import fragments as fr
from chalicelib.perception.arithmetic_grammar import parse

REFS = ("@errors", "@requests", "@p50_ms", "@p95_ms", "@result")
FUNCTIONS = ("sqrt", "max", "min", "round", "abs")

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_NUMBER_WORDS = set(_UNITS) | set(_TENS) | set(_SCALES)


def numbers_to_digits(text: str) -> str:
    """Number words as digits: "twenty-one plus three point five" -> "21 plus 3.5". Quoted text is the
    user's own words, carried as written ("write 'tier one' to tier.txt")."""
    parts = fr.QUOTED.split(text)
    if len(parts) > 1:
        return "".join(part if i % 2 else _numbers_to_digits(part) for i, part in enumerate(parts))
    return _numbers_to_digits(text)


def _numbers_to_digits(text: str) -> str:
    tokens = fr.number_tokens(fr.without_thousands_commas(text))
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
# The grammar itself is ``arithmetic_grammar.py``; this module turns number words into digits,
# names earlier results (``@refs``) and checks the result against what calc allows.


_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Constant,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.UAdd,
    ast.USub,
)


def _valid(expression: str) -> bool:
    probe = expression
    for ref in REFS:
        probe = probe.replace(ref, "1")
    if "@" in probe or not fr.has_digit(probe):
        return False
    try:
        tree = ast.parse(probe, mode="eval")
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            return False
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool) or not isinstance(node.value, (int, float))
        ):
            return False
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            return False
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            return False
    return True


def _has_operation(expression: str) -> bool:
    return fr.has_operation(expression)


def to_expression(text: str) -> str | None:
    """The arithmetic a clause asks for as a ``calc`` expression (maybe with ``@refs``), or ``None``.

    A lone operand ("compute it", "what is 42") is not arithmetic: there is nothing to compute.
    """
    t = numbers_to_digits(text).strip()
    t = fr.arithmetic_body(t)
    if not t:
        return None
    expression = parse(fr.with_operands(t))
    if expression is None or not _valid(expression) or not _has_operation(expression):
        return None
    return readable(expression)


class _Unwrap(ast.NodeTransformer):
    """Drops a unary plus in front of anything but a number or a reference: the grammar's mark for
    "take a third of 90" as the start of a chain, which a reader would not write. "take 100" and "take
    it" keep theirs: a lone operand is a value to go on from, and calc is given an expression, never a
    bare reference."""

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.UAdd) and not isinstance(node.operand, (ast.Constant, ast.Name)):
            return node.operand
        return node


def _ref_name(ref: str) -> str:
    return "_ref_" + ref[1:]


def readable(expression: str, previous: str | None = None) -> str:
    """``expression`` as a person writes the arithmetic: parentheses only where precedence needs them
    ("((90 / 3)) + 7" -> "90 / 3 + 7"), no leading unary plus on a sub-expression. With ``previous``,
    ``@result`` is replaced by that earlier expression, so a chain reads as one sum ("90 / 3 + 7").

    The same arithmetic either way (``ast`` decides where parentheses go); an expression ``ast`` cannot
    read is returned as it was.
    """
    source = expression
    for ref in REFS:
        source = source.replace(ref, _ref_name(ref))
    try:
        tree = ast.parse(source, mode="eval")
        if previous is not None:
            inner = ast.parse(readable(previous).replace("@result", _ref_name("@result")), mode="eval").body
            if isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.UAdd):  # "take 100": the value
                inner = inner.operand
            tree = _Substitute(_ref_name("@result"), inner).visit(tree)
        shown = ast.unparse(_Unwrap().visit(tree))
    except (SyntaxError, ValueError, RecursionError):
        return expression
    for ref in REFS:
        shown = shown.replace(_ref_name(ref), ref)
    return shown


@dataclass
class _Substitute(ast.NodeTransformer):
    """Puts an earlier expression where a name stands for its result."""

    name: str
    value: ast.expr

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return copy.deepcopy(self.value) if node.id == self.name else node


def shown_expressions(subtasks: Sequence[SubTask]) -> list[str]:
    """The arithmetic each computation asks for, as a reader writes it, a chain read as one: for "take a
    third of 90 and add 7", ``["90 / 3", "90 / 3 + 7"]`` (the error rate, a metric, is not arithmetic)."""
    shown: dict[int, str] = {}
    for index, task in enumerate(subtasks):
        if not isinstance(task, ComputeTask) or task.params.expression is None or task.params.metric:
            continue
        ref = task.params.refs.get("@result")
        previous = shown.get(ref[0]) if ref and isinstance(ref[0], int) else None
        shown[index] = readable(task.params.expression, previous)
    return list(shown.values())


def refs_in(expression: str) -> list[str]:
    """The ``@refs`` an expression uses, in order of first use."""
    return list(dict.fromkeys(fr.ref_names(expression)))
