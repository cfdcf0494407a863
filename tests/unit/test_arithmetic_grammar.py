"""The arithmetic grammar, one production at a time: words and symbols -> the calc expression."""

from __future__ import annotations

import pytest

from chalicelib.perception.arithmetic import to_expression
from chalicelib.perception.arithmetic_grammar import parse, rate_problem
from chalicelib.tools.calc import evaluate


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # expr / term / power: precedence and parentheses
        ("17 - 2 * 3", 11),
        ("(17 - 2) * 3", 45),
        ("2 ^ 3 ^ 1", 8),
        ("9 over 3 plus 1", 4),
        ("10 mod 4", 2),
        # postfix: squared, cubed, percent (of)
        ("6 squared", 36),
        ("2 cubed minus 1", 7),
        ("12 percent of 50", 6),
        ("50 %", 0.5),
        # prefix: fractions, double, square root, aggregates
        ("a fifth of 35", 7),
        ("half 18", 9),
        ("twice 8", 16),
        ("the square root of 81", 9),
        ("the maximum of 3, 11 and 7", 11),
        ("the total of 1, 2 and 3", 6),
        ("mean of 1 and 2", 1.5),
        # questions
        ("what share of 30 is 6", 20),
        ("what percent is 3 of 12", 25),
        ("9 as a percentage of 36", 25),
        # verb forms
        ("add 2 to 40", 42),
        ("add 1, 2 and 3", 6),
        ("subtract 3 from 10", 7),
        ("take 4 away from 9", 5),
        ("multiply 6 and 7", 42),
        ("divide 81 by 9", 9),
        ("triple 5", 15),
        ("cube 3", 27),
        # leads and trailers
        ("calculate 3 + 4, please", 7),
        ("how much is 7 times 3", 21),
        ("what's 5 + 5 in percent", 10),
    ],
)
def test_each_production_reads_its_phrase(text: str, value: float) -> None:
    expression = parse(text)
    assert expression is not None, text
    assert evaluate(expression) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("add 5", "@result + 5"),
        ("divide by 4", "@result / 4"),
        ("halve it", "@result / 2"),
        ("multiply the result by 3", "@result * 3"),
        ("square it", "@result ** 2"),
        ("subtract 1", "@result - 1"),
    ],
)
def test_a_continuation_without_its_first_operand_works_on_the_previous_result(
    text: str, expected: str
) -> None:
    assert to_expression(text) == expected


@pytest.mark.parametrize(
    "text", ["restart payments", "add the cake to the oven", "divide the team", "3 apples", "what is it"]
)
def test_words_the_grammar_cannot_place_are_not_arithmetic(text: str) -> None:
    assert to_expression(text) is None


def test_number_words_are_read_as_numbers() -> None:
    assert evaluate(to_expression("what is eighty one divided by nine")) == 9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a queue takes 40 jobs per minute, how many jobs in 3 minutes", "40 * 3"),
        ("each of 4 nodes writes 25 rows every second; how many rows in total", "4 * 25"),
    ],
)
def test_a_two_number_rate_word_problem_is_their_product(text: str, expected: str) -> None:
    assert rate_problem(text) == expected


def test_a_rate_without_a_question_is_not_a_word_problem() -> None:
    assert rate_problem("the queue takes 40 jobs per minute for 3 minutes") is None


@pytest.mark.parametrize(
    ("request_text", "shown"),
    [
        ("take a third of 90 and add 7", ["90 / 3", "90 / 3 + 7"]),
        ("subtract 15 from 4 squared, then halve it", ["4 ** 2 - 15", "(4 ** 2 - 15) / 2"]),
        ("take 100, divide it by 4", ["+100", "100 / 4"]),
        ("what is half of 10 plus 3", ["10 / 2 + 3"]),
        ("calculate (2 + 3) * 4", ["(2 + 3) * 4"]),
        ("what is 2 to the power of 3 squared", ["2 ** 3 ** 2"]),
    ],
)
def test_the_perceived_expression_reads_as_the_arithmetic(request_text: str, shown: list[str]) -> None:
    from chalicelib.perception.request_reader import perceive

    perception = perceive(request_text)
    assert perception.entities["expressions"] == shown
    assert perception.subtasks[0].success_criteria == [f"{shown[0]} computed"]


def test_a_chain_shown_as_one_expression_has_the_value_the_steps_compute() -> None:
    from chalicelib.perception.arithmetic import readable

    first = to_expression("take a third of 90")
    assert first == "90 / 3"
    shown = readable("@result * 2", readable("@result - 4", first))
    assert shown == "(90 / 3 - 4) * 2"
    assert evaluate(shown) == (evaluate(first) - 4) * 2 == 52
    assert to_expression("take it") == "+@result"  # a lone reference stays an expression for calc
