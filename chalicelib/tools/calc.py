"""``calc``: arithmetic on an AST allowlist. Never Python ``eval``."""

from __future__ import annotations

import ast
import math
import operator

from pydantic import Field

from chalicelib.tools.base import ToolArgs, ToolContext, ToolFailure, ToolSpec

MAX_EXPRESSION_CHARS = 500
MAX_EXPONENT = 64
MAX_MAGNITUDE = 1e100

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {
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


class CalcArgs(ToolArgs):
    expression: str = Field(min_length=1, max_length=MAX_EXPRESSION_CHARS, description="Arithmetic, e.g. '(240 / 12000) * 100'")


def _refuse(what: str) -> ToolFailure:
    return ToolFailure("policy_denied", f"calc refuses {what}; allowed: numbers, + - * / // % **, parentheses, {', '.join(sorted(_FUNCTIONS))}", details={"rule": "calc.ast_allowlist"})


def _check(value: float | int) -> float | int:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise ToolFailure("invalid_input", "calc result is not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise ToolFailure("invalid_input", f"calc result exceeds {MAX_MAGNITUDE:g}")
    return value


def _eval(node: ast.AST) -> float | int:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise _refuse(f"the constant {node.value!r}")
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise _refuse(f"the name {node.id!r}")
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(_UNARY[type(node.op)](_eval(node.operand)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise _refuse(f"an exponent above {MAX_EXPONENT}")
        try:
            return _check(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise ToolFailure("invalid_input", "calc cannot divide by zero") from None
        except OverflowError:
            raise ToolFailure("invalid_input", "calc result overflows") from None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords:
        args = [_eval(arg) for arg in node.args]
        try:
            return _check(_FUNCTIONS[node.func.id](*args))
        except (TypeError, ValueError) as exc:
            raise ToolFailure("invalid_input", f"calc cannot apply {node.func.id}: {exc}") from None
    raise _refuse(f"the syntax {type(node).__name__}")


def evaluate(expression: str) -> float | int:
    """Evaluate arithmetic. Raises ``ToolFailure`` naming what was refused."""
    text = expression.replace("×", "*").replace("÷", "/").replace("^", "**").strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ToolFailure("bad_args", f"calc cannot parse {expression!r} as arithmetic", details={"field": "expression"}) from None
    value = _eval(tree)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return value


def run(args: CalcArgs, ctx: ToolContext) -> dict:
    return {"expression": args.expression, "value": evaluate(args.expression)}


SPEC = ToolSpec(
    name="calc",
    description="Evaluate an arithmetic expression safely.",
    args_model=CalcArgs,
    side_effect="read",
    cost=0.5,
    run=run,
)
