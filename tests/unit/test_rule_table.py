"""Every rule of the perception table reads its own examples, and says so in the perceived state;
no regular expression of perception lives outside the table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from chalicelib import catalogue
from chalicelib.perception import fragments
from chalicelib.perception.request_reader import perceive
from chalicelib.perception.rules import RULES
from chalicelib.perception.rules.constraints import CONSTRAINT_RULES

PERCEPTION = Path(fragments.__file__).parent
TABLE = PERCEPTION / "rules"
EXAMPLES = [(rule.name, rule.refuses, clause, kinds) for rule in RULES for clause, kinds in rule.examples]
CONSTRAINT_EXAMPLES = [
    (rule.name, request, sets) for rule in CONSTRAINT_RULES for request, sets in rule.examples
]
_REGEX_CALLS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}


@pytest.mark.parametrize(
    ("rule", "refuses", "clause", "kinds"), EXAMPLES, ids=[f"{r}:{c}" for r, _, c, _ in EXAMPLES]
)
def test_each_rule_reads_its_examples(rule: str, refuses: bool, clause: str, kinds: tuple[str, ...]) -> None:
    perception = perceive(clause)
    readings = [r for r in perception.readings if r.reading != "constraint"]
    assert readings and readings[-1].rule.startswith(rule), [(r.rule, r.reading) for r in readings]
    if refuses:
        assert perception.task_type == "unsupported" and readings[-1].reading == "unsupported"
    elif kinds:
        assert tuple(t.kind for t in perception.subtasks) == kinds
        assert perception.task_type in ("single", "multi_step", "conditional")
    else:
        assert perception.task_type == "ambiguous" and perception.missing


@pytest.mark.parametrize(
    ("rule", "said", "sets"), CONSTRAINT_EXAMPLES, ids=[f"{r}:{q}" for r, q, _ in CONSTRAINT_EXAMPLES]
)
def test_each_constraint_rule_reads_its_examples(rule: str, said: str, sets: dict) -> None:
    perception = perceive(said)
    assert f"constraint.{rule}" in [r.rule for r in perception.readings]
    assert perception.constraints.model_dump(include=set(sets)) == sets
    assert perception.task_type in ("single", "multi_step")  # the rest of the request is still read


def test_rule_names_are_unique_and_every_rule_has_an_example() -> None:
    names = [rule.name for rule in RULES] + [f"constraint.{rule.name}" for rule in CONSTRAINT_RULES]
    assert len(names) == len(set(names))
    assert all(rule.examples for rule in RULES) and all(rule.examples for rule in CONSTRAINT_RULES)


def test_each_rule_owns_its_pattern_and_builder() -> None:
    for rule in RULES:
        assert hasattr(rule.pattern, "search"), rule.name
        assert rule.build.__module__.startswith("chalicelib.perception.rules."), rule.name


def _regex_uses(path: Path) -> list[str]:
    """Where a module imports ``re`` or calls ``re.<function>``: each as ``file:line``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        imports_re = (isinstance(node, ast.Import) and any(a.name == "re" for a in node.names)) or (
            isinstance(node, ast.ImportFrom) and node.module == "re"
        )
        calls_re = (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "re"
            and node.attr in _REGEX_CALLS
        )
        if imports_re or calls_re:
            found.append(f"{path.relative_to(PERCEPTION)}:{node.lineno}")
    return found


def test_no_regular_expression_lives_outside_the_rule_table() -> None:
    # the table is the rules package and its vocabulary (fragments.py); the arithmetic grammar
    # (arithmetic_grammar.py) is a hand-written tokenizer and parser that uses no regex at all; the
    # estate reader's tokenizer (estate.py) and the whole-request check (tractable.py) are not rules; the
    # request language's text (language.py writes it, plan_text.py parses it) is a formal language
    allowed = {
        PERCEPTION / name
        for name in ("fragments.py", "estate.py", "tractable.py", "language.py", "plan_text.py")
    }
    outside = [
        use
        for path in sorted(PERCEPTION.rglob("*.py"))
        if path not in allowed and TABLE not in path.parents
        for use in _regex_uses(path)
    ]
    assert outside == []


def test_the_walk_finds_a_regex_where_there_is_one() -> None:
    assert _regex_uses(PERCEPTION / "fragments.py")  # the check above can fail


# ---------------------------------------------------------------- the table's words are the catalogue's


def _params(perception, kind: str) -> list[dict]:
    return [t.model_dump(mode="json")["params"] for t in perception.subtasks if t.kind == kind]


@pytest.mark.parametrize(("phrase", "op"), sorted(catalogue.COMPARATOR_WORDS.items()))
def test_every_comparator_phrase_of_the_catalogue_reads_as_a_condition(phrase: str, op: str) -> None:
    perception = perceive(f"if the p95 of auth {phrase} 300, notify ops")
    assert perception.task_type == "conditional"
    assert [t.condition.op for t in perception.subtasks if t.condition] == [op]


@pytest.mark.parametrize(("word", "severity"), sorted(catalogue.SEVERITY_WORDS.items()))
def test_every_severity_word_of_the_catalogue_sets_the_incident_severity(word: str, severity: str) -> None:
    perception = perceive(f"open a {word} incident for auth")
    assert [p["severity"] for p in _params(perception, "create")] == [severity]


@pytest.mark.parametrize(
    ("word", "channel"), [(w, c.name) for c in catalogue.CHANNELS for w in dict.fromkeys((c.name, *c.words))]
)
def test_every_channel_word_of_the_catalogue_names_its_channel(word: str, channel: str) -> None:
    perception = perceive(f"notify {word} that the deploy is done")
    assert [p["channel"] for p in _params(perception, "notify")] == [channel]
