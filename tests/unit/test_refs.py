"""References to earlier results inside step arguments."""

from __future__ import annotations

import json

import pytest

from chalicelib.references import UnresolvedReferenceError, lookup, placeholder, referenced_steps, resolve

RESULTS = {
    "s1": {"expression": "240 / 12000 * 100", "value": 2},
    "s2": {"status": 200, "body": {"service": "payments", "errors": 240, "tags": ["core", "pci"]}},
    "s3": {"rows": [{"service": "payments", "rate": 0.02}, {"service": "search", "rate": 0.065}]},
}


def _resolve(value):
    return resolve(value, lambda step, path: lookup(RESULTS, step, path))


def test_whole_string_reference_keeps_native_number():
    assert _resolve("{{s1.value}}") == 2


def test_whole_string_reference_keeps_native_structure():
    assert _resolve("{{ s2.body }}") == RESULTS["s2"]["body"]


def test_reference_inside_text_is_interpolated():
    assert (
        _resolve("payments had {{s2.body.errors}} errors ({{s1.value}} %)") == "payments had 240 errors (2 %)"
    )


def test_structure_inside_text_is_rendered_as_compact_json():
    assert _resolve("tags: {{s2.body.tags}}") == 'tags: ["core", "pci"]'


def test_json_filter_renders_json_text():
    # given a whole-string reference with |json
    rendered = _resolve("{{s2.body|json}}")
    # then the value becomes JSON text, not the object
    assert isinstance(rendered, str)
    assert json.loads(rendered) == RESULTS["s2"]["body"]


def test_json_filter_inside_text():
    rendered = _resolve("Body:\n{{ s1 | json }}")
    assert rendered.startswith("Body:\n")
    assert json.loads(rendered.removeprefix("Body:\n")) == RESULTS["s1"]


def test_list_index_path_selects_an_element():
    assert _resolve("{{s3.rows.1.service}}") == "search"
    assert _resolve("{{s3.rows.0.rate}}") == 0.02


def test_references_resolve_inside_nested_arguments():
    args = {"inputs": ["{{s1}}", {"n": "{{s2.body.errors}}"}], "max_sentences": 3}
    assert _resolve(args) == {"inputs": [RESULTS["s1"], {"n": 240}], "max_sentences": 3}


@pytest.mark.parametrize(
    "ref, why",
    [
        ("{{s9.value}}", "step s9 has no result"),
        ("{{s2.body.latency}}", "'latency' is not in the result of s2"),
        ("{{s3.rows.5}}", "'5' is not in the result of s3"),
        ("{{s1.value.deeper}}", "'deeper' is not in the result of s1"),
    ],
)
def test_unresolvable_reference_names_the_reference(ref, why):
    with pytest.raises(UnresolvedReferenceError) as exc:
        _resolve(f"value: {ref}")
    assert ref in str(exc.value)
    assert why in str(exc.value)


def test_referenced_steps_found_anywhere_in_arguments():
    args = {"a": "{{s1.value}} and {{ s2.body|json }}", "b": [{"c": "{{s3.rows.0}}"}], "d": 7, "e": "plain"}
    assert referenced_steps(args) == {"s1", "s2", "s3"}


def test_referenced_steps_of_plain_arguments_is_empty():
    assert referenced_steps({"a": "no refs {here}", "b": [], "c": {}}) == set()


def test_placeholder_stands_in_for_every_reference():
    args = {"expression": "{{s1.value}} * 2", "n": "{{s2.body.errors}}", "keep": "text"}
    assert placeholder(args) == {"expression": "1 * 2", "n": 1, "keep": "text"}
