"""What the clauses read so far leave for the next one, and the sub-tasks the rules' builders share.

Sub-tasks refer to each other by index: a condition's subject is ``#i`` (the value computed by
sub-task ``i``) or ``#i.field`` (a field of what sub-task ``i`` fetched); a computation's
``params["refs"]`` maps each ``@ref`` of its expression to ``[index, field]``. The planner turns
both into step references. The builders keep "its", "the result" and the window in focus here,
and reuse a fetch or an error rate already read instead of reading it twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from chalicelib import catalogue
from chalicelib.contracts import Condition, ReadParams, SubTask, SubTaskKind, make_subtask
from chalicelib.perception import estate
from chalicelib.perception import fragments as fr


class Rule(Protocol):
    """What the context needs of a rule of the table (``rule.Rule``); a protocol, so the two modules
    do not import each other."""

    @property
    def name(self) -> str: ...
    @property
    def free_text(self) -> bool: ...
    @property
    def build(self) -> Callable[[Context, str, list[str], str | None, Condition | None], bool]: ...
    def matches(self, text: str, named: list[str]) -> bool: ...


# the older data rules recognise a phrasing, not every word: they read a clause only when the estate
# reader reads it whole too (they stay for their routes: the HTTP API first, the database after)
_CONFIRMED_BY_ESTATE = frozenset({"count", "error_rate", "read"})
# arithmetic over figures of the estate is the estate reader's ("search errors over 24h minus its 1h
# errors"): the older arithmetic rule reads numbers, and what was computed before
_NUMBERS_ONLY = frozenset({"arithmetic"})


_POINTS_BACK = re.compile(r"\b(?:its|it|that|this)\b", re.IGNORECASE)


def _same_rows(before: ReadParams | None, now: ReadParams) -> bool:
    """Does ``now`` ask of the very rows ``before`` selected (the same table, filters and shape; only the
    field or its unit changes)? A ranking is not: its row is found at run time."""
    if before is None or before.aggregate in ("argmax", "argmin", "max", "min") or before.group_by:
        return False
    return (
        now.resource == before.resource
        and now.aggregate == before.aggregate
        and now.group_by is None
        and _equalities(now) == _equalities(before)
        and now.window == before.window
    )


def _equalities(p: ReadParams) -> set[tuple[str, str]]:
    """The equality filters a read applies, said one way ("name" of a service is its "service"); a
    filter of another kind is kept as it is, so that it never matches an equality."""
    found = {(k, str(getattr(p, k)).lower()) for k in _FLAT if getattr(p, k) is not None}
    for f in p.filters:
        field = "service" if f.field == "name" else f.field
        values = f.value if isinstance(f.value, list) else [f.value]
        found |= {(field if f.op == "=" else f"{field} {f.op}", str(v).lower()) for v in values}
    return found


_FLAT = ("service", "status", "severity", "tier", "region", "owner")


def _reads_nothing(added: list[SubTask], asked: int, refused: int) -> bool:
    return not any(t.kind in ("fetch", "query") for t in added)


class Context:
    """The sub-tasks read so far and what later clauses may refer to; offers a clause to the table."""

    def __init__(self, action_rules: tuple[Rule, ...], data_rules: tuple[Rule, ...]) -> None:
        self.action_rules = action_rules
        self.data_rules = data_rules
        self.tasks: list[SubTask] = []
        self.unknown: list[str] = []
        self.unsupported: list[str] = []
        self.missing: list[str] = []
        self.service: str | None = None
        self.focus: list[str] = []
        self.last_question: str | None = (
            None  # the last question read whole: what "its version" is about  # every service the last clause that named one named ("auth and search")
        )
        self.window: str | None = None
        self.fetched: dict[tuple[str, str], int] = {}
        self.computed: dict[tuple[str, str], int] = {}
        self.last_compute: int | None = None
        self.last_condition: Condition | None = None
        self.scope: Condition | None = None
        self.rule = ""  # the rule that read the clause being read
        self.read_text = ""  # the part of the clause that rule read (free text it carries is left out)

    # -- offering a clause to the table
    def act(self, text: str, condition: Condition | None) -> None:
        """Read ``text`` as an action or a read; not understood when no rule reads it or says what is missing."""
        reported = len(self.missing)
        if not self.tasks_for(text, condition) and len(self.missing) == reported:
            self.unknown.append(text)

    def tasks_for(self, text: str, condition: Condition | None) -> bool:
        """Offer the clause to the action rules, then the data rules: the first that reads it wins."""
        named = fr.services(fr.QUOTED.sub(" ", text))  # a title or a message is not a service named
        if named:
            self.service, self.focus = named[-1], named
        window = fr.window(text)
        if window:
            self.window = window
        for rule in self.action_rules:
            if rule.matches(text, named):
                self.name(rule.name, text, rule.free_text)
                return bool(rule.build(self, text, named, window, condition))
        return self.read_data(text, named, window, condition)

    def read_data(self, text: str, named: list[str], window: str | None, condition: Condition | None) -> bool:
        """Reads and computations: the data rules, in order, until one reads the clause.

        The older rules recognise a phrasing, not every word: one that reads the estate reads a clause
        only when the estate reader reads all of it too and agrees, or when all it does is ask what is
        missing ("what's the p95?": of which service?)."""
        if not estate.reads_whole(text):
            if estate.reads_whole(text, self.service):
                text = estate.in_focus(text, self.service)  # "tell me its region" after "check auth"
            elif self._about_last_question(text, condition):
                return True
        unread = ""
        for rule in self.data_rules:
            if not rule.matches(text, named):
                continue
            if rule.name in _CONFIRMED_BY_ESTATE:
                read = self._confirmed(rule, text, named, window, condition)
                unread = unread or ("" if read else estate.read(text).problem)
            elif rule.name in _NUMBERS_ONLY:
                read = self._tried(rule, text, named, window, condition, _reads_nothing)
            else:
                read = rule.build(self, text, named, window, condition)
            if read:
                if not rule.name.startswith("read"):
                    self.name(rule.name, text)
                self._asked(text)
                return True
        if unread and not unread.startswith(estate.WORDS_NOT_READ):
            self.unsupported.append(f"{text!r}: {unread}")  # read, and what of it MAOO cannot ask says why
            return True
        return False

    def _asked(self, text: str) -> None:
        """Keep ``text`` as the question "it", "its" and "that" stand for next, when it is one."""
        if (
            self.tasks
            and self.tasks[-1].kind in ("query", "fetch")
            and estate.reads_whole(text, self.service)
        ):
            self.last_question = text

    def _about_last_question(self, text: str, condition: Condition | None) -> bool:
        """ "the newest release, and which version it shipped", "auth p50 over 24h, and what is that in
        seconds": the clause read with the question before it in place of its pronoun, every word read."""
        if self.last_question is None or not _POINTS_BACK.search(text):
            return False
        asked = _POINTS_BACK.sub(
            lambda m: f"{self.last_question}{'s' if m.group(0).lower() == 'its' else ''}", text
        )
        asked = asked.replace(f"{self.last_question}s", f"{self.last_question}'s")
        before, now = estate.read(self.last_question).params, estate.read(asked).params
        if now is None or not _same_rows(before, now):
            return False  # "the busiest service ... its owner" must not become "the busiest owner"
        for rule in self.data_rules:
            if rule.name.startswith("estate_question") and rule.build(self, asked, [], None, condition):
                self.name(rule.name, text)
                return True
        return False

    def _confirmed(
        self, rule: Rule, text: str, named: list[str], window: str | None, condition: Condition | None
    ) -> bool:
        """An older rule's reading, kept when the estate reader reads every word the same way (or when it
        only asks what is missing); anything else it built is taken back."""
        if estate.reads_whole(text, self.service):
            # a reading that differs ("# open incs" read as a list) leaves the clause to the estate reader
            return self._tried(rule, text, named, window, condition, self._agrees(text))
        if self._tried(rule, text, named, window, condition, self._only_asks):
            return True
        if estate.asks_service(text):
            self.ask_service(text)
            return True
        return False

    def _agrees(self, text: str) -> Callable[[list[SubTask], int, int], bool]:
        """Does what an older rule read agree with the estate reader's reading of the same words: the same
        table, and a count where (and only where) it counts? Two readings that differ are not guessed
        between: the estate reader's, which uses every word, is taken instead."""
        reading = estate.read_in_focus(text, self.service).params

        def agrees(added: list[SubTask], asked: int, refused: int) -> bool:
            if reading is None:  # several fields of one row: a record read shows them all, a computation one
                return not any(t.kind == "compute" for t in added)
            for task in added:
                p = task.params
                if not isinstance(p, ReadParams) or p.resource in (None, "sql", "url"):
                    continue
                table = {"service": "services"}.get(p.resource, p.resource)
                counts = p.aggregate == "count"
                if table != reading.resource or counts != (reading.aggregate == "count"):
                    return False
                if _equalities(p) != _equalities(reading):
                    return False  # a filter one reading has and the other has not
            return True

        return agrees

    def _only_asks(self, added: list[SubTask], asked: int, refused: int) -> bool:
        return not added and (len(self.missing) > asked or len(self.unsupported) > refused)

    def _tried(
        self,
        rule: Rule,
        text: str,
        named: list[str],
        window: str | None,
        condition: Condition | None,
        keep: Callable[[list[SubTask], int, int], bool],
    ) -> bool:
        """Let ``rule`` read the clause, and keep what it read only when ``keep(sub-tasks added, missing
        before, unsupported before)`` holds; otherwise everything it added is taken back."""
        asked, refused = len(self.missing), len(self.unsupported)
        saved = (len(self.tasks), dict(self.fetched), dict(self.computed), self.last_compute, self.service)
        named_as = (self.rule, self.read_text)
        if rule.build(self, text, named, window, condition) and keep(self.tasks[saved[0] :], asked, refused):
            return True
        del self.tasks[saved[0] :], self.missing[asked:], self.unsupported[refused:]
        self.fetched, self.computed, self.last_compute, self.service = saved[1:]
        self.rule, self.read_text = named_as
        return False

    def name(self, rule: str, text: str, free_text: bool = False) -> None:
        """Record the rule reading this clause; a message or a title it carries is free text, not read."""
        self.rule = f"{self.rule}+{rule}" if self.rule.startswith("condition") else (self.rule or rule)
        if free_text:
            self.read_text = fr.read_text(text)

    def numbers(self, text: str) -> int | None:
        """The sub-task computing ``text`` when it is arithmetic over numbers ("12 squared", "a fifth of
        350"), added; None (and nothing added) otherwise."""
        before = len(self.tasks)
        for rule in self.data_rules:
            if rule.name in _NUMBERS_ONLY and rule.matches(text, []):
                if self._tried(rule, text, [], None, None, _reads_nothing) and len(self.tasks) > before:
                    return self.last_compute
        return None

    def accounted(self, text: str) -> None:
        """``text`` (part of the clause) was read whole by the estate reader: the clause's check of its
        words leaves it out."""
        self.read_text = self.read_text.replace(text, " ")

    # -- what builders share
    def add(self, task: SubTask, condition: Condition | None) -> int:
        self.tasks.append(task.model_copy(update={"condition": condition}) if condition else task)
        return len(self.tasks) - 1

    def ask_service(self, text: str) -> None:
        self.missing.append(f"which service ({', '.join(fr.KNOWN_SERVICES)}) for {text!r}")

    def window_or_default(self, window: str | None) -> str:
        return window or self.window or catalogue.DEFAULT_WINDOW

    def read_kind(self, text: str) -> SubTaskKind:
        return "query" if fr.DATABASE.search(text) else "fetch"

    def metric_services(self, text: str, named: list[str]) -> list[str]:
        return (
            named
            or (list(fr.KNOWN_SERVICES) if fr.ALL_SERVICES.search(text) else [])
            or ([self.service] if self.service else [])
        )

    def pronoun_service(self, text: str, named: list[str]) -> str | None:
        """The service named, or the one in focus when the clause says "its" or "them"."""
        return named[0] if named else (self.service if fr.PRONOUN.search(text) else None)

    def _reusable(self, index: int | None, condition: Condition | None) -> bool:
        return index is not None and self.tasks[index].condition in (None, condition)

    def metrics(
        self, service: str, window: str, text: str, condition: Condition | None, kind: SubTaskKind = "fetch"
    ) -> int:
        index = self.fetched.get((service, window))
        if self._reusable(index, condition):
            return index  # type: ignore[return-value]
        index = self.add(
            make_subtask(
                kind=kind,
                text=text,
                params={"resource": "metrics", "service": service, "window": window},
                success_criteria=[f"metrics of {service} over {window} fetched"],
            ),
            condition,
        )
        self.fetched[(service, window)] = index
        return index

    def error_rate(
        self, service: str, window: str, text: str, condition: Condition | None, kind: SubTaskKind = "fetch"
    ) -> int:
        index = self.computed.get((service, window))
        if not self._reusable(index, condition):
            metrics = self.metrics(service, window, text, condition, kind)
            index = self.add(
                make_subtask(
                    kind="compute",
                    text=text,
                    params={
                        "expression": catalogue.ERROR_RATE_EXPRESSION,
                        "refs": {"@errors": [metrics, "errors"], "@requests": [metrics, "requests"]},
                        "metric": "error_rate",
                        "service": service,
                        "window": window,
                    },
                    success_criteria=[f"error rate of {service} over {window} computed"],
                ),
                condition,
            )
            self.computed[(service, window)] = index
        self.last_compute = index
        return index  # type: ignore[return-value]

    def incident_count(
        self, service: str | None, status: str | None, text: str, severity: str | None = None
    ) -> int:
        """A count of incidents. ``severity`` only when the caller read it from the subject itself: a
        condition's text also holds its action ("open a sev1 incident"), whose severity is not a filter."""
        status = catalogue.INCIDENT_STATES.get(status.lower(), "open") if status else None
        where = " ".join(x for x in (status, severity, "incidents", f"of {service}" if service else "") if x)
        return self.add(
            make_subtask(
                kind="query",
                text=text,
                params={
                    "resource": "incidents",
                    "aggregate": "count",
                    "service": service,
                    "status": status,
                    "severity": severity,
                },
                success_criteria=[f"{where} counted"],
            ),
            None,
        )
