"""Every rule of the perception table reads its own examples, and says so in the perceived state."""

from __future__ import annotations

import pytest

from chalicelib.perception.request_reader import perceive
from chalicelib.perception.rules import RULES

EXAMPLES = [(rule.name, clause, kinds) for rule in RULES for clause, kinds in rule.examples]


@pytest.mark.parametrize(("rule", "clause", "kinds"), EXAMPLES, ids=[f"{r}:{c}" for r, c, _ in EXAMPLES])
def test_each_rule_reads_its_examples(rule: str, clause: str, kinds: tuple[str, ...]) -> None:
    perception = perceive(clause)
    readings = [r for r in perception.readings if r.reading != "constraint"]
    assert readings and readings[-1].rule.startswith(rule), [(r.rule, r.reading) for r in readings]
    if kinds:
        assert tuple(t.kind for t in perception.subtasks) == kinds
        assert perception.task_type in ("single", "multi_step", "conditional")
    else:
        assert perception.task_type == "ambiguous" and perception.missing


def test_rule_names_are_unique_and_every_rule_has_an_example() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert all(rule.examples for rule in RULES)
