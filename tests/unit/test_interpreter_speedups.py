"""What the embedded engine changes in moto's interpreter keeps its results (see
``tests/functional/test_document_flow.py`` for the same through whole executions)."""

from __future__ import annotations

import copy
import json

import pytest

from chalicelib.workflow.definition import load_definition
from embedded_engine import interpreter_speedups as speedups


def _edited(edit) -> dict:
    definition = copy.deepcopy(load_definition())
    edit(definition["States"])
    return definition


def test_the_shipped_definition_stays_inside_what_sharing_is_exact_for():
    assert speedups.unproven_features(load_definition()) == []


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda states: states.update(Each={"Type": "Map", "ItemProcessor": {}, "End": True}),
            "state Each: Type Map",
        ),
        (
            lambda states: states["CallCalc"].update(ResultPath="$.outcome.nested"),
            "state CallCalc: ResultPath $.outcome.nested",
        ),
        (
            lambda states: states["CallCalc"]["Catch"][0].update(ResultPath="$.a[0]"),
            "state CallCalc: ResultPath $.a[0]",
        ),
        (
            lambda states: states["Perceive"]["Parameters"].update({"Payload.$": "$$.Execution.Input"}),
            "state Perceive: $$.Execution.Input",
        ),
        (
            lambda states: states["Perceive"]["Parameters"].update(
                {"Payload.$": "States.JsonMerge($, $, false)"}
            ),
            "state Perceive: States.JsonMerge",
        ),
        (
            lambda states: states["Perceive"].update(Resource="arn:aws:states:::dynamodb:putItem"),
            "state Perceive: Resource arn:aws:states:::dynamodb:putItem",
        ),
        (lambda states: states["Perceive"].update(Assign={"x": 1}), "state Perceive: Assign"),
        (lambda states: states["CallCalc"].update(TimeoutSeconds=30), "state CallCalc: TimeoutSeconds"),
    ],
)
def test_a_definition_outside_the_proven_set_is_named_and_keeps_moto_s_copies_and_threads(edit, reason):
    definition = _edited(edit)

    reasons = speedups.unproven_features(definition)
    assert any(line.startswith(reason) for line in reasons), reasons
    patched = [(p.attribute, getattr(p.new, "deepcopy", p.new)) for p in speedups.patches(definition)]
    assert ("copy", speedups.share_document) not in patched and ("copy", speedups.copy_document) in patched
    assert ("Thread", speedups.InlineThread) not in patched
    proven = [(p.attribute, getattr(p.new, "deepcopy", p.new)) for p in speedups.patches(load_definition())]
    assert ("copy", speedups.share_document) in proven and ("Thread", speedups.InlineThread) in proven


def test_share_document_gives_a_new_top_level_over_the_same_items():
    nested = {"steps": [1, 2]}
    document = {"a": nested, "b": "text"}

    shared = speedups.share_document(document)
    shared["outcome"] = {"result": 4}  # what ResultPath "$.outcome" does
    assert "outcome" not in document and shared["a"] is nested
    stack = [document]
    frame = speedups.share_document(stack)
    frame.pop()
    assert stack == [document]
    assert speedups.share_document("text") == "text"


def test_copy_document_is_a_deep_copy_that_keeps_shared_references():
    inner = {"x": [1, 2]}
    document = {"a": inner, "b": inner, "when": None}

    copied = speedups.copy_document(document)
    copied["a"]["x"].append(3)
    assert inner == {"x": [1, 2]} and copied["b"]["x"] == [1, 2, 3]


def test_copy_document_falls_back_to_deepcopy_for_what_pickle_refuses():
    document = {"handler": lambda: 1, "items": [1]}

    copied = speedups.copy_document(document)
    assert (
        copied["handler"] is document["handler"]
        and copied["items"] == [1]
        and copied["items"] is not document["items"]
    )


def test_a_cached_jsonpath_is_parsed_once_and_reads_like_a_fresh_one():
    calls = []

    def parse(path):
        calls.append(path)
        from jsonpath_ng import parse as real

        return real(path)

    cached = speedups.cached_jsonpath(parse)
    document = {"outcome": {"result": 4}}
    assert [m.value for m in cached("$.outcome.result").find(document)] == [4]
    assert [m.value for m in cached("$.outcome.result").find({"outcome": {"result": 5}})] == [5]
    assert calls == ["$.outcome.result"]


def test_a_definition_is_parsed_once_and_its_components_shared_only_when_they_are_declarations():
    plain = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    mapped = json.dumps(
        {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}},
                }
            },
        }
    )

    first, tree = speedups.parse_definition(plain)
    second, same_tree = speedups.parse_definition(plain)
    assert first is second and tree is same_tree
    first, tree = speedups.parse_definition(mapped)
    second, same_tree = speedups.parse_definition(mapped)
    assert first is not second and tree is same_tree


def test_a_definition_with_a_syntax_error_is_still_refused():
    from moto.stepfunctions.parser.asl.parse.asl_parser import ASLParserException

    with pytest.raises(ASLParserException):
        speedups.parse_definition('{"StartAt": "Done", "States": {"Done": {"Type": "Nope"}}}')


def test_an_inline_thread_runs_its_target_once_at_start_and_keeps_nothing():
    calls = []
    thread = speedups.InlineThread(target=lambda: calls.append(1), daemon=True)

    thread.start()
    thread.start()
    thread.join(1)
    assert calls == [1] and not thread.is_alive()


def test_variable_references_are_worked_out_once_and_each_caller_gets_a_copy():
    text = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})

    first = speedups.variable_references(text)
    first["mine"] = ["x"]
    assert "mine" not in speedups.variable_references(text)


def _outcome(update, data, result):
    try:
        return update(copy.deepcopy(data), copy.deepcopy(result))
    except Exception as exc:  # noqa: BLE001 - the same refusal is the expected answer
        return type(exc)


@pytest.mark.parametrize(
    "data",
    [
        {"run_id": "r1", "outcome": {"old": 1}, "steps": [{"id": "s1"}]},
        {"run_id": "r1"},
        [1, 2],
        None,
        "text",
    ],
)
def test_a_one_field_result_path_sets_the_field_as_jsonpath_ng_does(data):
    from jsonpath_ng import parse

    result = {"result": {"ok": True}, "items": [1, {"a": []}]}
    paths = speedups.result_paths(parse)
    fast = paths("$.outcome")
    assert paths("$.outcome") is fast  # parsed once
    assert _outcome(fast.update_or_create, data, result) == _outcome(
        parse("$.outcome").update_or_create, data, result
    )


def test_other_result_paths_are_jsonpath_ng_s_own():
    from jsonpath_ng import parse

    for path in ("$", "$.a.b", "$.a[0]"):
        assert type(speedups.result_paths(parse)(path)) is type(parse(path))
