"""The speed-up seam is empty outside the embedded engine: a handler in Lambda writes its state with pydantic."""

from __future__ import annotations

import pytest

from chalicelib import engine_seam
from chalicelib.config import get_settings
from chalicelib.contracts import RunState
from chalicelib.workflow.runs import initial_state
from embedded_engine import state_documents


@pytest.fixture(autouse=True)
def writer_restored():
    """A test here changes the process-wide writer; a started engine's is put back after it."""
    before = engine_seam.installed_document_writer()
    yield
    engine_seam.install_document_writer(before)


def _state_and_event() -> tuple[RunState, dict]:
    event = initial_state("calculate 2 + 2", get_settings()).model_dump(mode="json")
    return RunState.model_validate(event), event


def test_without_an_engine_every_part_of_the_answer_is_written_afresh():
    engine_seam.install_document_writer(None)
    state, event = _state_and_event()

    document = engine_seam.state_document(state, state, event)

    assert document == state.model_dump(mode="json")
    assert not any(value is event[key] for key, value in document.items() if isinstance(value, dict | list))


def test_the_embedded_engine_s_writer_passes_on_the_parts_a_state_left_as_they_were():
    state, event = _state_and_event()
    state_documents.answer(state, state, event)  # compared once: known canonical from now on
    engine_seam.install_document_writer(state_documents.write)

    document = engine_seam.state_document(state, state, event)

    assert document == state.model_dump(mode="json")
    assert any(value is event[key] for key, value in document.items() if isinstance(value, dict | list))
