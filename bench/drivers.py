"""Three ways to drive the same Lambda handlers through the same workflow.

- ``direct``: the handlers called in sequence by a plain loop (the physical limit: no engine).
- ``langgraph``: the same graph as a LangGraph ``StateGraph`` (the peer users pick instead).
- the embedded Step Functions engine is driven by ``chalicelib.workflow`` itself.

The transitions mirror ``maoo.asl.json``; they exist here only to measure against it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from embedded_engine import LambdaContext

Handlers = dict[str, Callable[[dict, Any], Any]]


def _ctx(name: str) -> LambdaContext:
    return LambdaContext(function_name=name, aws_request_id=str(uuid.uuid4()))


def _call_tool(handlers: Handlers, state: dict) -> dict:
    result = handlers["tool_" + state["call"]["tool"]](state["call"], _ctx("tool"))
    return {**state, "outcome": {"result": result}}


def run_direct(handlers: Handlers, state: dict) -> tuple[dict, int]:
    """Run one request with a plain loop. Returns the final state and the number of states visited."""
    visited = 0

    def step(name: str, value: dict) -> dict:
        nonlocal visited
        visited += 1
        return handlers[name](value, _ctx(name))

    state = step("perceive", state)
    state = step("plan", state)
    while state.get("plan_ok"):
        state = step("next_step", state)
        if state.get("route") != "call":
            break
        visited += 1
        state = _call_tool(handlers, state)
        state = step("observe", state)
        decision = state.get("decision")
        if decision == "retry":
            time.sleep(state.get("wait_seconds", 0))
        elif decision == "replan":
            state = step("plan", state)
        elif decision == "abort":
            break
    state = step("finalize", state)
    return state, visited


def build_langgraph(handlers: Handlers, checkpointer: Any = None):
    """The workflow as a LangGraph graph over the same handlers (dev-only extra ``bench``).

    With ``checkpointer`` (e.g. ``langgraph-checkpoint-sqlite``'s ``SqliteSaver``) LangGraph saves
    a checkpoint after every super-step: the durable peer of MAOO's checkpoint per Task state."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class Box(TypedDict):
        s: dict

    def node(name: str):
        return lambda box: {"s": handlers[name](box["s"], _ctx(name))}

    def backoff(box: Box) -> Box:
        time.sleep(box["s"].get("wait_seconds", 0))
        return box

    # typed only when the bench extra is installed: Any keeps mypy's answer the same either way
    graph: Any = StateGraph(Box)
    for name in ("perceive", "plan", "next_step", "observe", "finalize"):
        graph.add_node(name, node(name))
    graph.add_node("call_tool", lambda box: {"s": _call_tool(handlers, box["s"])})
    graph.add_node("backoff", backoff)
    graph.add_edge(START, "perceive")
    graph.add_edge("perceive", "plan")
    graph.add_conditional_edges("plan", lambda box: "next_step" if box["s"].get("plan_ok") else "finalize")
    graph.add_conditional_edges(
        "next_step", lambda box: "call_tool" if box["s"].get("route") == "call" else "finalize"
    )
    graph.add_edge("call_tool", "observe")
    graph.add_conditional_edges(
        "observe",
        lambda box: {"retry": "backoff", "replan": "plan", "abort": "finalize"}.get(
            box["s"].get("decision"), "next_step"
        ),
    )
    graph.add_edge("backoff", "next_step")
    graph.add_edge("finalize", END)
    return graph.compile(checkpointer=checkpointer)


def run_langgraph(compiled, state: dict) -> dict:
    config = {"recursion_limit": 1000, "configurable": {"thread_id": state["run_id"]}}
    return compiled.invoke({"s": state}, config)["s"]


def sqlite_checkpointer(path: str) -> Any:
    """LangGraph's SQLite checkpointer on one long-lived connection, as MAOO's run store keeps one."""
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    saver = SqliteSaver(sqlite3.connect(path, check_same_thread=False))
    saver.setup()
    return saver
