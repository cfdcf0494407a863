"""An Express run's history, rebuilt from MAOO's own record: Express keeps none of its own.

Every Task state checkpoints the document it returns (``chalicelib.durable.checkpoints``): a layer
its ``RunState``, a tool its result. ``recorded_history`` walks the definition from the start of
the run, one checkpoint per Task state, deciding each ``Choice`` with the definition's own rules on
the document that reaches it, and writes the events ``GetExecutionHistory`` would have answered
for the states entered: their names, order, input and output documents and when they ended (a
state's entry time is when the state before it ended). The executions a run went on in (a
continuation, an approval, a resume) follow one another in the one list, each starting at the
entry ``Choice``. What no checkpoint says is not made up: a state that crashed before its
checkpoint, the invocations of a Lambda its Retry ran again (the call is one state entered, with
the last result, as the engine shows it) and the engine's own timestamps are missing from it; a
walk that meets a checkpoint of another state than the definition leads to goes on from that state.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.workflow.definition import load_definition

SOURCE = "checkpoints"  # a trace's ``execution.source`` when its history is rebuilt here
_MAX_STATES = 20_000  # a walk never runs away, whatever the rows hold


def _path_value(document: Any, path: str) -> Any:
    value = document
    for part in path.removeprefix("$").strip(".").split("."):
        if not part:
            continue
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def rule_matches(rule: dict[str, Any], document: Any) -> bool:
    """Whether a Choice rule holds for ``document`` (the comparison operators our definition uses)."""
    if "And" in rule:
        return all(rule_matches(r, document) for r in rule["And"])
    if "Or" in rule:
        return any(rule_matches(r, document) for r in rule["Or"])
    if "Not" in rule:
        return not rule_matches(rule["Not"], document)
    value = _path_value(document, str(rule.get("Variable", "$")))
    for op, expected in rule.items():
        if op in ("StringEquals", "BooleanEquals", "NumericEquals"):
            return bool(value == expected)
        if op == "IsPresent":
            return (value is not None) == expected
    return False


def _choose(state: dict[str, Any], document: Any) -> str | None:
    for rule in state.get("Choices", []):
        if rule_matches(rule, document):
            return str(rule["Next"])
    return state.get("Default")


class _Writer:
    def __init__(self, values: dict[str, Any] | None) -> None:
        self.events: list[dict[str, Any]] = []
        self.values = values  # each document's text -> the document, for the trace's encoder
        self._texts: dict[int, tuple[Any, str]] = {}

    def text(self, document: Any) -> str:
        """``document`` as JSON text, written once however often it is handed on."""
        kept = self._texts.get(id(document))
        if kept is not None and kept[0] is document:
            return kept[1]
        written = json.dumps(document, separators=(",", ":"), default=str)
        self._texts[id(document)] = (document, written)
        if self.values is not None:
            self.values[written] = document
        return written

    def add(self, kind: str, when: float, **details: Any) -> None:
        event: dict[str, Any] = {"timestamp": when, "type": kind, "id": len(self.events) + 1}
        if self.events:
            event["previousEventId"] = len(self.events)
        self.events.append({**event, **details})

    def state(self, name: str, kind: str, entered: float, left: float, given: Any, returned: Any) -> None:
        self.add(
            f"{kind}StateEntered", entered, stateEnteredEventDetails={"name": name, "input": self.text(given)}
        )
        self.add(
            f"{kind}StateExited", left, stateExitedEventDetails={"name": name, "output": self.text(returned)}
        )


def _same_call(row: dict[str, Any], before: dict[str, Any]) -> bool:
    """``row`` checkpoints the same call of the same state as ``before``: its Lambda ran again."""
    call, earlier = row["document"].get("call") or {}, before["document"].get("call") or {}
    return (
        row["kind"] == "tool"
        and row["state"] == before["state"]
        and (call.get("step_id"), call.get("attempt")) == (earlier.get("step_id"), earlier.get("attempt"))
    )


def _tool_output(document: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """A Call state's output: its input with the tool's result where the definition puts it."""
    return {**document, "outcome": {"result": row["document"].get("result")}}


def recorded_history(
    start: dict[str, Any], started_at: float, rows: list[dict[str, Any]], values: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The history of a run's executions from its start document and checkpoint rows (in order);
    ``values`` (when given) gets each document's text as key and the document (JSON's own types,
    as the run store gave it back) as value, so that the trace need not parse it again."""
    states = load_definition()["States"]
    entry = str(load_definition()["StartAt"])
    out = _Writer(values)
    rows = [r for r in rows if r["kind"] != "tool_started"]
    document: Any = start
    when = started_at
    name: str | None = entry
    out.add("ExecutionStarted", when, executionStartedEventDetails={"input": out.text(start)})
    index = 0
    for _ in range(_MAX_STATES):
        if name is None or name not in states:
            break
        state = states[name]
        kind = state["Type"]
        if kind == "Task":
            if index >= len(rows):
                break  # the run has not got further (or its state crashed before its checkpoint)
            row = rows[index]
            if row["state"] != name:  # a checkpoint the definition does not lead to: go on from it
                name = row["state"]
                continue
            index += 1
            while row["kind"] == "tool" and index < len(rows) and _same_call(rows[index], row):
                row, index = rows[index], index + 1  # the Lambda ran again (Retry): one state entered
            returned = _tool_output(document, row) if row["kind"] == "tool" else row["document"]
            out.state(name, kind, when, float(row["ts"]), document, returned)
            document, when, name = returned, float(row["ts"]), state.get("Next")
        elif kind == "Choice":
            target = _choose(state, document)
            out.state(name, kind, when, when, document, document)
            name = target
        elif kind in ("Wait", "Pass"):
            out.state(name, kind, when, when, document, document)
            name = state.get("Next")
        else:  # Succeed or Fail: this execution ends here
            out.state(name, kind, when, when, document, document)
            if kind == "Fail" or index >= len(rows):
                break
            # the run went on in a new execution, at the state its next checkpoint is of
            document = {**document, "resume_at": rows[index]["state"]}
            out.add("ExecutionSucceeded", when, executionSucceededEventDetails={"output": out.text(document)})
            out.add("ExecutionStarted", when, executionStartedEventDetails={"input": out.text(document)})
            name = entry
    ended = out.events[-1]["type"] if out.events else ""
    if ended.startswith("Succeed") and ended.endswith("StateExited"):
        out.add("ExecutionSucceeded", when, executionSucceededEventDetails={"output": out.text(document)})
    return out.events
