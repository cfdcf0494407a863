"""The SQLite idempotency layer, driven through Powertools' ``idempotent_function``."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing

import pytest
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError

from chalicelib.memory.idempotency import SqlitePersistenceLayer


class _LambdaContext:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class _WriteFailed(Exception):
    pass


def _write_once(layer: SqlitePersistenceLayer, ran: list[dict], expires_after_seconds: int = 3600):
    """A write guarded by the layer; ``ran`` records every time its body really runs."""
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="args",
        expires_after_seconds=expires_after_seconds,
    )
    config.register_lambda_context(_LambdaContext())

    @idempotent_function(data_keyword_argument="call", persistence_store=layer, config=config)
    def write(call: dict) -> dict:
        ran.append(call)
        if call["args"].get("fail"):
            raise _WriteFailed("the write failed")
        return {"written": call["args"]["text"], "run_number": len(ran)}

    return write


def _rows(layer: SqlitePersistenceLayer) -> list[tuple]:
    with closing(sqlite3.connect(layer.path)) as conn:
        return conn.execute("SELECT id, status FROM idempotency").fetchall()


@pytest.fixture
def layer(tmp_path) -> SqlitePersistenceLayer:
    return SqlitePersistenceLayer(tmp_path / "idempotency.sqlite3")


def test_repeated_key_returns_saved_result_without_running_again(layer):
    ran: list[dict] = []
    write = _write_once(layer, ran)
    # given a completed write with key k1
    first = write(call={"key": "k1", "args": {"text": "hello"}})
    # when the same call comes again
    second = write(call={"key": "k1", "args": {"text": "hello"}})
    # then the saved result is returned and the body ran once
    assert first == {"written": "hello", "run_number": 1}
    assert second == first
    assert len(ran) == 1


def test_different_keys_each_run(layer):
    ran: list[dict] = []
    write = _write_once(layer, ran)
    write(call={"key": "k1", "args": {"text": "a"}})
    assert write(call={"key": "k2", "args": {"text": "a"}}) == {"written": "a", "run_number": 2}


def test_failed_call_leaves_no_record_so_the_next_call_runs(layer):
    ran: list[dict] = []
    write = _write_once(layer, ran)
    # given a call that raised
    with pytest.raises(_WriteFailed):
        write(call={"key": "k1", "args": {"text": "hello", "fail": True}})
    assert _rows(layer) == []
    # when it is retried with the same key
    result = write(call={"key": "k1", "args": {"text": "hello", "fail": False}})
    # then it really runs again
    assert result == {"written": "hello", "run_number": 2}
    assert len(ran) == 2


def test_same_key_with_other_payload_is_refused(layer):
    ran: list[dict] = []
    write = _write_once(layer, ran)
    write(call={"key": "k1", "args": {"text": "hello"}})
    with pytest.raises(IdempotencyValidationError):
        write(call={"key": "k1", "args": {"text": "something else"}})
    assert len(ran) == 1


def test_expired_record_lets_the_function_run_again(layer):
    ran: list[dict] = []
    write = _write_once(layer, ran, expires_after_seconds=1)
    write(call={"key": "k1", "args": {"text": "hello"}})
    # given the saved record's expiry is in the past
    with closing(sqlite3.connect(layer.path)) as conn, conn:
        updated = conn.execute("UPDATE idempotency SET expiration = ?", (int(time.time()) - 60,)).rowcount
    assert updated == 1
    # when the same call comes again
    result = write(call={"key": "k1", "args": {"text": "hello"}})
    # then the body runs again and its new result is returned
    assert result == {"written": "hello", "run_number": 2}
    assert len(ran) == 2
