"""The state machine as a graph: every state and transition of the ASL, laid out by grandalf.

Why grandalf (a pure-Python Sugiyama layered layout, pinned in requirements.txt):

- the layout is computed where the page is made (the CLI, ``chalice local``, the API's Lambda),
  so the page is plain inline SVG: no script library, no network, nothing copied into the repo;
- it adds about 170 KB of pure-Python wheels (grandalf and pyparsing) to the Lambda package,
  where Graphviz would need a native binary in the Lambda, and elkjs or dagre a JavaScript build
  of several hundred KB bundled into every page;
- it breaks the definition's cycles (``Decide`` back to ``NextStep`` and ``Plan``) itself, and
  routes long edges through the layers, so no coordinate is placed by hand.

The geometry depends on the definition only, so it is computed once per process and cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from chalicelib.workflow.definition import load_definition

NODE_HEIGHT = 34.0
CHAR_WIDTH = 7.4
NODE_PAD = 26.0
LAYER_GAP = 46.0
MARGIN = 30.0


@dataclass(frozen=True)
class Node:
    """One state: its name, ASL type and box (centre ``x``, ``y``; size ``w`` x ``h``)."""

    name: str
    type: str
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = NODE_HEIGHT


@dataclass(frozen=True)
class Transition:
    """One transition of the definition. ``kind`` is next, choice, default or catch; ``label``
    is the Choice rule (or ``default``, ``catch``) a reader sees on the edge."""

    source: str
    target: str
    kind: str
    label: str
    rule: dict[str, Any] | None = None
    points: tuple[tuple[float, float], ...] = ()

    @property
    def key(self) -> str:
        """A stable id for the edge (several transitions may join the same two states)."""
        return f"{self.source}->{self.target}#{self.kind}:{self.label}"


@dataclass
class GraphLayout:
    nodes: dict[str, Node]
    transitions: list[Transition]
    width: float
    height: float
    start: str
    comment: str = ""
    notes: list[str] = field(default_factory=list)


def _operand(rule: dict[str, Any]) -> str:
    variable = str(rule.get("Variable", "")).removeprefix("$.")
    for key, value in rule.items():
        if key in ("Variable", "Next"):
            continue
        op = key.removesuffix("Path")
        if op.endswith("Equals"):
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            return f"{variable} = {shown}"
        return f"{variable} {op} {value}"
    return variable


def rule_label(rule: dict[str, Any]) -> str:
    """A Choice rule as short text: ``decision = retry``; ``And`` drops the terms every branch
    of the router shares only when the caller asks, so here all terms are kept."""
    if "And" in rule:
        return " & ".join(rule_label(r) for r in rule["And"])
    if "Or" in rule:
        return " | ".join(rule_label(r) for r in rule["Or"])
    if "Not" in rule:
        return f"not ({rule_label(rule['Not'])})"
    return _operand(rule)


def _shared_terms(choices: list[dict[str, Any]]) -> set[str]:
    """Terms present in every ``And`` rule of a Choice (``route = call`` in the tool router):
    they say nothing about which branch is taken, so the edge labels leave them out."""
    sets = [{rule_label(r) for r in c["And"]} for c in choices if "And" in c]
    if len(sets) < 2:
        return set()
    return set.intersection(*sets)


def _choice_label(rule: dict[str, Any], shared: set[str]) -> str:
    if "And" in rule:
        terms = [rule_label(r) for r in rule["And"] if rule_label(r) not in shared]
        return " & ".join(terms) or rule_label(rule)
    return rule_label(rule)


def transitions_of(definition: dict[str, Any]) -> list[Transition]:
    """Every transition in the definition: ``Next``, each Choice rule, ``Default`` and ``Catch``."""
    found: list[Transition] = []
    for name, state in definition["States"].items():
        if state.get("Type") == "Choice":
            shared = _shared_terms(state.get("Choices", []))
            for rule in state.get("Choices", []):
                found.append(Transition(name, rule["Next"], "choice", _choice_label(rule, shared), rule))
            if state.get("Default"):
                found.append(Transition(name, state["Default"], "default", "default"))
        if state.get("Next"):
            found.append(Transition(name, state["Next"], "next", ""))
        for catcher in state.get("Catch", []):
            errors = ", ".join(catcher.get("ErrorEquals", []))
            found.append(Transition(name, catcher["Next"], "catch", f"catch {errors}"))
    return found


class _Box:
    """grandalf's view of a vertex: it reads ``w``/``h`` and writes ``xy`` (the centre)."""

    def __init__(self, w: float, h: float):
        self.w = w
        self.h = h
        self.xy: tuple[float, float] = (0.0, 0.0)


class _Path:
    """grandalf's view of an edge: ``setpath`` receives the routed points."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[Any]) -> None:
        self.points = [(float(p[0]), float(p[1])) for p in points]


def _node_width(name: str) -> float:
    return max(80.0, len(name) * CHAR_WIDTH + NODE_PAD)


def _components(names: list[str], pairs: list[tuple[str, str]]) -> list[list[str]]:
    """The connected groups of states, each in definition order.

    Built here rather than by grandalf's ``Graph``, which keeps a component's edges in a set:
    their order, and so the drawing, then changed from one process to the next."""
    group = {name: {name} for name in names}
    for a, b in pairs:
        if group[a] is not group[b]:
            merged = group[a] | group[b]
            for name in merged:
                group[name] = merged
    seen: list[set[str]] = []
    for name in names:
        if not any(group[name] is g for g in seen):
            seen.append(group[name])
    return [[n for n in names if n in g] for g in seen]


def _back_edges(roots: list[str], edges: dict[tuple[str, str], Any]) -> set[tuple[str, str]]:
    """The edges that close a cycle, found by a depth-first walk from the roots in definition order.

    grandalf can find them itself, but in an order that depends on object ids; this walk gives
    the same layout in every process."""
    successors: dict[str, list[str]] = {}
    for source, target in edges:
        successors.setdefault(source, []).append(target)
    back: set[tuple[str, str]] = set()
    done: set[str] = set()
    on_path: list[str] = []

    def walk(name: str) -> None:
        on_path.append(name)
        for target in successors.get(name, []):
            if target in on_path:
                back.add((name, target))
            elif target not in done:
                walk(target)
        on_path.pop()
        done.add(name)

    for root in roots:
        if root not in done:
            walk(root)
    return back


def _ranked_pairs(transitions: list[Transition]) -> list[tuple[str, str]]:
    """The (source, target) pairs the layout ranks, once each, in definition order.

    A Catch from every Task to one state (``Finalize``) would drag the ranking, so a Catch is
    ranked only when nothing else reaches its target; the others are drawn along straight lines."""
    reached_otherwise = {t.target for t in transitions if t.kind != "catch"}
    pairs: list[tuple[str, str]] = []
    for t in transitions:
        if t.kind == "catch" and t.target in reached_otherwise:
            continue
        if (t.source, t.target) not in pairs and t.source != t.target:
            pairs.append((t.source, t.target))
    return pairs


def layout(definition: dict[str, Any]) -> GraphLayout:
    """Lay out ``definition`` top to bottom from ``StartAt``; every state and transition is kept."""
    from grandalf.graphs import Edge, Vertex, graph_core  # imported on first page, not at Lambda start
    from grandalf.layouts import SugiyamaLayout

    states = definition["States"]
    vertices = {name: Vertex(name) for name in states}
    for name, vertex in vertices.items():
        vertex.view = _Box(_node_width(name), NODE_HEIGHT)
    transitions = transitions_of(definition)
    edges: dict[tuple[str, str], Any] = {}
    for pair in _ranked_pairs(transitions):
        edges[pair] = Edge(vertices[pair[0]], vertices[pair[1]])
        edges[pair].view = _Path()
    offset_x = 0.0
    for names in _components(list(states), list(edges)):
        component = graph_core([vertices[n] for n in names], [e for (a, _), e in edges.items() if a in names])
        sugiyama = SugiyamaLayout(component)
        sugiyama.yspace = LAYER_GAP
        sugiyama.xspace = 28.0
        root = definition["StartAt"] if definition["StartAt"] in names else names[0]
        backward = _back_edges([root], edges)
        sugiyama.init_all(
            roots=[vertices[root]],
            inverted_edges=[e for key, e in edges.items() if key in backward and key[0] in names],
            optimize=True,
        )
        sugiyama.draw(3)
        placed = [vertices[n] for n in names]
        left = min(v.view.xy[0] - v.view.w / 2 for v in placed)
        for v in placed:
            v.view.xy = (v.view.xy[0] - left + offset_x, v.view.xy[1])
        for (a, _), e in edges.items():
            if a in names:
                e.view.points = [(x - left + offset_x, y) for x, y in e.view.points]
        offset_x = max(v.view.xy[0] + v.view.w / 2 for v in placed) + 40.0
    points = [p for e in edges.values() for p in e.view.points]
    min_x = min([v.view.xy[0] - v.view.w / 2 for v in vertices.values()] + [p[0] for p in points]) - MARGIN
    min_y = min([v.view.xy[1] - NODE_HEIGHT / 2 for v in vertices.values()] + [p[1] for p in points]) - MARGIN

    def shift(p: tuple[float, float]) -> tuple[float, float]:
        return (round(p[0] - min_x, 1), round(p[1] - min_y, 1))

    nodes = {
        name: Node(name, states[name].get("Type", "?"), *shift(v.view.xy), v.view.w, v.view.h)
        for name, v in vertices.items()
    }
    routed = []
    for t in transitions:
        edge = edges.get((t.source, t.target))
        path = tuple(shift(p) for p in edge.view.points) if edge is not None else ()
        routed.append(Transition(t.source, t.target, t.kind, t.label, t.rule, path))
    shifted = [p for t in routed for p in t.points]
    width = max([n.x + n.w / 2 for n in nodes.values()] + [p[0] for p in shifted]) + MARGIN + 120.0  # labels
    height = max([n.y + n.h / 2 for n in nodes.values()] + [p[1] for p in shifted]) + MARGIN
    return GraphLayout(
        nodes, routed, round(width, 1), round(height, 1), definition["StartAt"], definition.get("Comment", "")
    )


@lru_cache(maxsize=1)
def machine_layout() -> GraphLayout:
    """The layout of ``chalicelib/statemachine/maoo.asl.json`` (computed once per process)."""
    return layout(load_definition())
