"""A layer's output document takes the fields the state left as they were from its input, as given
(``embedded_engine.state_documents.answer``): that is only right while no layer changes a field of the state
in place. Every eval scenario (refinement, replans, guards, denials, memory, exactly-once) is run
here with each such document checked against the full ``model_dump`` of the state it stands for;
the durable and LLM-mode tests run the same handlers through approvals, resumes and the model."""

from __future__ import annotations

import pytest

from embedded_engine import state_documents
from eval.models import load_scenarios

SCENARIOS = load_scenarios()


@pytest.fixture
def checked_documents(monkeypatch):
    seen = {"documents": 0, "taken_as_given": 0, "mismatches": []}
    written = state_documents.answer

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

    monkeypatch.setattr(state_documents, "answer", checked)
    return seen


def test_every_scenario_s_documents_equal_the_states_they_stand_for(eval_context, checked_documents):
    for scenario in SCENARIOS:
        eval_context.run_scenario(scenario)

    assert checked_documents["mismatches"] == []
    assert checked_documents["documents"] > 5 * len(SCENARIOS)
    assert checked_documents["taken_as_given"] > checked_documents["documents"]  # the shortcut is taken


def _first_document():
    from chalicelib.config import get_settings
    from chalicelib.contracts import RunState
    from chalicelib.workflow.runs import initial_state

    given = initial_state("calculate 2 + 2", get_settings()).model_dump(mode="json")
    state = RunState.model_validate(given)
    return state, state_documents.answer(state, state, given)  # compared once: canonical, passed on


def test_a_changed_field_is_written_and_an_unchanged_canonical_one_is_passed_on():
    from chalicelib.contracts import RunState

    _, event = _first_document()
    before = RunState.model_validate(event)
    after = before.model_copy(update={"status": "stopped", "stop_reason": "budget"})

    document = state_documents.answer(after, before, event)

    assert document == after.model_dump(mode="json") and list(document) == list(event)
    assert document["guards"] is event["guards"] and document["status"] == "stopped"


def test_a_field_in_a_form_not_written_here_is_written_out_afresh():
    from chalicelib.contracts import RunState

    state, first = _first_document()
    assert first["guards"] is not state  # written here
    hand_written = {**first, "guards": {"max_steps": 5}, "counters": {}}  # defaults left out, by hand
    before = RunState.model_validate(hand_written)

    document = state_documents.answer(before, before, hand_written)

    assert document == before.model_dump(mode="json")
    assert document["guards"] is not hand_written["guards"] and "budget" in document["guards"]
