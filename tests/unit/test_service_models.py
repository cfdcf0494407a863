"""boto3's service data is read from botocore's files once, then from the runtime folder's cache."""

from __future__ import annotations

import boto3
import botocore.session
import pytest

from embedded_engine.service_models import BotocoreModels


def _client(loader: BotocoreModels):
    session = botocore.session.get_session()
    session.register_component("data_loader", loader)
    return boto3.session.Session(botocore_session=session, region_name="us-east-1").client("stepfunctions")


def test_a_second_loader_answers_from_the_cache_without_reading_botocore_s_files(tmp_path, monkeypatch):
    first = BotocoreModels(tmp_path)
    plain = _client(first).meta.service_model.operation_names
    first.store.save()

    second = BotocoreModels(tmp_path)
    monkeypatch.setattr(second.file_loader, "load_file", lambda path: pytest.fail(f"read {path} from disk"))
    cached = _client(second)

    assert cached.meta.service_model.operation_names == plain and "StartExecution" in plain
    assert second.load_service_model("stepfunctions", "service-2") == first.load_service_model(
        "stepfunctions", "service-2"
    )


def test_a_cache_for_other_versions_or_unreadable_is_ignored(tmp_path):
    first = BotocoreModels(tmp_path)
    _client(first)
    first.store.save()
    first.store.file.write_bytes(b"\x80not a pickle")

    again = BotocoreModels(tmp_path)
    assert again.store._entries == {}
    assert "StartExecution" in _client(again).meta.service_model.operation_names
    again.store.save()
    assert BotocoreModels(tmp_path).store._entries  # rewritten whole
