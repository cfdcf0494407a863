"""Arithmetic: ``calc`` evaluates numbers and operators, and nothing that reaches Python itself.

Each escape attempt must come back as a ``policy_denied`` failure naming its rule (or
``bad_args`` when the text is not an expression at all), and cost only a few cheap steps: the
expressions that would otherwise build astronomically large numbers are refused, not computed.
"""

from __future__ import annotations

import math
import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.tools import calc
from chalicelib.tools.base import ToolFailure
from tests.security.conftest import assert_denied, call_tool

CALC_CORPUS: list[tuple[str, str]] = [
    ("__import__('os').system('id')", "calc.ast_allowlist"),
    ("().__class__.__mro__[1].__subclasses__()", "calc.ast_allowlist"),
    ("(1).__class__", "calc.ast_allowlist"),
    ("eval('1')", "calc.ast_allowlist"),
    ("\uff45\uff56\uff41\uff4c('1')", "calc.ast_allowlist"),
    ("open('/etc/passwd')", "calc.ast_allowlist"),
    ("sqrt.__globals__", "calc.ast_allowlist"),
    ("abs", "calc.ast_allowlist"),
    ("max(*[1, 2])", "calc.ast_allowlist"),
    ("round(2.5, ndigits=1)", "calc.ast_allowlist"),
    ("[x for x in (1, 2)]", "calc.ast_allowlist"),
    ("{1: 2}", "calc.ast_allowlist"),
    ("(lambda: 1)()", "calc.ast_allowlist"),
    ("'a' * 10", "calc.ast_allowlist"),
    ("f'{1}'", "calc.ast_allowlist"),
    ("b'x'", "calc.ast_allowlist"),
    ("True + 1", "calc.ast_allowlist"),
    ("1j * 1j", "calc.ast_allowlist"),
    ("1 if 1 else 2", "calc.ast_allowlist"),
    ("1 < 2", "calc.ast_allowlist"),
    ("1 << 100000000", "calc.ast_allowlist"),
    ("~1", "calc.ast_allowlist"),
    ("x", "calc.ast_allowlist"),
    ("9**9**9", "calc.exponent_limit"),
    ("9^9^9", "calc.exponent_limit"),
    ("2 ** 100", "calc.exponent_limit"),
    ("2 ** -65", "calc.exponent_limit"),
    ("10**64 * 10**64", "calc.result_limit"),
    ("(10**50) * (10**50) * (10**50)", "calc.result_limit"),
    ("99999999999 " + "* 99999999999 " * 30, "calc.result_limit"),
    ("9" * 200, "calc.result_limit"),
    ("1e999", "calc.result_limit"),
    ("1e300 * 1e300", "calc.result_limit"),
    ("(10**60) ** 2", "calc.result_limit"),
    ("max(" + "1," * 240 + "1)", "calc.complexity_limit"),
    ("-" * 300 + "1", "calc.complexity_limit"),
    ("a := 1", "bad_args"),
    ("1; import os", "bad_args"),
    ("import os", "bad_args"),
    ("(" * 300 + "1" + ")" * 150, "bad_args"),
]


def test_corpus_is_large_enough():
    assert len(CALC_CORPUS) >= 20 and len({e for e, _ in CALC_CORPUS}) == len(CALC_CORPUS)


@pytest.mark.parametrize(
    ("expression", "expected"), CALC_CORPUS, ids=[f"{i:02d}" for i in range(len(CALC_CORPUS))]
)
def test_escape_attempt_is_refused(expression, expected):
    result = call_tool("calc", {"expression": expression})

    if expected == "bad_args":
        assert not result.ok and result.error.kind == "bad_args"
    else:
        assert_denied(result, expected)


def test_longer_than_the_limit_is_refused_by_the_schema():
    result = call_tool("calc", {"expression": "1+" * 300 + "1"})

    assert not result.ok and result.error.kind == "bad_args"
    assert result.error.details["fields"][0]["field"] == "expression"


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 + 2", 4),
        ("(240 / 12000) * 100", 2),
        ("2 ^ 10", 1024),
        ("-2 ** 2", -4),
        ("round(2.567, 2)", 2.57),
        ("max(3, 7, 5)", 7),
        ("sqrt(16) + abs(-2)", 6),
        ("2 ** 64", 2**64),
        ("10 ** 50 * 10 ** 50", 10**100),
        ("12 × 3 ÷ 4", 9),
        ("floor(pi)", 3),
    ],
)
def test_ordinary_arithmetic_still_works(expression, value):
    assert calc.evaluate(expression) == value


@pytest.mark.parametrize(
    "expression", ["1 / 0", "sqrt(-1)", "log(0)", "(-8) ** 0.5", "round(1, 10 ** 9)", "min()"]
)
def test_arithmetic_without_a_real_answer_is_invalid_input(expression):
    with pytest.raises(ToolFailure) as failure:
        calc.evaluate(expression)
    assert failure.value.kind == "invalid_input"


# ---------------------------------------------------------------- properties

_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _combine(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(children, st.sampled_from(sorted(_OPS)), children).map(
        lambda t: (f"({t[0][0]} {t[1]} {t[2][0]})", _OPS[t[1]](t[0][1], t[2][1]))
    )


_small_int = st.integers(-1000, 1000).map(lambda n: (f"({n})", n))


@settings(max_examples=300, deadline=None)
@given(pair=st.recursive(_small_int, _combine, max_leaves=8))
def test_property_integer_arithmetic_matches_python_operators(pair):
    text, expected = pair
    assert calc.evaluate(text) == expected


_tokens = st.sampled_from(
    [
        "1",
        "9",
        "0",
        "64",
        "1e308",
        ".5",
        "+",
        "-",
        "*",
        "/",
        "//",
        "%",
        "**",
        "^",
        "(",
        ")",
        ",",
        " ",
        "pi",
        "e",
        "sqrt",
        "round",
        "max",
        "log",
        "__",
        "import",
        "os",
        ".",
        "'",
        "[",
        "]",
        "lambda",
        ":",
        "=",
        "x",
        "j",
    ]
)


@settings(max_examples=600, deadline=None)
@given(text=st.lists(_tokens, min_size=1, max_size=30).map("".join))
def test_property_any_text_gives_a_bounded_real_number_or_a_named_failure(text):
    try:
        value = calc.evaluate(text)
    except ToolFailure as failure:
        assert failure.kind in {"policy_denied", "bad_args", "invalid_input"}
        if failure.kind == "policy_denied":
            assert failure.details["rule"].startswith("calc.")
        return
    assert isinstance(value, (int, float)) and not isinstance(value, bool)
    assert math.isfinite(value) and abs(value) <= calc.MAX_MAGNITUDE
