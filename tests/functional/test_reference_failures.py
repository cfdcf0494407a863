"""A reference that cannot be resolved stops the run at NextStep, naming the reference, before any call."""

from __future__ import annotations


def test_a_result_missing_a_referenced_field_stops_with_unresolved_reference(maoo, engine, monkeypatch):
    real = engine.handlers["tool_http_get"]

    def answers_without_the_fields(event, context):
        result = real(event, context)
        if result["ok"]:
            result["output"] = {"status": 200, "body": {"service": "search"}}  # no requests, no errors
        return result

    monkeypatch.setitem(engine.handlers, "tool_http_get", answers_without_the_fields)
    doc = maoo.run("What is the error rate of the search service over the last hour?")

    assert doc["status"] == "failed" and doc["stop_reason"] == "unresolved_reference"
    assert "{{s1.body." in doc["stop_detail"] and "is not in the result of s1" in doc["stop_detail"]
    assert [s["tool"] for s in doc["steps"]] == ["http_get"]  # calc never ran
    assert doc["states"][-4:] == ["NextStep", "Route", "Finalize", "Done"]
