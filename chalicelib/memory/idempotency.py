"""Idempotency records for writes, through Powertools' Idempotency utility.

Powertools decides what a repeated call gets (the saved result, "already in progress", or, for a
call replayed by the run that took over, a new attempt); this module says where records live:
DynamoDB in the cloud (Powertools' own layer) and SQLite locally (``SqlitePersistenceLayer``, a
``BasePersistenceLayer`` with the same conditional-put semantics as the DynamoDB one), and how long
a record stays in progress: as long as the invocation that made it can still answer, which
Powertools reads from the Lambda context it is given (``idempotency_config``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from chalicelib.config import get_settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expiration INTEGER NOT NULL,
    in_progress_expiration INTEGER,
    data TEXT,
    validation TEXT
)
"""


class SqlitePersistenceLayer(BasePersistenceLayer):
    """Idempotency records in SQLite. A put succeeds only if no live record holds the key."""

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as conn:
            conn.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    @staticmethod
    def _record(row: tuple) -> DataRecord:
        key, status, expiry, in_progress_expiry, data, validation = row
        return DataRecord(
            idempotency_key=key,
            status=status,
            expiry_timestamp=expiry,
            in_progress_expiry_timestamp=in_progress_expiry,
            response_data=data or "",
            payload_hash=validation,
        )

    def _select(self, conn: sqlite3.Connection, key: str) -> tuple | None:
        return conn.execute(
            "SELECT id, status, expiration, in_progress_expiration, data, validation FROM idempotency WHERE id = ?",
            (key,),
        ).fetchone()

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self._connect() as conn:
            row = self._select(conn, idempotency_key)
        if row is None:
            raise IdempotencyItemNotFoundError
        return self._record(row)

    def _put_record(self, data_record: DataRecord) -> None:
        now = time.time()
        with self._lock, self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._select(conn, data_record.idempotency_key)
                if row is not None:
                    old = self._record(row)
                    expired = old.expiry_timestamp is not None and old.expiry_timestamp < now
                    stale = (
                        old.status == "INPROGRESS"
                        and old.in_progress_expiry_timestamp is not None
                        and old.in_progress_expiry_timestamp < now * 1000
                    )
                    if not (expired or stale):
                        conn.execute("ROLLBACK")
                        self._validate_payload(data_payload=data_record, stored_data_record=old)
                        raise IdempotencyItemAlreadyExistsError(old_data_record=old)
                conn.execute(
                    "INSERT OR REPLACE INTO idempotency (id, status, expiration, in_progress_expiration, data, validation)"
                    " VALUES (?, ?, ?, ?, NULL, ?)",
                    (
                        data_record.idempotency_key,
                        data_record.status,
                        data_record.expiry_timestamp,
                        data_record.in_progress_expiry_timestamp,
                        data_record.payload_hash if self.payload_validation_enabled else None,
                    ),
                )
                conn.execute("COMMIT")
            except IdempotencyItemAlreadyExistsError:
                raise
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _update_record(self, data_record: DataRecord) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE idempotency SET status = ?, expiration = ?, data = ?, validation = COALESCE(?, validation) WHERE id = ?",
                (
                    data_record.status,
                    data_record.expiry_timestamp,
                    data_record.response_data,
                    data_record.payload_hash if self.payload_validation_enabled else None,
                    data_record.idempotency_key,
                ),
            )

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM idempotency WHERE id = ?", (data_record.idempotency_key,))


RECORD_DAYS = 1  # a completed call is answered from its record for a day


def idempotency_config(lambda_context: Any = None) -> IdempotencyConfig:
    """How MAOO's tool calls use Powertools: the key is the call's ``idempotency_key``, its
    arguments are validated against the record, and, with a Lambda context registered, an
    in-progress record expires when the invocation's time runs out (the context's
    ``get_remaining_time_in_millis``: Lambda's timeout in the cloud, the run's deadline locally),
    so a record whose invocation died never blocks a later one past that point."""
    config = IdempotencyConfig(
        event_key_jmespath="idempotency_key",
        payload_validation_jmespath="args",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RECORD_DAYS * 24 * 3600,
    )
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)
    return config


def in_progress_until(store: BasePersistenceLayer, payload: dict[str, Any]) -> float | None:
    """When the in-progress record for ``payload`` expires (epoch seconds), if it has an expiry."""
    try:
        record = store.get_record(payload)
    except Exception:  # gone meanwhile, or unreadable: the caller says it does not know
        return None
    if record is None or record.in_progress_expiry_timestamp is None:
        return None
    return float(record.in_progress_expiry_timestamp) / 1000  # DynamoDB gives a Decimal


_layers: dict[str, BasePersistenceLayer] = {}
_layers_lock = threading.Lock()


def get_persistence_layer() -> BasePersistenceLayer:
    """The configured idempotency store: DynamoDB when ``MAOO_STORE=dynamodb``, else SQLite."""
    settings = get_settings()
    if settings.store == "dynamodb":
        key = "dynamodb:" + settings.idempotency_table
    else:
        key = str(settings.runtime_dir / "idempotency.sqlite3")
    with _layers_lock:
        if key not in _layers:
            if settings.store == "dynamodb":
                import boto3
                from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

                _layers[key] = DynamoDBPersistenceLayer(
                    table_name=key.split(":", 1)[1],
                    boto3_session=boto3.session.Session(region_name=settings.region),
                )
            else:
                _layers[key] = SqlitePersistenceLayer(key)
        return _layers[key]


def ensure_dynamodb_table(client, table_name: str) -> None:
    """Create the idempotency table Powertools expects (partition key ``id``) if it is missing.

    For local and test use; in the cloud the template creates it, with TTL on ``expiration``.
    """
    try:
        client.describe_table(TableName=table_name)
    except client.exceptions.ResourceNotFoundException:
        client.create_table(
            TableName=table_name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
