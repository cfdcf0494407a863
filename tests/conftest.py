"""Shared fixtures. Every test gets its own runtime folder; nothing is written into the repo."""

from __future__ import annotations

import pytest

from chalicelib.config import get_settings, reload_settings


@pytest.fixture(autouse=True)
def isolated_runtime(tmp_path, monkeypatch):
    """A fresh ``MAOO_RUNTIME_DIR`` and default settings for every test."""
    for name in ("MAOO_MOCK_API_URL", "MAOO_HTTP_ALLOWLIST", "MAOO_ENGINE", "MAOO_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAOO_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("MAOO_BACKOFF_BASE_SECONDS", "0")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    reload_settings()
    yield tmp_path / "runtime"
    get_settings.cache_clear()  # the environment is restored after this fixture; read it afresh next time


@pytest.fixture(autouse=True)
def documents_checked_against_their_states(monkeypatch):
    """Every layer document a test produces in this process equals the full ``model_dump`` of the
    state it stands for: the handler writes out only the fields a state changed
    (``embedded_engine.state_documents.answer``, installed by the engine), which is right only while
    no layer changes a field in place."""
    from embedded_engine import state_documents

    written = state_documents.answer
    wrong: list[str] = []

    def checked(after, before, event):
        document = written(after, before, event)
        full = after.model_dump(mode="json")
        if document != full or list(document) != list(full):
            wrong.append(f"{after.run_id}: {sorted(k for k in full if document.get(k) != full[k])}")
        return document

    monkeypatch.setattr(state_documents, "answer", checked)
    yield
    assert not wrong, f"a layer changed fields of its state in place (the document missed them): {wrong}"


@pytest.fixture(autouse=True)
def checkpoint_bases_unchanged(monkeypatch):
    """Every delta checkpoint a test writes is written against a base that still holds what was
    saved: a delta leaves out the fields whose objects are the base's own
    (``chalicelib.durable.checkpoints``), which is right only while nothing changes a saved part in place."""
    import copy

    from chalicelib.durable import checkpoints

    checkpoints._bases.clear()  # no base carries over from another test's store
    saved: dict[tuple, dict] = {}
    wrong: list[str] = []
    remember, stored_form = checkpoints._remember, checkpoints._stored_form

    def remembered(key, base):
        if base is not None:
            saved[(key, base.seq)] = copy.deepcopy(base.document)
        remember(key, base)

    def checked(key, document):
        base = checkpoints._bases.get(key)
        if base is not None and base.document != saved.get((key, base.seq)):
            wrong.append(f"{key[1]}: checkpoint {base.seq} changed after it was saved")
        return stored_form(key, document)

    monkeypatch.setattr(checkpoints, "_remember", remembered)
    monkeypatch.setattr(checkpoints, "_stored_form", checked)
    yield
    checkpoints._bases.clear()
    assert not wrong, (
        f"a saved state was changed in place (a delta against it would miss the change): {wrong}"
    )
