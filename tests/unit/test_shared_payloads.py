"""A Lambda Task's answer, with the fields it left unchanged shared with what it was given, is
exactly the document moto would have parsed from the answer's bytes."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from moto.stepfunctions.parser.asl.utils.encoding import _DateTimeEncoder

from embedded_engine.history_text import HistoryText
from embedded_engine.shared_payloads import PayloadBytes, PayloadSharing, ResponseStream

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


def _sent(sharing: PayloadSharing, document: dict) -> PayloadBytes:
    """What moto sends a function: the payload's text, as the history writes it first."""
    sharing.text(document)
    payload = sharing.to_payload_type(lambda value: json.dumps(value).encode())(document)
    assert isinstance(payload, PayloadBytes) and payload.document is document
    return payload


def _assert_exact(stream: ResponseStream, result: dict) -> None:
    assert stream.getvalue() == json.dumps(result).encode()
    assert json.dumps(stream.document) == json.dumps(json.loads(stream.getvalue()))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=8), st.data())
def test_any_answer_is_the_document_its_bytes_parse_to(sent, data):
    sharing = PayloadSharing(HistoryText(_DateTimeEncoder))
    payload = _sent(sharing, sent)
    result = {
        key: data.draw(st.sampled_from([value, json.loads(json.dumps(value))])) for key, value in sent.items()
    }
    result.update(data.draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3)))
    stream = sharing.answer(payload.document, result)
    assert stream is not None
    _assert_exact(stream, result)


def test_unchanged_parts_are_shared_and_changed_ones_are_new():
    sharing = PayloadSharing(HistoryText(_DateTimeEncoder))
    sent = {"perception": {"intent": "compute", "clauses": ["a", "b"]}, "steps": [1], "count": 1, "flag": 1}
    payload = _sent(sharing, sent)
    result = {
        "perception": {"intent": "compute", "clauses": ["a", "b"]},  # equal: taken from what was sent
        "steps": [1, 2],  # changed
        "count": 1,
        "flag": True,  # equal to 1 in Python, but other JSON: not shared
    }
    stream = sharing.answer(payload.document, result)
    assert stream is not None
    _assert_exact(stream, result)
    assert stream.document["perception"] is sent["perception"]
    assert stream.document["steps"] == [1, 2] and stream.document["steps"] is not result["steps"]
    assert stream.document["flag"] is True
    assert sharing.text(stream.document) == json.dumps(stream.document)


def test_answers_that_are_not_json_objects_go_back_as_plain_bytes():
    sharing = PayloadSharing(HistoryText(_DateTimeEncoder))
    assert sharing.answer({"a": 1}, [1, 2]) is None
    assert sharing.answer({"a": 1}, {1: "number key"}) is None
    assert sharing.answer([1], {"a": 1}) is None
    original = sharing.to_payload_type(lambda value: b"[1]")
    assert type(original([1])) is bytes  # only an object's payload carries its document


def test_moto_parses_any_stream_but_ours():
    def parse(stream):
        return json.loads(stream.read())

    from_payload = PayloadSharing.from_payload(parse)
    ours = ResponseStream(b'{"a": 1}')
    ours.document = {"a": 1}
    assert from_payload(ours) is ours.document
    assert from_payload(io.BytesIO(b'{"b": 2}')) == {"b": 2}
