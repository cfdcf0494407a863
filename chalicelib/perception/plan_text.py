"""The request language's canonical text as input: ``--plan-text`` / ``{"plan_text": ...}``.

A person who already knows what MAOO should do writes the one-line text ``render``
(``chalicelib.perception.language``) prints, and Perception parses it here instead of reading a
request in plain language. The sub-tasks it denotes then go through the same Plan state as any
reading: policy, validation, critic, guards and approvals all apply.

``parse(render(p))`` is the exact inverse of ``render`` on what the offline reader produces: its
sub-tasks render to the same text and plan to the same steps (``tests/unit/test_plan_text.py``
checks it over the tuning corpora). The grammar, one statement per sub-task, separated by ``;``::

    [dry run, read-only, no files, budget N, max N steps, deadline N s, not TOOL] before the first statement
    [#N =] [if #K[.field] OP NUMBER:] BODY
    BODY := [fetch | query] TABLE [| where COND and ...] [| AGGREGATE [field]] [| by col] [| in unit] [| round N]
          | calc EXPRESSION [| in unit]      (#K, #K.field: what statement K produced)
          | write PATH CONTENT | notify #CHANNEL [for SERVICE] CONTENT
          | open incident [SEVERITY] for SERVICE [CONTENT] | summarize | GET URL | sql "SQL"
    CONTENT := "literal text" | <- #K[.field] | <- answer | <- last
    COND := field OP value     OP := = != > >= < <= in (a, b) | not in (a, b)

A question without ``fetch``/``query`` is the request language's question over a table (compiled to
one SQL statement); ``fetch`` (the API first) and ``query`` (the database first) mark the
catalogue's plain reads, whose conditions are all equalities.

Hand-written, not a grammar library: the language is line-oriented with one keyword per statement,
so a scanner that splits on ``;`` and ``|`` outside quotes and parentheses, and one small function
per statement kind, is shorter than a grammar plus the tree walk it needs, and it can name the
character and the word that is wrong and what is accepted there. The words it accepts come from the
contracts (operators, aggregates), the estate reader's lexicon (tables, columns, values) and the
catalogue (services, windows, channels, severities): nothing is listed twice.

Two kinds of refusal, both ending the run before any tool: text the language does not have (an
unknown table, field, operator, aggregate, action, a reference to a later statement) is a
``PlanTextError`` naming the character and the word; a word of the language that names something
the estate does not have (a service, channel, id, window, severity) is refused as the reader
refuses it, with the sub-tasks kept and ``unsupported`` naming it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, get_args

from chalicelib import catalogue
from chalicelib.contracts import (
    Aggregate,
    Comparator,
    ComputeTask,
    Condition,
    Constraints,
    Content,
    CreateTask,
    Filter,
    FilterOp,
    PerceivedState,
    ReadParams,
    SubTask,
    make_subtask,
)
from chalicelib.errors import MaooError
from chalicelib.perception import estate
from chalicelib.perception.language import BARE_WORD, FLAT_FIELDS, NUMBER, statement
from chalicelib.perception.request_reader import state_of
from chalicelib.perception.rules.files import file_format
from chalicelib.perception.tractable import missing_details

__all__ = ["PlanTextError", "parse", "perceive_plan_text"]

# the tables a question reads, as the text names them ("mock data"): the estate reader's
_TABLES = {table.replace("_", " "): table for table in estate.TABLE_COLUMNS}
# as the contracts list them (shown in messages), and longest first (matched)
_OPS: tuple[str, ...] = get_args(FilterOp)
_COMPARATORS: tuple[str, ...] = get_args(Comparator)
_OPS_MATCHED = tuple(sorted(_OPS, key=len, reverse=True))
_COMPARATORS_MATCHED = tuple(sorted(_COMPARATORS, key=len, reverse=True))
_AGGREGATES: tuple[str, ...] = get_args(Aggregate)
_ACTIONS = (
    f"a question over a table ({', '.join(_TABLES)}), calc, write, notify, open incident, summarize, GET, sql"
)
_PRODUCES = ("fetch", "query", "compute")  # the kinds of sub-task whose results a summary reads
_REF = re.compile(r"#(\d+)(?:\.([A-Za-z_]\w*))?")


class PlanTextError(MaooError):
    """Plan text the request language does not have; the message names the character and the word."""


@dataclass
class _Span:
    """A piece of the text and where it starts in the whole text (for messages)."""

    text: str
    at: int

    def strip(self) -> _Span:
        lead = len(self.text) - len(self.text.lstrip())
        return _Span(self.text.strip(), self.at + lead)

    def after(self, n: int) -> _Span:
        return _Span(self.text[n:], self.at + n).strip()

    def word(self) -> str:
        found = re.match(r"\S+", self.text)
        return found.group(0) if found else "(nothing)"

    def fail(self, expected: str, offset: int = 0) -> PlanTextError:
        rest = _Span(self.text[offset:], self.at + offset).strip()
        if not rest.text:
            return PlanTextError(f"plan text ends at character {rest.at + 1} too early: expected {expected}")
        return PlanTextError(
            f"plan text at character {rest.at + 1}: {rest.word()!r} is not accepted; expected {expected}"
        )


def _split(span: _Span, separator: str) -> list[_Span]:
    """``span`` cut at ``separator`` outside double quotes and parentheses."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    text = span.text
    while i < len(text):
        char = text[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and text.startswith(separator, i):
            parts.append(_Span(text[start:i], span.at + start).strip())
            start = i + len(separator)
            i = start
            continue
        i += 1
    parts.append(_Span(text[start:], span.at + start).strip())
    return parts


def _string(span: _Span, what: str) -> tuple[str, int]:
    """A JSON string at the start of ``span``: its text and how many characters it took."""
    if not span.text.startswith('"'):
        raise span.fail(f"{what} in double quotes")
    try:
        value, end = json.JSONDecoder().raw_decode(span.text)
    except ValueError:
        raise span.fail(f'{what} in double quotes, closed (\\" inside it)') from None
    return str(value), end


def _scalar(span: _Span) -> tuple[Any, int]:
    """A value: a quoted string, a number, or a bare word."""
    if span.text.startswith('"'):
        return _string(span, "a value")
    found = BARE_WORD.match(span.text)
    if not found:
        raise span.fail("a value (a word, a number, or text in double quotes)")
    word = found.group(0)
    if NUMBER.fullmatch(word):
        return (float(word) if "." in word else int(word)), found.end()
    return word, found.end()


def _value(span: _Span, op: str) -> Any:
    if op in ("in", "not in"):
        if not (span.text.startswith("(") and span.text.endswith(")")):
            raise span.fail(f"a list in parentheses after {op!r}, e.g. (payments, auth)")
        inner = _Span(span.text[1:-1], span.at + 1)
        return [_whole_scalar(item) for item in _split(inner, ",")]
    return _whole_scalar(span)


def _whole_scalar(span: _Span) -> Any:
    value, end = _scalar(span)
    if span.text[end:].strip():
        raise span.fail("one value (text with spaces goes in double quotes)", end)
    return value


@lru_cache(maxsize=1)
def _known_values() -> dict[tuple[str, str], frozenset[Any]]:
    """``(table, column) -> values`` the estate has, from the estate reader's lexicon and the catalogue."""
    found: dict[tuple[str, str], set[Any]] = {}
    for pieces in estate.lexicon().values():
        for piece in pieces:
            if piece.kind != "value" or piece.a.endswith("!"):
                continue
            tables = [piece.table] if piece.table else list(estate.TABLE_COLUMNS)
            for table in tables:
                column = "name" if (table == "services" and piece.a == "service") else piece.a
                if column in estate.TABLE_COLUMNS[table]:
                    found.setdefault((table, column), set()).add(piece.b)
    found[("metrics", "window")] = set(catalogue.WINDOW_NAMES)
    found[("incidents", "id")] = {i.id for s in catalogue.SERVICES for i in s.incidents}
    found[("deployments", "id")] = {d.id for s in catalogue.SERVICES for d in s.deployments}
    return {key: frozenset(values) for key, values in found.items()}


@lru_cache(maxsize=1)
def _units() -> tuple[str, ...]:
    """The units a question's answer can be given in: the estate reader's unit words."""
    found = (p.a for pieces in estate.lexicon().values() for p in pieces if p.kind == "unit")
    return tuple(sorted(set(found)))


class _Parser:
    def __init__(self) -> None:
        self.tasks: list[SubTask] = []
        self.problems: list[str] = []  # words the estate does not have: refused like the reader refuses

    # ------------------------------------------------------------------ statements

    def statement(self, span: _Span) -> None:
        number = len(self.tasks) + 1
        if span.text.startswith("#"):
            found = re.match(r"#(\d+)\s*=\s*", span.text)
            if not found or int(found.group(1)) != number:
                raise span.fail(f"'#{number} =' (statements are numbered in order) or the statement itself")
            span = span.after(found.end())
        condition = None
        if re.match(r"if\b", span.text):
            condition, span = self._condition(span)
        task = self._body(span)
        if condition is not None:
            task = task.model_copy(update={"condition": condition})
        text = statement(task)
        self.tasks.append(task.model_copy(update={"text": text, "success_criteria": [text]}))

    def _condition(self, span: _Span) -> tuple[Condition, _Span]:
        rest = span.after(2)
        subject, end = self._reference(rest, "the statement the condition tests, e.g. #1 or #1.p95_ms")
        rest = rest.after(end)
        op = next((o for o in _COMPARATORS_MATCHED if rest.text.startswith(o)), None)
        if op is None:
            raise rest.fail(f"a comparison ({', '.join(_COMPARATORS)})")
        rest = rest.after(len(op))
        found = re.match(r"(-?\d+(?:\.\d+)?)\s*:", rest.text)
        if not found:
            raise rest.fail("a number and ':' (if #1 > 5: ...)")
        index, field = subject
        target = f"#{index}" + (f".{field}" if field else "")
        return Condition(subject=target, op=op, value=float(found.group(1))), rest.after(found.end())  # type: ignore[arg-type]

    def _reference(self, span: _Span, expected: str) -> tuple[tuple[int, str | None], int]:
        """``#K[.field]`` at the start of ``span``: ``((K - 1, field), length)``; K must be an earlier statement."""
        found = _REF.match(span.text)
        if not found:
            raise span.fail(expected)
        self._earlier(span, int(found.group(1)))
        return (int(found.group(1)) - 1, found.group(2)), found.end()

    def _earlier(self, span: _Span, number: int, offset: int = 0) -> None:
        if not 1 <= number <= len(self.tasks):
            before = f"#1 to #{len(self.tasks)}" if self.tasks else "none: this is the first statement"
            raise span.fail(f"a reference to an earlier statement ({before})", offset)

    def _body(self, span: _Span) -> SubTask:
        keyword = span.word()
        if keyword == "summarize" and span.text == "summarize":
            return make_subtask(kind="summarize", text="")
        if keyword == "calc":
            return self._calc(span.after(4))
        if keyword == "write":
            return self._write(span.after(5))
        if keyword == "notify":
            return self._notify(span.after(6))
        if re.match(r"open\s+incident\b", span.text):
            return self._incident(span.after(len(re.match(r"open\s+incident", span.text).group(0))))  # type: ignore[union-attr]
        if keyword == "GET":
            url = span.after(3)
            if not re.fullmatch(r"\S+", url.text):
                raise url.fail("one URL after GET")
            return make_subtask(kind="fetch", text="", params={"resource": "url", "url": url.text})
        if keyword == "sql":
            sql = span.after(3)
            text, end = _string(sql, "the SQL")
            if sql.text[end:].strip():
                raise sql.fail("nothing after the SQL's closing quote", end)
            return make_subtask(kind="query", text="", params={"resource": "sql", "sql": text})
        return self._read(span)

    # ------------------------------------------------------------------ actions

    def _content(self, span: _Span, what: str) -> Content | None:
        if not span.text:
            return None
        if span.text.startswith('"'):
            text, end = _string(span, what)
            if span.text[end:].strip():
                raise span.fail(f"nothing after {what}", end)
            return Content(kind="literal", text=text)
        if not span.text.startswith("<-"):
            raise span.fail(
                f'{what}: "text in double quotes", <- #N (what statement N produced), <- answer or <- last'
            )
        source = span.after(2)
        if source.text in ("last", "answer"):
            return None if source.text == "last" else Content(kind="answer")
        (index, field), end = self._reference(source, "#N, #N.field, answer or last after <-")
        if source.text[end:].strip():
            raise source.fail("nothing after the reference", end)
        return Content(kind="value", task=index, field=field)

    def _write(self, span: _Span) -> SubTask:
        if span.text.startswith('"'):
            path, end = _string(span, "the file's path")
        else:
            found = re.match(r"[^\s\"]+", span.text)
            if not found or found.group(0).startswith("<-"):
                raise span.fail("the file's path after write, e.g. write report.md <- last")
            path, end = found.group(0), found.end()
        content = self._content(span.after(end), "what to write")
        params: dict[str, Any] = {"path": path, "format": file_format(path)}
        if content is not None:
            params["content"] = content.model_dump(exclude_none=True)
        return make_subtask(kind="save", text="", params=params)

    def _notify(self, span: _Span) -> SubTask:
        found = re.match(r"#([\w-]+)", span.text)
        if not found:
            raise span.fail("a channel after notify, e.g. #ops")
        channel = found.group(1)
        rest = span.after(found.end())
        known = sorted(c.name for c in catalogue.CHANNELS)
        if channel not in known:
            self.problems.append(f"there is no channel {channel!r} (channels: {', '.join(known)})")
        service, rest = self._for_service(rest, optional=True)
        params: dict[str, Any] = {"channel": channel, "service": service}
        content = self._content(rest, "the message")
        if content is not None:
            params["content"] = content.model_dump(exclude_none=True)
        return make_subtask(kind="notify", text="", params=params)

    def _for_service(self, span: _Span, optional: bool) -> tuple[str | None, _Span]:
        found = re.match(r"for\s+([^\s\"]+)", span.text)
        if not found:
            if optional:
                return None, span
            raise span.fail("'for' and the service, e.g. open incident sev2 for search")
        name = found.group(1)
        if name == "?":
            return None, span.after(found.end())
        if name not in catalogue.SERVICE_NAMES:
            self.problems.append(
                f"there is no service {name!r} (services: {', '.join(catalogue.SERVICE_NAMES)})"
            )
        return name, span.after(found.end())

    def _incident(self, span: _Span) -> SubTask:
        severity = None
        found = re.match(r"(sev\w*)\b", span.text)
        if found:
            severity = found.group(1)
            if severity not in catalogue.SEVERITIES:
                self.problems.append(
                    f"there is no severity {severity!r} (severities: {', '.join(catalogue.SEVERITIES)})"
                )
            span = span.after(found.end())
        service, rest = self._for_service(span, optional=False)
        params: dict[str, Any] = {"service": service, "severity": severity}
        title = self._content(rest, "the title")
        if title is not None:
            params["title"] = title.model_dump(exclude_none=True)
        return make_subtask(kind="create", text="", params=params)

    # ------------------------------------------------------------------ arithmetic

    def _calc(self, span: _Span) -> SubTask:
        parts = _split(span, "|")
        unit = None
        if len(parts) > 1:
            last = parts[-1]
            found = re.fullmatch(r"in\s+(\S+)", last.text)
            if len(parts) > 2 or not found:
                raise last.fail("'in UNIT' after calc's '|', e.g. calc 90 / 60 | in hours")
            unit = found.group(1)
        body = parts[0]
        if not body.text:
            return make_subtask(kind="compute", text="", params={"unit": unit})
        used: list[tuple[int, str]] = []
        for found in _REF.finditer(body.text):
            self._earlier(body, int(found.group(1)), found.start())
            used.append((int(found.group(1)) - 1, found.group(2) or "value"))
        names = _ref_names(list(dict.fromkeys(used)))
        refs = {name: [index, field] for (index, field), name in names.items()}
        expression = _REF.sub(lambda m: names[(int(m.group(1)) - 1, m.group(2) or "value")], body.text)
        params: dict[str, Any] = {"expression": expression, "refs": refs, "unit": unit}
        params.update(self._error_rate(expression, refs))
        return make_subtask(kind="compute", text="", params=params)

    def _error_rate(self, expression: str, refs: dict[str, list[Any]]) -> dict[str, Any]:
        """A calc that is the catalogue's error-rate formula over one metrics read is that read's error rate."""
        targets = {tuple(ref) for ref in refs.values()}
        sources = {index for index, _ in targets}
        if len(sources) != 1 or {field for _, field in targets} != {"errors", "requests"}:
            return {}
        index = sources.pop()
        named = {f"@{field}": name for name, (_, field) in refs.items()}
        if expression != re.sub(
            r"@\w+", lambda m: named.get(m.group(0), m.group(0)), catalogue.ERROR_RATE_EXPRESSION
        ):
            return {}
        read = self.tasks[index].params
        if not isinstance(read, ReadParams) or read.resource != "metrics":
            return {}
        refs.clear()
        refs.update({"@errors": [index, "errors"], "@requests": [index, "requests"]})
        return {
            "expression": catalogue.ERROR_RATE_EXPRESSION,
            "metric": "error_rate",
            "service": read.service,
            "window": read.window,
        }

    # ------------------------------------------------------------------ questions over a table

    def _read(self, span: _Span) -> SubTask:
        kind = "query"
        plain = span.word() in ("fetch", "query")
        if plain:
            kind = span.word()
            span = span.after(len(kind))
        stages = _split(span, "|")
        head = stages[0]
        table = _TABLES.get(head.text)
        if table is None:
            raise head.fail(f"a statement: {_ACTIONS}")
        params: dict[str, Any] = {"resource": table, "filters": []}
        seen: set[str] = set()
        for stage in stages[1:]:
            name = self._stage(stage, table, plain, params)
            if name in seen:
                raise stage.fail(
                    f"each of where, the aggregate, by, in and round at most once ({name} is twice)"
                )
            seen.add(name)
        if not plain and params.get("aggregate") is None:
            params["aggregate"] = "list"
        windowed = "window" in params or any(f.field == "window" for f in params["filters"])
        if (
            not plain and table == "metrics" and not windowed
        ):  # a metrics row is per window: the reader's default
            params["window"] = catalogue.DEFAULT_WINDOW
        if (
            plain and table == "services" and "name" in params
        ):  # a plain read of one service is its own resource
            params["resource"] = "service"
            params["service"] = params.pop("name")
        if not params["filters"]:
            del params["filters"]
        return make_subtask(kind=kind, text="", params=params)

    def _stage(self, stage: _Span, table: str, plain: bool, params: dict[str, Any]) -> str:
        word = stage.word()
        if word == "where":
            for condition in _split(stage.after(5), " and "):
                self._filter(condition, table, plain, params)
            return "where"
        if word == "by":
            params["group_by"] = self._column(stage.after(2), table)
            return "by"
        if word == "in":
            unit = stage.after(2)
            if unit.text not in _units():
                raise unit.fail(f"a unit after 'in' ({', '.join(_units())})")
            params["unit"] = unit.text
            return "in"
        if word == "round":
            places = stage.after(5)
            if not re.fullmatch(r"\d+", places.text):
                raise places.fail("the decimal places after round, e.g. round 2")
            params["round_to"] = int(places.text)
            return "round"
        if word in _AGGREGATES:
            if word in ("latest", "earliest") and table not in estate.TIME_COLUMN:
                timed = " and ".join(estate.TIME_COLUMN)
                raise stage.fail(f"an aggregate other than latest and earliest: only {timed} have a time")
            params["aggregate"] = word
            rest = stage.after(len(word))
            if rest.text:
                params["field"] = self._column(rest, table)
            return "aggregate"
        raise stage.fail(f"where, an aggregate ({', '.join(_AGGREGATES)}), by, in or round")

    def _column(self, span: _Span, table: str) -> str:
        columns = estate.TABLE_COLUMNS[table]
        if span.text not in columns:
            label = table.replace("_", " ")
            raise span.fail(f"a column of {label} ({', '.join(columns)})")
        return span.text

    def _filter(self, span: _Span, table: str, plain: bool, params: dict[str, Any]) -> None:
        found = re.match(r"([A-Za-z_]\w*)\s*", span.text)
        if not found:
            raise span.fail("a condition: field op value, e.g. status != resolved")
        column = self._column(_Span(found.group(1), span.at), table)
        rest = span.after(found.end())
        op = next(
            (
                o
                for o in _OPS_MATCHED
                if re.match(re.escape(o) + (r"\b" if o[-1].isalpha() else ""), rest.text)
            ),
            None,
        )
        if op is None:
            raise rest.fail(f"an operator ({', '.join(_OPS)})")
        value_span = rest.after(len(op))
        value = _value(value_span, op)
        self._check_value(value_span, table, column, op, value)
        if plain:
            if op != "=" or (column not in FLAT_FIELDS and column != "name"):
                raise span.fail(
                    f"'field = value' on {', '.join(FLAT_FIELDS)}: a plain read (fetch/query) takes only those; "
                    "drop fetch/query to ask a question with other conditions"
                )
            if column in params:
                raise span.fail(f"each field once in a plain read ({column} is twice)")
            params[column] = value
        elif column == "window" and op == "=":
            params["window"] = value  # the estate reader's convention: the window is the metrics row's own
        else:
            params["filters"].append(Filter(field=column, op=op, value=value))  # type: ignore[arg-type]

    def _check_value(self, span: _Span, table: str, column: str, op: str, value: Any) -> None:
        values = value if isinstance(value, list) else [value]
        numeric = column in estate.NUMERIC
        if op in (">", ">=", "<", "<=") and not (numeric or column in estate.TIME_COLUMN.values()):
            raise span.fail(f"=, !=, in or not in: {column} is not a number", 0)
        for item in values:
            if numeric and not isinstance(item, (int, float)):
                raise span.fail(f"a number: {column} is a number")
        known = _known_values().get((table, column))
        if known is None:
            return
        unknown = [v for v in values if v not in known]
        if unknown:
            accepted = ", ".join(str(v) for v in sorted(known, key=str))
            self.problems.append(
                f"there is no {column} {unknown[0]!r} in {table.replace('_', ' ')} ({column}: {accepted})"
            )


def _ref_names(used: list[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """Names for a calc's references, as the reader gives them: ``@result`` for the one value an earlier
    statement produced (a chain of arithmetic is then shown as one), ``@field`` for a field of it,
    ``@a``, ``@b``, ... for several figures."""
    fields = [field for _, field in used]
    if len(used) == 1 and fields == ["value"]:
        return {used[0]: "@result"}
    if "value" not in fields and len(set(fields)) == len(fields):
        return {key: f"@{key[1]}" for key in used}
    return {key: f"@{chr(ord('a') + i)}" if i < 26 else f"@r{i}" for i, key in enumerate(used)}


_FLAGS = {
    "dry run": "dry_run",
    "read-only": "read_only",
    "no files": "no_files",
}  # as language.py writes them


def _constraints(span: _Span) -> tuple[Constraints, _Span]:
    if not span.text.startswith("["):
        return Constraints(), span
    end = span.text.find("]")
    if end < 0:
        raise span.fail("the constraints closed with ]")
    said: dict[str, Any] = {"denied_tools": []}
    for item in _split(_Span(span.text[1:end], span.at + 1), ","):
        text = item.text
        if text in _FLAGS:
            said[_FLAGS[text]] = True
        elif m := re.fullmatch(r"budget\s+(\d+(?:\.\d+)?)", text):
            said["budget"] = float(m.group(1))
        elif m := re.fullmatch(r"max\s+(\d+)\s+steps?", text):
            said["max_steps"] = int(m.group(1))
        elif m := re.fullmatch(r"deadline\s+(\d+(?:\.\d+)?)\s*s", text):
            said["deadline_seconds"] = float(m.group(1))
        elif m := re.fullmatch(r"not\s+(\w+)", text):
            said["denied_tools"].append(m.group(1))
        else:
            raise item.fail(
                "a constraint: dry run, read-only, no files, budget N, max N steps, deadline N s, not TOOL"
            )
    return Constraints(**said), span.after(end + 1)


def parse(text: str) -> PerceivedState:
    """The perceived state ``text`` denotes; raises ``PlanTextError`` for text the language does not have.

    A value the estate does not have (a service, channel, id, window, severity) keeps the sub-tasks and
    makes the state ``unsupported`` naming it, the way the offline reader refuses it; an incident with
    no service, or a notification with nothing to say, makes it ``ambiguous``.
    """
    whole = _Span(text, 0).strip()
    if not whole.text:
        raise PlanTextError(
            "plan text is empty; write one statement per sub-task, e.g. incidents | where status = open | count"
        )
    constraints, body = _constraints(whole)
    parser = _Parser()
    for span in _split(body, ";"):
        if not span.text:
            raise span.fail("a statement between two ';'")
        parser.statement(span)
    state = state_of(parser.tasks, constraints)
    if parser.problems:
        return state.model_copy(
            update={"task_type": "unsupported", "intent": "unsupported", "unsupported": parser.problems}
        )
    missing = [
        f"which service ({', '.join(catalogue.SERVICE_NAMES)}) for {t.text!r}"
        for t in parser.tasks
        if isinstance(t, CreateTask) and t.params.service is None
    ] + missing_details(state)
    for index, task in enumerate(parser.tasks):
        if task.kind == "summarize" and not any(t.kind in _PRODUCES for t in parser.tasks[:index]):
            missing.append(f"what to summarize: nothing is read or computed before #{index + 1}")
    if any(isinstance(t, ComputeTask) and t.params.expression is None for t in parser.tasks):
        missing.append("what to calculate: a calc with no expression")
    if missing:
        return state.model_copy(update={"task_type": "ambiguous", "intent": "ambiguous", "missing": missing})
    return state


def perceive_plan_text(text: str) -> PerceivedState:
    """Perception of a run started from plan text: what it denotes, or a refusal naming what was wrong."""
    try:
        return parse(text)
    except PlanTextError as exc:
        return PerceivedState(intent="unsupported", task_type="unsupported", unsupported=[str(exc)])
