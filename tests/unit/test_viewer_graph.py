"""The run viewer's graph: drawn from maoo.asl.json itself, every state and transition, laid out by
grandalf."""

from __future__ import annotations

import json

from chalicelib.viewer.facts import diff, rule_matches
from chalicelib.viewer.graph import layout, machine_layout, transitions_of
from chalicelib.workflow.definition import load_definition


def _declared_transitions(definition):
    """(source, target) of every Next, Choice rule, Default and Catch in the definition."""
    pairs = set()
    for name, state in definition["States"].items():
        pairs |= {(name, rule["Next"]) for rule in state.get("Choices", [])}
        pairs |= {(name, c["Next"]) for c in state.get("Catch", [])}
        pairs |= {(name, state[key]) for key in ("Next", "Default") if state.get(key)}
    return pairs


def test_every_state_of_the_definition_is_a_node_with_a_box():
    definition = load_definition()
    graph = machine_layout()

    assert set(graph.nodes) == set(definition["States"])
    for node in graph.nodes.values():
        assert node.type == definition["States"][node.name]["Type"]
        assert 0 < node.x < graph.width and 0 < node.y < graph.height


def test_every_transition_is_an_edge_and_choice_branches_are_labelled():
    definition = load_definition()
    graph = machine_layout()

    assert {(t.source, t.target) for t in graph.transitions} == _declared_transitions(definition)
    labels = {t.label for t in graph.transitions if t.source == "Decide"}
    assert {"decision = retry", "decision = replan", "decision = continue", "default"} <= labels
    assert {t.label for t in graph.transitions if t.source == "PlanOK?"} == {"plan_ok = true", "default"}
    # the router's shared term (route = call) is left out: each branch names its tool
    assert "call.tool = http_get" in {t.label for t in graph.transitions if t.target == "CallHttpGet"}


def test_no_two_states_overlap_in_the_layout():
    nodes = list(machine_layout().nodes.values())
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            apart_x = abs(a.x - b.x) >= (a.w + b.w) / 2
            apart_y = abs(a.y - b.y) >= (a.h + b.h) / 2
            assert apart_x or apart_y, f"{a.name} overlaps {b.name}"


def test_the_layout_follows_the_definition_when_it_changes():
    definition = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "B"}],
                "Default": "C",
            },
            "B": {"Type": "Pass", "Next": "A"},
            "C": {"Type": "Succeed"},
        },
    }

    graph = layout(definition)

    assert set(graph.nodes) == {"A", "B", "C"}
    assert {(t.source, t.target, t.label) for t in graph.transitions} == {
        ("A", "B", "go = true"),
        ("A", "C", "default"),
        ("B", "A", ""),
    }
    assert graph.nodes["A"].y < graph.nodes["C"].y  # the start is drawn first, top down


def test_transitions_of_reads_catch_rules_with_their_errors():
    found = [t for t in transitions_of(load_definition()) if t.kind == "catch" and t.source == "Finalize"]
    catchers = load_definition()["States"]["Finalize"]["Catch"]  # named errors first, States.ALL last
    expected = [(rule["Next"], "catch " + ", ".join(rule["ErrorEquals"])) for rule in catchers]
    assert [(t.target, t.label) for t in found] == expected
    assert expected[0] == ("StoreFailed", "catch StoreError")  # a checkpoint not written ends the execution
    assert expected[-1] == ("FinalizeFailed", "catch States.ALL")


def test_choice_rules_are_evaluated_as_the_definition_says():
    rule = {
        "And": [
            {"Variable": "$.route", "StringEquals": "call"},
            {"Variable": "$.call.tool", "StringEquals": "calc"},
        ]
    }

    assert rule_matches(rule, {"route": "call", "call": {"tool": "calc"}})
    assert not rule_matches(rule, {"route": "call", "call": {"tool": "http_get"}})
    assert not rule_matches(rule, {"route": "finish"})


def test_diff_names_each_added_removed_and_changed_path():
    before = {"a": 1, "b": {"c": [1, 2]}, "gone": True}
    after = {"a": 2, "b": {"c": [1, 2, 3]}, "new": "x"}

    changes = {(c["path"], c["op"]) for c in diff(before, after)}

    assert changes == {("$.a", "changed"), ("$.b.c[2]", "added"), ("$.gone", "removed"), ("$.new", "added")}
    assert json.loads(next(c["after"] for c in diff(before, after) if c["path"] == "$.new")) == "x"


def test_the_layout_is_the_same_in_every_process():
    """The drawing must not depend on hash seeds or on what a process loaded before (object ids
    once reordered grandalf's edge sets, and the graph came out differently from run to run)."""
    import os
    import subprocess
    import sys

    show = (
        "from chalicelib.viewer.graph import machine_layout; import json; L = machine_layout(); "
        "print(json.dumps([[n.name, n.x, n.y] for n in L.nodes.values()] "
        "+ [list(t.points) for t in L.transitions]))"
    )
    drawings = set()
    for seed, first in (("1", ""), ("2", ""), ("3", "import app, moto, localrun.session; ")):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", first + show], capture_output=True, text=True, check=True, env=env
        )
        drawings.add(done.stdout)
    assert len(drawings) == 1 and json.loads(drawings.pop())
