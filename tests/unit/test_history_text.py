"""The history's JSON text, kept between copies of a document, is the text moto writes."""

from __future__ import annotations

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from moto.stepfunctions.parser.asl.utils.encoding import _DateTimeEncoder, to_json_str

from embedded_engine.history_text import HistoryText

SEPARATORS = (None, (",", ":"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=20),
    max_leaves=40,
)
documents = st.dictionaries(st.text(max_size=8), json_values, min_size=0, max_size=24)


@settings(max_examples=200, deadline=None)
@given(documents, json_values)
def test_any_document_and_its_copies_read_as_moto_writes_them(document, value):
    text = HistoryText(_DateTimeEncoder)
    for separators in SEPARATORS:
        assert text(document, separators) == to_json_str(document, separators)
        wrapped = {"FunctionName": "f", "Payload": document}
        assert text(wrapped, separators) == to_json_str(wrapped, separators)
        copied = dict(document)  # a new top level over the same items, as the interpreter copies
        assert text(copied, separators) == to_json_str(copied, separators)
        copied["outcome"] = value  # ResultPath sets a field at the top of its copy
        assert text(copied, separators) == to_json_str(copied, separators)
        assert text(value, separators) == to_json_str(value, separators)


def test_a_change_at_the_top_of_a_document_already_written_is_seen():
    text = HistoryText(_DateTimeEncoder)
    state = {f"field{i}": {"n": i} for i in range(20)}
    parameters = {"FunctionName": "f", "Payload": state}
    assert text(parameters) == to_json_str(parameters)
    state["outcome"] = {"ok": True}
    parameters["Payload"] = b"{}"  # the Lambda integration's own change, made in place
    assert text(state) == to_json_str(state)
    assert text(parameters) == to_json_str(parameters)
    assert text({"FunctionName": "f", "Payload": state}) == to_json_str(
        {"FunctionName": "f", "Payload": state}
    )


def test_dates_keys_json_has_its_own_rules_for_and_unknown_objects_are_written_as_moto_writes_them():
    text = HistoryText(_DateTimeEncoder)
    odd = {
        "when": datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC),
        "number_keys": {1: "a", 2.5: "b", None: "c"},
        "bytes": b"payload",
        **{f"k{i}": [i] for i in range(20)},
    }
    for separators in SEPARATORS:
        assert text(odd, separators) == to_json_str(odd, separators)
        assert text({1: odd}, separators) == to_json_str({1: odd}, separators)


def test_what_is_kept_is_bounded_and_holds_the_objects_it_was_written_from():
    text = HistoryText(_DateTimeEncoder, documents=8, parts=8)
    for i in range(100):
        document = {"i": i, "part": {"value": i}, "list": [i, {"deep": i}]}
        assert text(document) == to_json_str(document)
    assert len(text._documents) <= 8 and len(text._parts) <= 8
    text.clear()
    assert not text._documents and not text._parts


@settings(max_examples=200, deadline=None)
@given(documents, json_values)
def test_the_document_a_text_was_written_from_is_what_the_text_parses_to(document, value):
    import json

    text = HistoryText(_DateTimeEncoder)
    for separators in SEPARATORS:
        wrapped = {"FunctionName": "f", "Payload": document, "value": value}
        written = text(wrapped, separators)
        kept = text.value_of(written)
        assert kept is wrapped  # JSON's own types only: handed back
        # the same value the text parses to (NaN is not equal to itself: compared as text)
        assert json.dumps(kept) == json.dumps(json.loads(written))
        assert text.value_of(json.dumps(wrapped)) is None  # not a text it wrote


def test_a_document_changed_at_its_top_or_holding_other_objects_is_not_handed_back():
    text = HistoryText(_DateTimeEncoder)
    state = {f"field{i}": {"n": i} for i in range(20)}
    written = text(state)
    assert text.value_of(written) is state
    state["outcome"] = {"ok": True}  # ResultPath's change at the top, after the text was written
    assert text.value_of(written) is None
    inner = {"Payload": dict(state), "when": {"at": datetime.datetime(2026, 12, 8, tzinfo=datetime.UTC)}}
    assert text.value_of(text(inner)) is None  # a date: the text is not what the value parses to
    wide = {"Payload": state}
    written = text(wide)
    state["later"] = 1  # a change at the top of a document inside it
    assert text.value_of(written) is None


def test_documents_are_let_go_with_their_execution_and_what_was_kept_before_them():
    text = HistoryText(_DateTimeEncoder)
    older = {f"a{i}": i for i in range(20)}
    mine = {f"b{i}": i for i in range(20)}
    later = {f"c{i}": i for i in range(20)}
    written = [text(older), text(mine), text(later)]
    assert [text.value_of(t) for t in written] == [older, mine, later]

    text.let_go([written[1]])  # the execution that wrote ``mine`` has its trace stored

    assert [text.value_of(t) for t in written] == [None, None, later]
