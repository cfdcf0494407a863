"""One rule of perception's table: a name, the pattern it looks for, its builder, its examples."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.contracts import Condition
    from chalicelib.perception.rules.context import Context

# (what the clauses before left, the clause, the services it names, the window it names, the
# condition that governs it) -> did the rule read the clause (into sub-tasks, or into what is missing)?
Builder = Callable[["Context", str, list[str], "str | None", "Condition | None"], bool]
Examples = tuple[
    tuple[str, tuple[str, ...]], ...
]  # (clause, the sub-task kinds it reads into; () = asks for more)


@dataclass(frozen=True)
class Rule:
    """A kind of phrasing and how to read it.

    ``pattern`` is what the rule looks for in a clause; ``applies``, when given, is the rule's own
    test over its patterns and the services the clause names (for a rule one pattern cannot
    decide alone). ``name`` shows in the perceived state (``readings``) for every clause the rule
    reads; ``examples`` are read by ``tests/unit/test_rule_table.py`` and must come out as said.
    """

    name: str
    pattern: re.Pattern[str]
    build: Builder
    examples: Examples
    applies: Callable[[str, list[str]], bool] | None = None
    free_text: bool = False  # the clause carries a message or a title: the words after it are not read
    refuses: bool = (
        False  # the rule reads a clause as something MAOO will not do (its examples end unsupported)
    )

    def matches(self, text: str, named: list[str]) -> bool:
        if self.applies is not None:
            return self.applies(text, named)
        return bool(self.pattern.search(text))
