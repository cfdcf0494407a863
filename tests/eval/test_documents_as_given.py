"""A layer's output document takes the fields the state left as they were from its input, as given
(``chalicelib.handlers._as_given``): that is only right while no layer changes a field of the state
in place. Every eval scenario (refinement, replans, guards, denials, memory, exactly-once) is run
here with each such document checked against the full ``model_dump`` of the state it stands for;
the durable and LLM-mode tests run the same handlers through approvals, resumes and the model."""

from __future__ import annotations

import pytest

from chalicelib import handlers
from eval.models import load_scenarios

SCENARIOS = load_scenarios()


@pytest.fixture
def checked_documents(monkeypatch):
    seen = {"documents": 0, "taken_as_given": 0, "mismatches": []}
    written = handlers._as_given

    def checked(after, before, event):
        document = written(after, before, event)
        full = after.model_dump(mode="json")
        seen["documents"] += 1
        seen["taken_as_given"] += sum(
            1 for k, v in document.items() if type(event) is dict and v is event.get(k)
        )
        if document != full or list(document) != list(full):
            wrong = sorted(k for k in full if document.get(k) != full[k])
            seen["mismatches"].append(f"{after.run_id}: {wrong}")
        return document

    monkeypatch.setattr(handlers, "_as_given", checked)
    return seen


def test_every_scenario_s_documents_equal_the_states_they_stand_for(eval_context, checked_documents):
    for scenario in SCENARIOS:
        eval_context.run_scenario(scenario)

    assert checked_documents["mismatches"] == []
    assert checked_documents["documents"] > 5 * len(SCENARIOS)
    assert checked_documents["taken_as_given"] > checked_documents["documents"]  # the shortcut is taken


def test_a_changed_field_is_written_and_an_unchanged_one_is_the_input_s_own():
    from chalicelib.config import get_settings
    from chalicelib.contracts import RunState
    from chalicelib.workflow.runs import initial_state

    event = initial_state("calculate 2 + 2", get_settings()).model_dump(mode="json")
    before = RunState.model_validate(event)
    after = before.model_copy(update={"status": "stopped", "stop_reason": "budget"})

    document = handlers._as_given(after, before, event)

    assert document == after.model_dump(mode="json") and list(document) == list(event)
    assert document["guards"] is event["guards"] and document["status"] == "stopped"
