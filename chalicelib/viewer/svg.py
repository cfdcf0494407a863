"""The two drawings of a run page, as inline SVG: the state machine graph and the timeline.

Geometry comes from ``graph.machine_layout()`` (grandalf) and the run's facts; nothing here
places a state by hand. Each node carries ``data-state`` and each timeline item ``data-visit``,
which is all the page's script needs to show a state's documents.
"""

from __future__ import annotations

import html
import math
from itertools import pairwise
from typing import Any

from chalicelib.viewer.facts import RunFacts
from chalicelib.viewer.graph import GraphLayout, Node, Transition

TIMELINE_WIDTH = 1100.0
LANE_HEIGHT = 26.0
LABEL_WIDTH = 90.0
LANES = ("states", "tool calls", "waits", "approvals")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _clip(center: tuple[float, float], node: Node, toward: tuple[float, float]) -> tuple[float, float]:
    """Where the segment from a node's centre toward ``toward`` leaves the node's box."""
    dx, dy = toward[0] - center[0], toward[1] - center[1]
    if dx == 0 and dy == 0:
        return center
    scale = min(node.w / 2 / abs(dx) if dx else math.inf, node.h / 2 / abs(dy) if dy else math.inf)
    scale = min(scale, 1.0)
    return (round(center[0] + dx * scale, 1), round(center[1] + dy * scale, 1))


def _route(t: Transition, nodes: dict[str, Node]) -> list[tuple[float, float]]:
    source, target = nodes[t.source], nodes[t.target]
    points = list(t.points) or [(source.x, source.y), (target.x, target.y)]
    first, last = points[0], points[-1]
    if math.dist(first, (target.x, target.y)) < math.dist(first, (source.x, source.y)) and math.dist(
        last, (source.x, source.y)
    ) < math.dist(last, (target.x, target.y)):
        points.reverse()  # grandalf reverses an edge it turned around to break a cycle
    points[0] = (source.x, source.y)
    points[-1] = (target.x, target.y)
    if len(points) >= 2:
        points[0] = _clip(points[0], source, points[1])
        points[-1] = _clip(points[-1], target, points[-2])
    return points


def _along(points: list[tuple[float, float]], fraction: float) -> tuple[float, float]:
    """The point ``fraction`` of the way along a polyline."""
    lengths = [math.dist(a, b) for a, b in pairwise(points)]
    left = sum(lengths) * fraction
    for (a, b), length in zip(pairwise(points), lengths, strict=True):
        if left <= length and length > 0:
            r = left / length
            return (a[0] + (b[0] - a[0]) * r, a[1] + (b[1] - a[1]) * r)
        left -= length
    return points[len(points) // 2]


def _label_at(
    group: list[Transition], layout: GraphLayout, points: list[tuple[float, float]]
) -> tuple[float, float, str]:
    """Where an edge's labels go (x, y of the first line, text anchor).

    The branches of a Choice that fans out to many states of one row (the tool router) run close
    together near the Choice, so their labels sit just above each target, every other one a line
    higher. Other labels sit half-way along their edge."""
    first = group[0]
    target = layout.nodes[first.target]
    row = sorted(
        {
            t.target
            for t in layout.transitions
            if t.source == first.source and layout.nodes[t.target].y == target.y
        },
        key=lambda name: layout.nodes[name].x,
    )
    if len(row) > 3 and first.kind in ("choice", "default"):
        lines = sum(1 for t in group if t.label)
        lift = 8 + (row.index(first.target) % 2) * 12 + (lines - 1) * 12
        return (target.x, target.y - target.h / 2 - lift, "middle")
    x, y = _along(points, 0.5)
    return (x + 6, y + 4, "start")


def _edge_class(group: list[Transition], facts: RunFacts) -> str:
    classes = ["edge"]
    if any(facts.edge_counts.get(t.key) for t in group):
        classes.append("taken")
    labels = " ".join(t.label for t in group if facts.edge_counts.get(t.key))
    if "retry" in labels:
        classes.append("retry")
    if "replan" in labels:
        classes.append("replan")
    if all(t.kind == "catch" for t in group):
        classes.append("catch")
    return " ".join(classes)


def _edge_labels(group: list[Transition], facts: RunFacts, at: tuple[float, float, str]) -> str:
    x, y, anchor = at
    lines: list[str] = []
    for t in group:
        count = facts.edge_counts.get(t.key, 0)
        if not count and (not t.label or t.kind == "catch"):
            continue  # an unused Catch is the dashed line alone; its rule is in the line's tooltip
        text = ("catch" if t.kind == "catch" else t.label) + (f" ×{count}" if count else "")
        cls = "elabel taken" if count else "elabel"
        title = f"<title>{_e(t.label)}</title>" if t.label else ""
        lines.append(
            f'<text class="{cls}" x="{x:.1f}" y="{y + len(lines) * 12:.1f}" text-anchor="{anchor}" '
            f'data-edge="{_e(t.key)}" data-count="{count}">{title}{_e(text.strip())}</text>'
        )
    return "".join(lines)


def _edges(layout: GraphLayout, facts: RunFacts) -> str:
    groups: dict[tuple[str, str], list[Transition]] = {}
    for t in layout.transitions:
        groups.setdefault((t.source, t.target), []).append(t)
    paths, labels = [], []
    for (source, target), group in groups.items():
        points = _route(group[0], layout.nodes)
        d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
        cls = _edge_class(group, facts)
        marker = "arrow-taken" if "taken" in cls else "arrow"
        rules = "; ".join(t.label for t in group if t.label)
        title = f"{source} → {target}" + (f" ({rules})" if rules else "")
        paths.append(
            f'<path class="{cls}" d="{d}" marker-end="url(#{marker})" data-from="{_e(source)}" '
            f'data-to="{_e(target)}"><title>{_e(title)}</title></path>'
        )
        labels.append(_edge_labels(group, facts, _label_at(group, layout, points)))
    return "".join(paths) + "".join(labels)


def _node(node: Node, facts: RunFacts) -> str:
    outcome = facts.node_outcomes.get(node.name)
    count = facts.node_counts.get(node.name, 0)
    classes = ["node", f"t-{node.type.lower()}", f"o-{outcome}" if outcome else "unvisited"]
    if node.name == facts.current:
        classes.append("current")
    shape = 'rx="17"' if node.type in ("Choice",) else 'rx="6"'
    badge = ""
    if count:
        badge = (
            f'<g class="badge"><circle cx="{node.w / 2 - 2:.1f}" cy="{-node.h / 2 + 2:.1f}" r="10"/>'
            f'<text x="{node.w / 2 - 2:.1f}" y="{-node.h / 2 + 6:.1f}">{count}</text></g>'
        )
    title = f"{node.name} ({node.type})" + (f": entered {count}×" if count else ": not entered")
    return (
        f'<g class="{" ".join(classes)}" data-state="{_e(node.name)}" data-count="{count}" '
        f'transform="translate({node.x:.1f},{node.y:.1f})" tabindex="0" role="button">'
        f"<title>{_e(title)}</title>"
        f'<rect x="{-node.w / 2:.1f}" y="{-node.h / 2:.1f}" '
        f'width="{node.w:.1f}" height="{node.h:.1f}" {shape}/>'
        f'<text y="4">{_e(node.name)}</text>{badge}</g>'
    )


def graph_svg(layout: GraphLayout, facts: RunFacts) -> str:
    """The state machine with the run's path on it."""
    defs = (
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
        'markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#9aa3b2"/></marker>'
        '<marker id="arrow-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="11" markerHeight="11" '
        'markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#2952cc"/></marker></defs>'
    )
    nodes = "".join(_node(n, facts) for n in layout.nodes.values())
    return (
        f'<svg id="graph" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" '
        f'style="width:100%;height:auto;max-width:{layout.width:.0f}px" role="img" '
        f'aria-label="state machine with this run\'s path">{defs}<g class="edges">{_edges(layout, facts)}</g>'
        f'<g class="nodes">{nodes}</g></svg>'
    )


def _bar(lane: int, x0: float, x1: float, cls: str, label: str, title: str, visit: int | None) -> str:
    y = 8 + lane * LANE_HEIGHT
    width = max(x1 - x0, 3.0)
    data = f' data-visit="{visit}"' if visit is not None else ""
    text = f'<text x="{x0 + 3:.1f}" y="{y + 13:.1f}">{_e(label)}</text>' if width > len(label) * 6 else ""
    return (
        f'<g class="tl-item {cls}"{data}><title>{_e(title)}</title>'
        f'<rect x="{x0:.1f}" y="{y:.1f}" width="{width:.1f}" '
        f'height="{LANE_HEIGHT - 8:.0f}" rx="3"/>{text}</g>'
    )


def timeline_svg(facts: RunFacts) -> str:
    """States, tool calls, Backoff waits and pauses on one time axis (seconds from the start)."""
    span = max(facts.t1 - facts.t0, 0.001)
    scale = (TIMELINE_WIDTH - LABEL_WIDTH - 20) / span

    def x(t: float) -> float:
        return LABEL_WIDTH + (t - facts.t0) * scale

    items: list[str] = []
    for v in facts.visits:
        if v.type != "Wait":
            items.append(
                _bar(
                    0,
                    x(v.start),
                    x(v.end or facts.t1),
                    f"st o-{v.outcome}",
                    v.name,
                    f"{v.name} at +{v.start - facts.t0:.3f} s "
                    f"for {((v.end or facts.t1) - v.start) * 1000:.0f} ms",
                    v.index,
                )
            )
    for c in facts.tool_calls:
        cls = "call ok" if c.ok else ("call fail" if c.ok is False else "call")
        label = f"{c.tool} #{c.attempt}"
        title = (
            f"{c.step_id} {c.tool} attempt {c.attempt}: {c.signal or '…'} → {c.decision or '…'}"
            f"{f' ({c.latency_ms:.0f} ms)' if c.latency_ms is not None else ''}"
        )
        items.append(_bar(1, x(c.start), x(c.end or facts.t1), cls, label, title, c.visit))
    for w in facts.waits:
        seconds = (w.end or facts.t1) - w.start
        items.append(
            _bar(
                2,
                x(w.start),
                x(w.end or facts.t1),
                "wait",
                f"{seconds:.1f} s",
                f"Backoff waited {seconds:.2f} s",
                w.index,
            )
        )
    for a in facts.approvals:
        px = x(a["ts"])
        items.append(
            f'<g class="tl-item mark"><title>{_e(a["kind"])}</title>'
            f'<path d="M{px:.1f},{8 + 3 * LANE_HEIGHT:.1f} '
            f'l6,9 l-6,9 l-6,-9 z"/><text x="{px + 8:.1f}" y="{21 + 3 * LANE_HEIGHT:.1f}">'
            f"{_e(a['kind'])}</text></g>"
        )
    height = 8 + len(LANES) * LANE_HEIGHT + 22
    ticks = []
    step = _tick_step(span)
    t = 0.0
    while t <= span + 1e-9:
        ticks.append(
            f'<line x1="{x(facts.t0 + t):.1f}" x2="{x(facts.t0 + t):.1f}" y1="4" y2="{height - 18}"/>'
            f'<text x="{x(facts.t0 + t):.1f}" y="{height - 4}">{t:g} s</text>'
        )
        t = round(t + step, 6)
    lanes = "".join(
        f'<text class="lane" x="4" y="{21 + i * LANE_HEIGHT:.1f}">{name}</text>'
        for i, name in enumerate(LANES)
    )
    return (
        f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {TIMELINE_WIDTH:.0f} {height}" '
        f'width="100%" role="img" aria-label="timeline"><g class="ticks">{"".join(ticks)}</g>'
        f"{lanes}{''.join(items)}</svg>"
    )


def _tick_step(span: float) -> float:
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600):
        if span / step <= 12:
            return float(step)
    return span / 10
