"""Rule-based perception: a plain-language operations request -> ``PerceivedState``.

Deterministic by design (offline mode is the default). Constraints ("in at most 3 steps",
"read-only", "budget of 5") are read first and taken out of the text (``rules/constraints.py``). The rest
is split into clauses in the order the user wrote them, each remembering how it was joined to the
one before ("and", "then", "otherwise"): a condition governs its action and the clauses joined
to it with "and", until a "then" or a new sentence; "otherwise" takes the negated condition. SQL
the user wrote is passed on as written, never split.

Each clause is offered to the rule table (``rules/``, driven by ``_reader.py``; the table's shared
vocabulary is ``fragments.py``, arithmetic in words is ``arithmetic.py``). What no rule understands is reported,
never guessed: an action MAOO has no tool for, or nothing understood at all, is ``unsupported``;
a clause left over, a missing service, file name or referent is ``ambiguous`` with what is
missing named.
"""

from __future__ import annotations

from typing import Any

from chalicelib.contracts import (
    ClauseReading,
    ComputeTask,
    Constraints,
    CreateTask,
    FetchTask,
    NotifyTask,
    PerceivedState,
    QueryTask,
    SaveTask,
    SubTask,
    TaskType,
    make_subtask,
)
from chalicelib.perception import estate
from chalicelib.perception import fragments as fr
from chalicelib.perception._reader import Reader, clean
from chalicelib.perception.arithmetic import numbers_to_digits, shown_expressions
from chalicelib.perception.arithmetic_grammar import rate_problem
from chalicelib.perception.rules.clauses import Clause, clauses, split_clauses
from chalicelib.perception.rules.conditions import has_action, if_so, implied_condition, starts_with_condition
from chalicelib.perception.rules.constraints import constraint_readings, constraints_of, strip_constraints
from chalicelib.perception.rules.phrasings import spell_factorials
from chalicelib.perception.rules.requests import is_repeat, raw_sql, spell_out_contractions
from chalicelib.perception.tractable import actions_without_tool, missing_details, unused_words
from chalicelib.perception.typos import correct

__all__ = ["Clause", "clauses", "perceive", "refers_to_earlier_run", "split_clauses", "state_of"]


def perceive(request: str) -> PerceivedState:
    request = implied_condition(if_so(spell_factorials(spell_out_contractions(request))))
    sql_written = raw_sql(request)
    if sql_written:  # SQL is passed on as written, never split into clauses or read for constraints
        request = request[: sql_written.start()]
    written = request
    request, corrections = correct(request)
    constraints = constraints_of(request)
    reader = Reader()
    if not sql_written and (word_problem := _rate_problem(strip_constraints(request))):
        return _every_word_used(
            strip_constraints(request),
            _state(word_problem, constraints).model_copy(
                update={
                    "corrections": corrections,
                    "readings": [*constraint_readings(request), *word_problem.readings],
                }
            ),
            written,
            word_problem=True,
        )
    pending = clauses(strip_constraints(request))
    while pending:
        clause = pending.pop(0)
        text = clean(clause.text)
        # "if X is above 5 %" split from its action by a comma or "then": read them together
        if (
            pending
            and starts_with_condition(text)
            and not has_action(text)
            and pending[0].joiner != "otherwise"
        ):
            clause = Clause(f"{clause.text}, {pending.pop(0).text}", clause.joiner)
        clause = _whole_question(clause, pending)
        reader.read(clause)
    if sql_written:
        sql = sql_written.group("sql").strip()
        reader.tasks.append(
            make_subtask(
                kind="query",
                text=sql_written.group(0).strip(),
                params={"resource": "sql", "sql": sql},
                success_criteria=["the SQL query answered"],
            )
        )
    readings = [*constraint_readings(request), *reader.readings]
    state = _state(reader, constraints).model_copy(update={"corrections": corrections, "readings": readings})
    return state if sql_written else _every_word_used(strip_constraints(request), state, written)


def _every_word_used(
    request: str, state: PerceivedState, written: str, word_problem: bool = False
) -> PerceivedState:
    """The reading, or, when a word that asks for something is not used by it, a refusal naming it.
    ``written`` is the request before typo correction."""
    if state.task_type in ("unsupported", "ambiguous"):
        return state
    problems = actions_without_tool(written) + unused_words(request, state, word_problem)
    if not problems and (missing := missing_details(state)):
        return state.model_copy(update={"task_type": "ambiguous", "intent": "ambiguous", "missing": missing})
    if not problems:
        return state
    return state.model_copy(
        update={
            "task_type": "unsupported",
            "intent": "unsupported",
            "unsupported": [f"{request.strip()!r}: {'; '.join(problems)}"],
        }
    )


def _whole_question(clause: Clause, pending: list[Clause]) -> Clause:
    """A question over the estate that the clause splitter cut in two ("services that are degraded, apart
    from checkout"; "errors for payments and auth"): the clauses joined again while the estate reader
    still reads the whole, every word used."""
    while (
        pending
        and pending[0].joiner == "and"
        and estate.continues_question(pending[0].text)
        and estate.read(clause.text).params is not None
    ):
        joined = Clause(f"{clause.text}, {pending[0].text}", clause.joiner)
        if estate.read(joined.text).params is None:
            break
        pending.pop(0)
        clause = joined
    return clause


def _rate_problem(request: str) -> Reader | None:
    """A two-number rate word problem, read whole (its clauses only make sense together), or None."""
    text = clean(request)
    if fr.services(text) or fr.has_url(text) or _names_the_estate(text):
        return None
    expression = rate_problem(numbers_to_digits(text))
    if expression is None:
        return None
    reader = Reader()
    reader.tasks.append(
        make_subtask(
            kind="compute",
            text=text,
            params={"expression": expression},
            success_criteria=[f"{expression} computed"],
        )
    )
    reader.readings.append(ClauseReading(text=text, rule="arithmetic_rate_word_problem", reading="subtask"))
    return reader


def _names_the_estate(text: str) -> bool:
    """Does ``text`` name a table, a window, an id or a value of the estate ("services with a p50 above
    50 ms over 24h, every hour" is a question about the estate, not a word problem)? Counts of requests
    or errors may be a word problem's own ("45 requests per second")."""
    from chalicelib.perception import estate

    found, _ = estate.pieces(estate.tokens(text))
    return any(
        p.kind in ("table", "window", "id", "value")
        or (p.kind == "field" and p.a not in ("requests", "errors"))
        for p in found
    )


def refers_to_earlier_run(request: str) -> bool:
    """True for "do the same as last time", "again", "repeat the last request": a request to look up, not to read."""
    return is_repeat(request)


def state_of(subtasks: list[SubTask], constraints: Constraints) -> PerceivedState:
    """The perceived state of sub-tasks given whole (the request language's text, ``plan_text``): the
    intent, task type and entities derived as for a reading."""
    reader = Reader()
    reader.tasks.extend(subtasks)
    return _state(reader, constraints)


def _state(reader: Reader, constraints: Constraints) -> PerceivedState:
    subtasks = reader.tasks
    missing = list(
        dict.fromkeys([*reader.missing, *(f"what to do with {clause!r}" for clause in reader.unknown)])
    )
    entities: dict[str, Any] = {}
    services = list(
        dict.fromkeys(
            t.params.service
            for t in subtasks
            if isinstance(t, (FetchTask, QueryTask, ComputeTask, CreateTask, NotifyTask)) and t.params.service
        )
    )
    if services:
        entities["services"] = services
    windows = list(
        dict.fromkeys(
            t.params.window
            for t in subtasks
            if isinstance(t, (FetchTask, QueryTask, ComputeTask)) and t.params.window
        )
    )
    if windows:
        entities["window"] = windows[0]
    resources = list(
        dict.fromkeys(
            t.params.resource
            for t in subtasks
            if isinstance(t, (FetchTask, QueryTask, CreateTask)) and t.params.resource
        )
    )
    if resources:
        entities["resources"] = resources
    files = [t.params.path for t in subtasks if isinstance(t, SaveTask)]
    if files:
        entities["files"] = files
        entities["formats"] = list(
            dict.fromkeys(t.params.format for t in subtasks if isinstance(t, SaveTask))
        )
    expressions = shown_expressions(subtasks)
    if expressions:
        entities["expressions"] = expressions
    channels = [t.params.channel for t in subtasks if isinstance(t, NotifyTask)]
    if channels:
        entities["channels"] = channels
    severities = [t.params.severity for t in subtasks if isinstance(t, CreateTask) and t.params.severity]
    if severities:
        entities["severities"] = severities

    unsupported = reader.unsupported or ([] if subtasks or reader.missing else reader.unknown)
    task_type: TaskType
    if unsupported:
        task_type, intent = "unsupported", "unsupported"
    elif missing or not subtasks:
        task_type, intent = "ambiguous", "ambiguous"
    else:
        conditional = any(t.condition is not None for t in subtasks)
        task_type = "conditional" if conditional else ("multi_step" if len(subtasks) > 1 else "single")
        intent = "+".join(dict.fromkeys(t.kind for t in subtasks))
    return PerceivedState(
        intent=intent,
        task_type=task_type,
        entities=entities,
        constraints=constraints,
        success_criteria=[c for t in subtasks for c in t.success_criteria],
        subtasks=subtasks,
        missing=missing if task_type == "ambiguous" else [],
        unsupported=unsupported,
    )
