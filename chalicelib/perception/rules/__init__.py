"""Perception's rules, as a table: each a name, a small pattern, a builder, and its own examples.

A clause is offered first to the clause rules (an action MAOO will not do; a condition, before
or after its action), then to the action rules (a URL to fetch, an incident to open, a channel to
notify, a summary, a file), then to the data rules (a window MAOO has no data for, a count, an
error rate, arithmetic, a resource to read, arithmetic written as code, a computation with
nothing to compute). The first whose pattern matches and whose builder reads the clause wins,
and its name is recorded in the perceived state (``readings``), so a user and a test can see
which rule read which clause.

Each rule lives in a module named for what it reads, with its pattern (built there from the
shared fragments of ``perception/fragments.py``, the table's vocabulary, itself built from the
domain catalogue) and its builder. The request-level rules (constraints, clause splitting, SQL
written as is, "do it again") are in ``constraints``, ``clauses`` and ``requests``. No regular
expression of perception lives outside this package and the fragments module.
"""

from __future__ import annotations

from chalicelib.perception.rules import (
    actions,
    arithmetic,
    conditions,
    counts,
    estate,
    fetch,
    files,
    metrics,
    refusals,
)
from chalicelib.perception.rules.rule import Rule

CLAUSE_RULES: tuple[Rule, ...] = (
    refusals.UNSUPPORTED_ACTION,
    conditions.CONDITION_FIRST,
    conditions.CONDITION_AFTER,
)
ACTION_RULES: tuple[Rule, ...] = (
    fetch.FETCH_URL,
    actions.CREATE_INCIDENT,
    actions.NOTIFY,
    files.SUMMARIZE,
    files.SAVE_FILE,
)
DATA_RULES: tuple[Rule, ...] = (
    metrics.WINDOW_UNAVAILABLE,
    estate.ESTATE_QUESTION,
    counts.COUNT,
    metrics.ERROR_RATE,
    arithmetic.ARITHMETIC,
    fetch.READ,
    estate.ESTATE_FALLBACK,
    arithmetic.ARITHMETIC_AS_WRITTEN,
    arithmetic.COMPUTE_MISSING,
)
RULES: tuple[Rule, ...] = CLAUSE_RULES + ACTION_RULES + DATA_RULES

__all__ = ["ACTION_RULES", "CLAUSE_RULES", "DATA_RULES", "RULES", "Rule"]
