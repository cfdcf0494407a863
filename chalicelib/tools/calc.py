"""``calc``: arithmetic on an AST allowlist. Never Python ``eval``.

The expression is parsed with ``ast`` and walked by hand. Before anything is computed, every node
must be on the allowlist (numbers, ``+ - * / // % **``, unary ``+ -``, the names ``pi`` and
``e``, and calls of the functions in ``_FUNCTIONS`` with positional arguments) and the tree must
be small (``MAX_NODES``). While computing, every intermediate value must stay within
``MAX_MAGNITUDE``, an exponent within ``MAX_EXPONENT`` and ``round``'s digits within
``MAX_ROUND_DIGITS``; since every operand is bounded, no single operation can be expensive, so
``9**9**9``, long factor chains or ``10**64 * 10**64`` are refused after a few cheap steps.

Failures a caller can rely on: ``bad_args`` for text that is not an expression; ``policy_denied``
with rule ``calc.ast_allowlist``, ``calc.complexity_limit``, ``calc.exponent_limit`` or
``calc.result_limit`` for what the policy refuses; ``invalid_input`` for arithmetic that has no
real answer (division by zero, ``sqrt(-1)``).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from pydantic import Field

from chalicelib.tools.base import LambdaSettings, ToolArgs, ToolContext, ToolFailure, ToolSpec

MAX_EXPRESSION_CHARS = 500
MAX_NODES = 200
MAX_EXPONENT = 64
MAX_MAGNITUDE = 1e100
MAX_ROUND_DIGITS = 15

Number = int | float

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Number]] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "floor": math.floor,
    "ceil": math.ceil,
    "log": math.log,
    "log10": math.log10,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_ALLOWED_NODES = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.UnaryOp,
    ast.BinOp,
    ast.Call,
    *_BINARY,
    *_UNARY,
)


class CalcArgs(ToolArgs):
    expression: str = Field(
        min_length=1, max_length=MAX_EXPRESSION_CHARS, description="Arithmetic, e.g. '(240 / 12000) * 100'"
    )


def _deny(rule: str, message: str) -> ToolFailure:
    return ToolFailure("policy_denied", message, details={"rule": rule})


def _refuse(what: str) -> ToolFailure:
    return _deny(
        "calc.ast_allowlist",
        f"calc refuses {what}; allowed: numbers, + - * / // % **, parentheses, "
        f"{', '.join(sorted(_CONSTANTS))}, {', '.join(sorted(_FUNCTIONS))}",
    )


def _check(value: Any) -> Number:
    """``value`` if it is a real number within ``MAX_MAGNITUDE``; else the failure that says why."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ToolFailure("invalid_input", f"calc result {value!r} is not a real number")
    if isinstance(value, float) and math.isnan(value):
        raise ToolFailure("invalid_input", "calc result is not a number")
    if abs(value) > MAX_MAGNITUDE:
        raise _deny("calc.result_limit", f"calc refuses values beyond {MAX_MAGNITUDE:g} in magnitude")
    return value


def _screen(tree: ast.AST) -> None:
    """Refuse a tree with any node off the allowlist, or too many nodes, before computing anything."""
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise _deny("calc.complexity_limit", f"calc refuses expressions of more than {MAX_NODES} parts")
    for node in nodes:
        if not isinstance(node, _ALLOWED_NODES):
            raise _refuse(f"the syntax {type(node).__name__}")
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool) or not isinstance(node.value, (int, float))
        ):
            raise _refuse(f"the constant {node.value!r}")
        if isinstance(node, ast.Name) and node.id not in _CONSTANTS and node.id not in _FUNCTIONS:
            raise _refuse(f"the name {node.id!r}")
        if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords
        ):
            raise _refuse("a call other than a listed function with positional arguments")
        if isinstance(node, ast.Name) and node.id in _FUNCTIONS and not _is_callee(node, nodes):
            raise _refuse(f"the function {node.id!r} used as a value")


def _is_callee(name: ast.Name, nodes: list[ast.AST]) -> bool:
    return any(isinstance(n, ast.Call) and n.func is name for n in nodes)


def _power(left: Number, right: Number) -> Number:
    if abs(right) > MAX_EXPONENT:
        raise _deny("calc.exponent_limit", f"calc refuses exponents beyond {MAX_EXPONENT} in magnitude")
    return left**right


def _call(name: str, args: list[Number]) -> Number:
    if name == "round" and len(args) == 2:
        digits = args[1]
        if not isinstance(digits, int) or abs(digits) > MAX_ROUND_DIGITS:
            raise ToolFailure(
                "invalid_input",
                f"calc's round takes a whole number of digits from -{MAX_ROUND_DIGITS} to {MAX_ROUND_DIGITS}",
            )
    try:
        return _FUNCTIONS[name](*args)
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise ToolFailure("invalid_input", f"calc cannot apply {name}: {exc}") from None


def _eval(node: ast.AST) -> Number:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant):
        return _check(node.value)
    if isinstance(node, ast.Name):
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp):
        return _check(_UNARY[type(node.op)](_eval(node.operand)))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left), _eval(node.right)
        try:
            if isinstance(node.op, ast.Pow):
                return _check(_power(left, right))
            return _check(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise ToolFailure("invalid_input", "calc cannot divide by zero") from None
        except OverflowError:
            raise _deny(
                "calc.result_limit", f"calc refuses values beyond {MAX_MAGNITUDE:g} in magnitude"
            ) from None
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)  # _screen allowed only calls of listed names
        return _check(_call(node.func.id, [_eval(arg) for arg in node.args]))
    raise _refuse(f"the syntax {type(node).__name__}")  # unreachable after _screen; kept as a last line


def evaluate(expression: str) -> Number:
    """Evaluate arithmetic. Raises ``ToolFailure`` naming what was refused (see the module docstring)."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise _deny(
            "calc.complexity_limit", f"calc refuses expressions longer than {MAX_EXPRESSION_CHARS} characters"
        )
    text = expression.replace("×", "*").replace("÷", "/").replace("^", "**").strip()
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ToolFailure(
            "bad_args", f"calc cannot parse {expression!r} as arithmetic", details={"field": "expression"}
        ) from None
    _screen(tree)
    value = _eval(tree)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return value


def run(args: CalcArgs, ctx: ToolContext) -> dict[str, Any]:
    return {"expression": args.expression, "value": evaluate(args.expression)}


SPEC = ToolSpec(
    name="calc",
    description="Evaluate an arithmetic expression safely.",
    args_model=CalcArgs,
    side_effect="read",
    cost=0.5,
    run=run,
    lambda_settings=LambdaSettings(timeout=5, memory_mb=256),
)
