"""The clause reader: offers each clause to the rule table (``rules/``), and accounts for it.

Every clause ends in the perceived state's ``readings`` with the rule that read it and what it
became: sub-tasks, a condition, something missing, not understood, or unsupported. A clause a
rule read into sub-tasks is checked once more: a word MAOO does not know, or a domain term none of
its sub-tasks uses ("notify legal by fax", "the sev1 incidents" read as all incidents), makes it
unsupported, so a run never succeeds having done only part of what was asked.
"""

from __future__ import annotations

from chalicelib.contracts import ClauseReading, ReadingKind, SubTask
from chalicelib.perception.accounting import unused_terms
from chalicelib.perception.fragments import clean
from chalicelib.perception.rules import ACTION_RULES, CLAUSE_RULES, DATA_RULES
from chalicelib.perception.rules.clauses import Clause
from chalicelib.perception.rules.conditions import negated
from chalicelib.perception.rules.context import Context
from chalicelib.perception.vocabulary import unknown_words

__all__ = ["Reader", "clean"]


class Reader:
    """Reads clauses in order; what they leave for the next ("its", "the result") is in ``context``."""

    def __init__(self) -> None:
        self.context = Context(ACTION_RULES, DATA_RULES)
        self.readings: list[ClauseReading] = []

    @property
    def tasks(self) -> list[SubTask]:
        return self.context.tasks

    @property
    def missing(self) -> list[str]:
        return self.context.missing

    @property
    def unknown(self) -> list[str]:
        return self.context.unknown

    @property
    def unsupported(self) -> list[str]:
        return self.context.unsupported

    def read(self, clause: Clause) -> None:
        """Read one clause, and account for it: which rule read it into what, or why it was not read."""
        text = clean(clause.text)
        if not text:
            return
        ctx = self.context
        before = (len(ctx.tasks), len(ctx.unknown), len(ctx.unsupported), len(ctx.missing))
        ctx.rule, ctx.read_text = "", text
        self._offer(clause, text)
        tasks, unknown, unsupported, missing = (
            len(ctx.tasks) - before[0],
            len(ctx.unknown) - before[1],
            len(ctx.unsupported) - before[2],
            len(ctx.missing) - before[3],
        )
        # the estate reader accounts for every word itself (``perception/estate.py``)
        read_whole = ctx.rule.startswith(("arithmetic", "estate_question"))
        if tasks and not (unknown or unsupported or missing) and not read_whole:
            unsupported = self._partly_read(text, ctx.tasks[before[0] :])
        if (unknown or missing) and not unsupported and (words := unknown_words(text)):
            # a clause no rule could read that holds words MAOO does not know asks for something it cannot do:
            # say so, rather than ask for a detail that would not help ("a poem" needs no file name)
            del ctx.unknown[before[1] :]
            del ctx.missing[before[3] :]
            ctx.unsupported.append(_not_known(text, words))
            unknown, missing, unsupported = 0, 0, 1
            ctx.rule = "unknown_words"
        self.readings.append(_reading(text, ctx.rule, tasks, unknown, unsupported, missing))

    def _partly_read(self, text: str, built: list[SubTask]) -> int:
        """1 (and the clause reported) when the rule that read it left a word or a term unread."""
        ctx = self.context
        if words := unknown_words(ctx.read_text):
            ctx.unsupported.append(_not_known(text, words))
            return 1
        if unused := unused_terms(ctx.read_text, built):
            ctx.unsupported.append(
                f"{text!r} (MAOO read it but cannot apply {', '.join(repr(w) for w in unused)} to it)"
            )
            return 1
        return 0

    def _offer(self, clause: Clause, text: str) -> None:
        """Offer the clause to the clause rules (refusal, condition), then to the action and data rules."""
        ctx = self.context
        if clause.joiner == "then":
            ctx.scope = None
        if clause.joiner == "otherwise":
            if ctx.last_condition is None:
                ctx.unknown.append(text)
                return
            ctx.scope = negated(ctx.last_condition)
        for rule in CLAUSE_RULES:
            if rule.matches(text, []) and rule.build(ctx, text, [], None, ctx.scope):
                return
        ctx.act(text, ctx.scope)


def _not_known(text: str, words: list[str]) -> str:
    return f"{text!r} (MAOO does not know what {', '.join(repr(w) for w in words)} means here)"


def _reading(text: str, rule: str, tasks: int, unknown: int, unsupported: int, missing: int) -> ClauseReading:
    reading: ReadingKind = (
        "unsupported"
        if unsupported
        else "not_understood"
        if unknown
        else "missing"
        if missing
        else "subtask"
        if tasks
        else "condition"
    )
    rule = rule or {"unsupported": "unsupported_action", "not_understood": "none"}.get(reading, "none")
    return ClauseReading(text=text, rule=rule, reading=reading)
