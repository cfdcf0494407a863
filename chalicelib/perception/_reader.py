"""The clause reader: one clause at a time -> sub-tasks, with what later clauses may refer to.

Sub-tasks refer to each other by index: a condition's subject is ``#i`` (the value computed by
sub-task ``i``) or ``#i.field`` (a field of what sub-task ``i`` fetched); a computation's
``params["refs"]`` maps each ``@ref`` of its expression to ``[index, field]``. The planner turns
both into step references.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib import catalogue
from chalicelib.contracts import ClauseReading, Condition, ReadingKind, SubTask, SubTaskKind, make_subtask
from chalicelib.perception import lexicon as lx
from chalicelib.perception._clauses import Clause
from chalicelib.perception.accounting import terms, unused_terms
from chalicelib.perception.arithmetic import numbers_to_digits, refs_in, to_expression
from chalicelib.perception.rules import ACTION_RULES, DATA_RULES
from chalicelib.perception.vocabulary import unknown_words

ERROR_RATE_EXPRESSION = "round(@errors / @requests * 100, 4)"
_RESULT_WORDS = {
    "it",
    "that",
    "this",
    "result",
    "value",
    "the result",
    "the value",
    "the answer",
    "the rate",
    "the number",
    "the total",
}
_CHANNELS = {word: channel.name for channel in catalogue.CHANNELS for word in (channel.name, *channel.words)}


# ---------------------------------------------------------------- entities


def _services(text: str) -> list[str]:
    return list(dict.fromkeys(m.group("service").lower() for m in lx.SERVICE.finditer(text)))


def _window(text: str) -> str | None:
    for pattern, window in lx.WINDOWS:
        if pattern.search(text):
            return window
    return None


def _without_context(text: str) -> str:
    """The clause without its service and window phrases: what is left to read as arithmetic."""
    for pattern in lx.WINDOW_PHRASES:
        text = pattern.sub("", text)
    return lx.SPACES.sub(" ", lx.SERVICE_PHRASE.sub("", text)).strip()


def _metric_field(text: str) -> str | None:
    hits = {field: pattern.search(text) for pattern, field in lx.METRIC_FIELDS}
    for field in lx.METRIC_FIELD_ORDER:
        if hits.get(field):
            return field
    return None


def _severity(text: str) -> str:
    for pattern, severity in lx.SEVERITY_WORDS:
        if m := pattern.search(text):
            return severity or f"sev{m.group('n') or m.group('m') or m.group('p')}"
    return "sev3"


def _channel(m: re.Match) -> str:
    raw = (m.group("channel") or m.group("channel2") or m.group("channel3") or "ops").lower()
    raw = raw.lstrip("#")
    return _CHANNELS.get(raw, _CHANNELS.get(raw.replace(" ", "-"), raw))


def clean(text: str) -> str:
    """A clause without politeness and connectives: "please then fetch X for me" -> "fetch X"."""
    text = lx.FILLER.sub("", text.strip())
    text = lx.FILLER_TAIL.sub("", text)
    return text.strip(" ,.;:")


def _file_path(text: str) -> str | None:
    if m := lx.FILE_NAME.search(text):
        return m.group("path")
    name, fmt = lx.NAMED.search(text), lx.FORMAT.search(text)
    if name:
        return f"{name.group('name')}.{lx.FORMATS[fmt.group('fmt').lower()] if fmt else 'md'}"
    if m := lx.SLASH_PATH.search(text):
        return m.group("path")
    return None


def _file_format(path: str) -> str:
    """The format a path's extension names; ``txt`` for a path without one."""
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else "txt"


def _negated(condition: Condition) -> Condition:
    return condition.model_copy(update={"op": lx.NEGATED[condition.op]})


# ---------------------------------------------------------------- the reader


class Reader:
    """Reads clauses in order, keeping what later clauses may refer to ("its", "the result")."""

    def __init__(self) -> None:
        self.tasks: list[SubTask] = []
        self.unknown: list[str] = []
        self.unsupported: list[str] = []
        self.missing: list[str] = []
        self.service: str | None = None
        self.window: str | None = None
        self.fetched: dict[tuple[str, str], int] = {}
        self.computed: dict[tuple[str, str], int] = {}
        self.last_compute: int | None = None
        self.last_condition: Condition | None = None
        self.scope: Condition | None = None
        self.readings: list[ClauseReading] = []
        self.rule = ""  # the rule that read the clause being read
        self.read_text = ""  # the part of the clause that rule read (free text it carries is left out)

    # -- bookkeeping
    def _add(self, task: SubTask, condition: Condition | None) -> int:
        self.tasks.append(task.model_copy(update={"condition": condition}) if condition else task)
        return len(self.tasks) - 1

    def _reusable(self, index: int | None, condition: Condition | None) -> bool:
        return index is not None and self.tasks[index].condition in (None, condition)

    def _metrics(
        self, service: str, window: str, text: str, condition: Condition | None, kind: SubTaskKind = "fetch"
    ) -> int:
        index = self.fetched.get((service, window))
        if self._reusable(index, condition):
            return index  # type: ignore[return-value]
        index = self._add(
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

    def _error_rate(
        self, service: str, window: str, text: str, condition: Condition | None, kind: SubTaskKind = "fetch"
    ) -> int:
        index = self.computed.get((service, window))
        if not self._reusable(index, condition):
            metrics = self._metrics(service, window, text, condition, kind)
            index = self._add(
                make_subtask(
                    kind="compute",
                    text=text,
                    params={
                        "expression": ERROR_RATE_EXPRESSION,
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

    def _incident_count(
        self, service: str | None, status: str | None, text: str, severity: str | None = None
    ) -> int:
        """A count of incidents. ``severity`` only when the caller read it from the subject itself: a
        condition's text also holds its action ("open a sev1 incident"), whose severity is not a filter."""
        status = _incident_status(status)
        where = " ".join(x for x in (status, severity, "incidents", f"of {service}" if service else "") if x)
        return self._add(
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

    # -- clauses
    def read(self, clause: Clause) -> None:
        """Read one clause, and account for it: which rule read it into what, or why it was not read."""
        text = clean(clause.text)
        if not text:
            return
        before = (len(self.tasks), len(self.unknown), len(self.unsupported), len(self.missing))
        self.rule, self.read_text = "", text
        self._read(clause, text)
        tasks, unknown, unsupported, missing = (
            len(self.tasks) - before[0],
            len(self.unknown) - before[1],
            len(self.unsupported) - before[2],
            len(self.missing) - before[3],
        )
        if tasks and not (unknown or unsupported or missing) and not self.rule.startswith("arithmetic"):
            if words := unknown_words(self.read_text):
                self.unsupported.append(
                    f"{text!r} (MAOO does not know what {', '.join(repr(w) for w in words)} means here)"
                )
                unsupported = 1
            elif unused := unused_terms(self.read_text, self.tasks[before[0] :]):
                self.unsupported.append(
                    f"{text!r} (MAOO read it but cannot apply {', '.join(repr(w) for w in unused)} to it)"
                )
                unsupported = 1
        if (unknown or missing) and not unsupported and (words := unknown_words(text)):
            # a clause no rule could read that holds words MAOO does not know asks for something it cannot do:
            # say so, rather than ask for a detail that would not help ("a poem" needs no file name)
            del self.unknown[before[1] :]
            del self.missing[before[3] :]
            self.unsupported.append(
                f"{text!r} (MAOO does not know what {', '.join(repr(w) for w in words)} means here)"
            )
            unknown, missing, unsupported = 0, 0, 1
            self.rule = "unknown_words"
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
        rule = self.rule or {"unsupported": "unsupported_action", "not_understood": "none"}.get(
            reading, "none"
        )
        self.readings.append(ClauseReading(text=text, rule=rule, reading=reading))

    def _read(self, clause: Clause, text: str) -> None:
        if clause.joiner == "then":
            self.scope = None
        if clause.joiner == "otherwise":
            if self.last_condition is None:
                self.unknown.append(text)
                return
            self.scope = _negated(self.last_condition)
        if lx.UNSUPPORTED_ACTION.match(text):
            self.unsupported.append(text)
            self.rule = "unsupported_action"
            return
        if self._conditional(text):
            return
        self._act(text, self.scope)

    def _act(self, text: str, condition: Condition | None) -> None:
        reported = len(self.missing)
        if not self._tasks_for(text, condition) and len(self.missing) == reported:
            self.unknown.append(text)

    def _conditional(self, text: str) -> bool:
        """Read a clause that carries a condition; False when it carries none."""
        if m := lx.CONDITION_LEAD.match(text):
            reported = len(self.missing)
            parsed = self._comparison(m.group("rest"), hint=text)
            if parsed is None:
                if len(self.missing) == reported:
                    self.unknown.append(text)
                return True
            condition, action = parsed
            self.rule = "condition_first"
            if not action:
                self.missing.append(f"what to do when {m.group('rest')!r}")
                return True
            self.scope = self.last_condition = condition
            self._act(action, condition)
            return True
        if (m := lx.CONDITION_TRAIL.match(text)) and not lx.CONDITION_LEAD.match(text):
            parsed = self._comparison(m.group("cond"), hint=text)
            if parsed is None or parsed[1]:
                return False
            self.last_condition = parsed[0]
            self.rule = "condition_after"
            self._act(m.group("action"), parsed[0])
            return True
        return False

    def _comparison(self, text: str, hint: str) -> tuple[Condition, str | None] | None:
        t = numbers_to_digits(text)
        if m := lx.ANY_INCIDENTS.match(t):
            service = _known(m.group("service")) or _known(m.group("service2")) or self._context_service(hint)
            self.service = service or self.service
            index = self._incident_count(service, m.group("status"), t)
            return Condition(subject=f"#{index}.count", op=">", value=0), m.group("action")
        if m := lx.INCIDENTS_HAS.match(t):
            service = _known(m.group("service"))
            if service is None:
                return None
            self.service = service
            index = self._incident_count(service, m.group("status"), t)
            return Condition(
                subject=f"#{index}.count",
                op=lx.COMPARATORS[m.group("op").lower()],
                value=float(m.group("value")),
            ), m.group("action")
        m = lx.COMPARISON.match(t)
        if not m:
            return None
        subject = self._subject(m.group("subject"), hint)
        if subject is None:
            return None
        return Condition(
            subject=subject, op=lx.COMPARATORS[m.group("op").lower()], value=float(m.group("value"))
        ), m.group("action")

    def _context_service(self, hint: str) -> str | None:
        named = _services(hint)
        return named[0] if named else self.service

    def _subject(self, text: str, hint: str) -> str | None:
        """``#i`` or ``#i.field`` for what a condition compares; None (and what is missing) otherwise."""
        named = _services(text)
        service = named[0] if named else self._context_service(hint)
        if service:
            self.service = service
        window = _window(text) or self.window or "1h"
        if m := lx.INCIDENT_COUNT_SUBJECT.search(text):
            return f"#{self._incident_count(service, m.group('status') or m.group('status2'), text)}.count"
        if lx.ERROR_RATE.search(text):
            if not service:
                self.missing.append(f"which service ({', '.join(lx.KNOWN_SERVICES)}) for {text!r}")
                return None
            return f"#{self._error_rate(service, window, text, None)}"
        if field := _metric_field(text):
            if not service:
                self.missing.append(f"which service ({', '.join(lx.KNOWN_SERVICES)}) for {text!r}")
                return None
            return f"#{self._metrics(service, window, text, None)}.{field}"
        bare = lx.COMPUTED_PREFIX.sub("", text.strip().lower())
        if bare in _RESULT_WORDS or lx.RESULT_PRONOUN.match(bare):
            if self.last_compute is None:
                self.missing.append(
                    f"what {text.strip()!r} refers to: nothing is computed before the condition"
                )
                return None
            return f"#{self.last_compute}"
        self.missing.append(
            f"what {text.strip()!r} is: MAOO can compare an error rate, latency, error or request counts, "
            "an incident count or a computed result"
        )
        return None

    # -- one clause -> sub-tasks
    def _tasks_for(self, text: str, condition: Condition | None) -> bool:
        """Offer the clause to the action rules, then the data rules (``rules.py``): the first that reads it wins."""
        named = _services(text)
        if named:
            self.service = named[-1]
        window = _window(text)
        if window:
            self.window = window
        for rule in ACTION_RULES:
            if rule.pattern(text, named):
                self._name(rule.name, text)
                return bool(getattr(self, rule.build)(text, named, window, condition))
        return self._data(text, named, window, condition)

    def _name(self, rule: str, text: str) -> None:
        """Record the rule reading this clause; a message or a title it carries is free text, not read."""
        self.rule = f"{self.rule}+{rule}" if self.rule.startswith("condition") else (self.rule or rule)
        if rule in ("create_incident", "notify"):
            cut = lx.FREE_TEXT_TAIL.search(text)
            self.read_text = text[: cut.start()] if cut else text

    def _data(self, text: str, named: list[str], window: str | None, condition: Condition | None) -> bool:
        """Reads and computations: the data rules of ``rules.py``, in order, until one reads the clause."""
        for rule in DATA_RULES:
            if rule.pattern(text, named) and getattr(self, rule.build)(text, named, window, condition):
                if not rule.name.startswith("read"):
                    self._name(rule.name, text)
                return True
        return False

    # -- builders named by the rule table
    def _read_kind(self, text: str) -> SubTaskKind:
        return "query" if lx.DATABASE.search(text) else "fetch"

    def _metric_services(self, text: str, named: list[str]) -> list[str]:
        return (
            named
            or (list(lx.KNOWN_SERVICES) if lx.ALL_SERVICES.search(text) else [])
            or ([self.service] if self.service else [])
        )

    def _fetch_url(
        self, text: str, named: list[str], window: str | None, condition: Condition | None
    ) -> bool:
        m = lx.URL.search(text)
        url = m.group("url").rstrip(".,;:!?)")  # type: ignore[union-attr]
        self._add(
            make_subtask(
                kind="fetch",
                text=text,
                params={"resource": "url", "url": url},
                success_criteria=[f"{url} fetched"],
            ),
            condition,
        )
        return True

    def _window_unavailable(
        self, text: str, named: list[str], window: str | None, condition: Condition | None
    ) -> bool:
        m = lx.OTHER_WINDOW.search(text)
        seen = m.group(0) if m else text
        self.missing.append(
            f"a window MAOO has data for ({', '.join(lx.WINDOWS_AVAILABLE)}) instead of {seen!r}"
        )
        return True

    def _error_rate_rule(
        self, text: str, named: list[str], window: str | None, condition: Condition | None
    ) -> bool:
        services = self._metric_services(text, named)
        if not services:
            self._add(
                make_subtask(kind="compute", text=text, params={"metric": "error_rate", "service": None}),
                condition,
            )
            self.missing.append(f"which service ({', '.join(lx.KNOWN_SERVICES)}) for {text!r}")
            return True
        for service in services:
            self._error_rate(service, window or self.window or "1h", text, condition, self._read_kind(text))
        return True

    def _read_resources(
        self, text: str, named: list[str], window: str | None, condition: Condition | None
    ) -> bool:
        resources = _resources(text, named)
        if not resources:
            return False
        self._name("read_" + "+".join(resources), text)
        for resource in resources:
            self._resource(
                resource,
                text,
                named,
                self._metric_services(text, named),
                window,
                condition,
                self._read_kind(text),
            )
        return True

    def _raw_expression(
        self, text: str, named: list[str], window: str | None, condition: Condition | None
    ) -> bool:
        # what looks like code, not words, goes to calc as written: calc's own allowlist refuses it, with its rule
        expression = lx.RAW_EXPRESSION.match(text).group("expr").strip()  # type: ignore[union-attr]
        self.last_compute = self._add(
            make_subtask(
                kind="compute",
                text=text,
                params={"expression": expression},
                success_criteria=[f"{expression} computed"],
            ),
            condition,
        )
        return True

    def _nothing_to_compute(
        self, text: str, named: list[str], window: str | None, condition: Condition | None
    ) -> bool:
        self.missing.append(f"what to compute in {text!r}")
        return True

    def _arithmetic(
        self, text: str, named: list[str], window: str | None, condition: Condition | None
    ) -> bool:
        expression = to_expression(text) or to_expression(_without_context(text))
        if expression is None:
            return False
        refs: dict[str, list[Any]] = {}
        for ref in refs_in(expression):
            if ref == "@result":
                if self.last_compute is None:
                    self.missing.append(f"which result {text!r} refers to: nothing is computed before it")
                    return True
                refs[ref] = [self.last_compute, "value"]
                continue
            service = named[0] if named else self.service
            if not service:
                self.missing.append(f"which service ({', '.join(lx.KNOWN_SERVICES)}) for {text!r}")
                return True
            refs[ref] = [self._metrics(service, window or self.window or "1h", text, condition), ref[1:]]
        params: dict[str, Any] = {"expression": expression}
        if refs:
            params["refs"] = refs
        shown = expression
        for ref, (_index, field) in refs.items():
            shown = shown.replace(ref, field if field != "value" else "the previous result")
        self.last_compute = self._add(
            make_subtask(kind="compute", text=text, params=params, success_criteria=[f"{shown} computed"]),
            condition,
        )
        return True

    def _resource(
        self,
        resource: str,
        text: str,
        named: list[str],
        metric_services: list[str],
        window: str | None,
        condition: Condition | None,
        kind: SubTaskKind,
    ) -> None:
        pronoun = lx.PRONOUN.search(text)
        service = named[0] if named else (self.service if pronoun else None)
        if resource == "metrics":
            if not metric_services:
                self._add(
                    make_subtask(kind=kind, text=text, params={"resource": "metrics", "service": None}),
                    condition,
                )
                self.missing.append(f"which service ({', '.join(lx.KNOWN_SERVICES)}) for {text!r}")
                return
            for each in metric_services:
                self._metrics(each, window or self.window or "1h", text, condition, kind)
            return
        if resource == "service":
            for each in named or ([service] if service else []):
                self._add(
                    make_subtask(
                        kind=kind,
                        text=text,
                        params={"resource": "service", "service": each},
                        success_criteria=[f"status of {each} fetched"],
                    ),
                    condition,
                )
            return
        if resource == "mock_data":
            self._add(
                make_subtask(
                    kind=kind,
                    text=text,
                    params={"resource": "mock_data"},
                    success_criteria=["mock data fetched"],
                ),
                condition,
            )
            return
        if resource == "services":
            status = _service_status(text)
            filters = _service_filters(text)
            what = " ".join(x for x in (status, "services", *(f"{k} {v}" for k, v in filters.items())) if x)
            self._add(
                make_subtask(
                    kind="query",
                    text=text,
                    params={"resource": "services", "status": status, **filters},
                    success_criteria=[f"{what} listed"],
                ),
                condition,
            )
            return
        if resource == "incidents":
            status = _incident_status(_first(lx.OPEN_WORD, text) or _first(lx.RESOLVED_WORD, text))
            severity = next((v for k, v in terms(text) if k == "severity"), None)
            what = " ".join(
                x for x in (status, severity, "incidents", f"of {service}" if service else "") if x
            )
            extra = {"severity": severity} if severity else {}
            self._add(
                make_subtask(
                    kind=kind,
                    text=text,
                    params={"resource": "incidents", "service": service, "status": status, **extra},
                    success_criteria=[f"{what} listed"],
                ),
                condition,
            )
            return
        status = _deploy_status(text)
        what = " ".join(x for x in (status, "deployments", f"of {service}" if service else "") if x)
        self._add(
            make_subtask(
                kind="query",
                text=text,
                params={"resource": "deployments", "service": service, "status": status},
                success_criteria=[f"{what} listed"],
            ),
            condition,
        )

    def _count(self, text: str, named: list[str], window: str | None, condition: Condition | None) -> bool:
        service = named[0] if named else (self.service if lx.PRONOUN.search(text) else None)
        if lx.INCIDENTS.search(text):
            status = _incident_status(_first(lx.OPEN_WORD, text) or _first(lx.RESOLVED_WORD, text))
            severity = next((v for k, v in terms(text) if k == "severity"), None)
            index = self._incident_count(service, status, text, severity)
            if condition:
                self.tasks[index] = self.tasks[index].model_copy(update={"condition": condition})
            return True
        resource = "deployments" if lx.DEPLOYMENTS.search(text) else "services"
        status = _deploy_status(text) if resource == "deployments" else _service_status(text)
        filters = _service_filters(text) if resource == "services" else {}
        what = " ".join(
            x
            for x in (status, resource, f"of {service}" if service and resource == "deployments" else "")
            if x
        )
        self._add(
            make_subtask(
                kind="query",
                text=text,
                params={
                    "resource": resource,
                    "aggregate": "count",
                    "status": status,
                    "service": service if resource == "deployments" else None,
                    **filters,
                },
                success_criteria=[f"{what} counted"],
            ),
            condition,
        )
        return True

    def _object(self, rest: str, condition: Condition | None, what: str, text: str) -> bool:
        """Read what a summarize/save/notify clause is about; False when it names nothing MAOO knows."""
        rest = lx.ALL_OF.sub("", rest.strip(" ,")).strip()
        if not rest or lx.RESULT_PRONOUN.match(rest) or lx.REPORT_NOUN.fullmatch(rest):
            if not any(t.kind in ("fetch", "query", "compute", "summarize") for t in self.tasks):
                self.missing.append(f"what to {what}: nothing is fetched or computed before {text!r}")
                return False
            return True
        reported = len(self.missing)
        named = _services(rest)
        if named:
            self.service = named[-1]
        if not self._data(rest, named, _window(rest), condition):
            if len(self.missing) == reported:
                self.missing.append(f"what {rest!r} is in {text!r}")
            return False
        return True

    def _summarize(
        self, text: str, named: list[str], window: str | None, condition: Condition | None
    ) -> bool:
        target = lx.SAVE_ANYWHERE.search(text) and _file_path(text)
        body = lx.SAVE_TARGET.sub("", text) if target else text
        rest = (
            lx.SUMMARIZE_LEAD.sub("", body, count=1)
            if lx.SUMMARIZE_LEAD.match(body)
            else lx.SUMMARIZE.sub("", body)
        )
        if not self._object(rest, condition, "summarize", text):
            return True
        self._add(
            make_subtask(kind="summarize", text=text, success_criteria=["a summary of the results"]),
            condition,
        )
        if target:
            self._add(
                make_subtask(
                    kind="save",
                    text=text,
                    params={"path": target, "format": _file_format(target)},
                    success_criteria=[f"{target} written"],
                ),
                condition,
            )
        return True

    def _save(self, text: str, named: list[str], window: str | None, condition: Condition | None) -> bool:
        path = _file_path(text)
        rest = lx.SAVE_TARGET.sub("", lx.SAVE.sub("", text, count=1))
        if not path:
            self.missing.append(f"a file name (for example report.md) for {text!r}")
            return True
        wants_summary = bool(lx.SUMMARIZE.search(rest))
        if wants_summary:
            rest = lx.SUMMARIZE_LEAD.sub("", lx.ARTICLE.sub("", rest.strip()), count=1)
            rest = lx.SUMMARY_NOUN.sub("", rest)
        if not self._object(rest, condition, "save", text):
            return True
        if wants_summary and not (self.tasks and self.tasks[-1].kind == "summarize"):
            self._add(
                make_subtask(kind="summarize", text=text, success_criteria=["a summary of the results"]),
                condition,
            )
        self._add(
            make_subtask(
                kind="save",
                text=text,
                params={"path": path, "format": _file_format(path)},
                success_criteria=[f"{path} written"],
            ),
            condition,
        )
        return True

    def _create(self, text: str, named: list[str], window: str | None, condition: Condition | None) -> bool:
        services = named or ([self.service] if self.service else [])
        if not services:
            self._add(
                make_subtask(kind="create", text=text, params={"resource": "incident", "service": None}),
                condition,
            )
            self.missing.append(f"which service ({', '.join(lx.KNOWN_SERVICES)}) for {text!r}")
            return True
        severity = _severity(text)
        for service in services:
            self._add(
                make_subtask(
                    kind="create",
                    text=text,
                    params={"resource": "incident", "service": service, "severity": severity},
                    success_criteria=[f"{severity} incident opened for {service}"],
                ),
                condition,
            )
        return True

    def _notify(self, text: str, named: list[str], window: str | None, condition: Condition | None) -> bool:
        m = lx.NOTIFY.match(text)
        assert m is not None  # the rule's pattern matched
        channel = _channel(m)
        about = lx.NOTIFY_REST.search(text[m.end() :])
        rest = about.group("rest").strip() if about else ""
        if rest and not lx.RESULT_PRONOUN.match(rest):
            # data the message is about ("about the checkout error rate") is read first; free text stays in the message
            self._data(rest, _services(rest), _window(rest), condition)
        named = _services(text)
        self._add(
            make_subtask(
                kind="notify",
                text=text,
                params={"channel": channel, "service": named[0] if named else self.service},
                success_criteria=[f"{channel} notified"],
            ),
            condition,
        )
        return True


def _known(name: str | None) -> str | None:
    return name.lower() if name and name.lower() in lx.KNOWN_SERVICES else None


def _first(pattern: re.Pattern, text: str) -> str | None:
    m = pattern.search(text)
    return m.group(0).lower() if m else None


def _incident_status(word: str | None) -> str | None:
    if not word:
        return None
    return "resolved" if word.lower() in ("resolved", "closed", "past", "fixed") else "open"


def _deploy_status(text: str) -> str | None:
    m = lx.DEPLOY_STATUS.search(text)
    if not m:
        return None
    word = m.group("status").lower().replace(" ", "_").replace("-", "_")
    return {"successful": "succeeded"}.get(word, word)


def _service_status(text: str) -> str | None:
    m = lx.SERVICE_STATUS_FILTER.search(text)
    if not m:
        return None
    word = m.group("status").lower()
    return "degraded" if word == "unhealthy" else word


def _service_filters(text: str) -> dict[str, Any]:
    """Tier, region and owner a list of services is filtered by ("tier 2 services", "in eu-west-1")."""
    wanted = ("tier", "region", "owner")
    return {kind: value for kind, value in terms(text) if kind in wanted}


def _resources(text: str, named: list[str]) -> list[str]:
    """The resources a data clause names, in the order it names them."""
    found: list[tuple[int, str]] = []

    def note(pattern: re.Pattern, resource: str) -> None:
        if m := pattern.search(text):
            found.append((m.start(), resource))

    note(lx.MOCK_DATA, "mock_data")
    note(lx.METRICS, "metrics")
    if not found or (named and not any(r == "metrics" for _, r in found)):
        note(lx.METRIC_WORDS, "metrics")
    note(lx.INCIDENTS, "incidents")
    note(lx.DEPLOYMENTS, "deployments")
    if not named:
        note(lx.SERVICES_LIST, "services")
    elif status := lx.STATUS.search(text):
        found.append((status.start(), "service"))
    elif not found and (lx.CHECK.search(text) or lx.SERVICE_WORD.search(text)):
        found.append((text.lower().find(named[0]), "service"))
    return [resource for _, resource in sorted(found)]
