"""What the mock API saw and did, so tests can assert on it afterwards.

Requests show what the client actually sent (including its Idempotency-Key and the fault it
met); side effects show which writes were really applied. Comparing the two is how a test
proves, for example, that a retried write was not applied twice.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

RECORDED_HEADERS = ("idempotency-key", "x-mock-fault", "content-type", "x-request-id")
SideEffectKind = Literal["incident_created", "notification_sent"]


class RequestRecord(BaseModel):
    """One non-admin request. ``status`` is None when the client got no complete response."""

    model_config = ConfigDict(extra="forbid")

    seq: int
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    fault: str | None = None
    fault_source: str | None = None
    status: int | None = None


class SideEffectRecord(BaseModel):
    """One applied write."""

    model_config = ConfigDict(extra="forbid")

    seq: int
    kind: SideEffectKind
    request_seq: int | None
    idempotency_key: str | None
    object: dict[str, Any]


class Recorder:
    """Append-only, thread-safe logs of requests and side effects."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._side_effects: list[SideEffectRecord] = []

    def begin(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> RequestRecord:
        """Log a request as it arrives; the caller fills in fault and status as they happen."""
        kept = {name: headers[name] for name in RECORDED_HEADERS if name in headers}
        with self._lock:
            record = RequestRecord(
                seq=len(self._requests) + 1, method=method, path=path, query=dict(query), headers=kept
            )
            self._requests.append(record)
        return record

    def side_effect(
        self,
        kind: SideEffectKind,
        obj: Mapping[str, Any],
        *,
        request_seq: int | None,
        idempotency_key: str | None,
    ) -> SideEffectRecord:
        with self._lock:
            record = SideEffectRecord(
                seq=len(self._side_effects) + 1,
                kind=kind,
                request_seq=request_seq,
                idempotency_key=idempotency_key,
                object=dict(obj),
            )
            self._side_effects.append(record)
        return record

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [record.model_dump() for record in self._requests]

    def side_effects(self) -> list[dict[str, Any]]:
        with self._lock:
            return [record.model_dump() for record in self._side_effects]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._side_effects.clear()
