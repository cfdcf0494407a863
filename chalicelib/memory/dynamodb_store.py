"""The run store on DynamoDB: the same protocol as ``SqliteRunStore``, for the cloud.

One table, keyed ``run_id`` (partition) + ``item`` (sort): ``run`` holds the run document,
``event#000042`` one trace event, ``blob#<ref>`` one large tool output, ``counter`` the event
sequence, ``checkpoint#000007`` one state's checkpoint (``ckcounter`` their sequence), ``owner``
the process that drives the run and its lease; a request's idempotency key is the item
``request_key`` under the partition ``key#<key>``. Documents are stored as JSON strings, so floats
need no Decimal conversion. Events and
blobs carry ``expires_at`` for the table's TTL. ``list_runs`` queries the sparse index
``RUNS_BY_STATUS`` (``status`` + ``created_at``, which only ``run`` items carry), newest first, once
per stored status: it reads at most ``limit`` rows per status, never the whole table.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.largevalues import blob_ref
from chalicelib.memory.owners import owner_alive
from chalicelib.memory.records import Checkpoint, Owner, RequestKeyBinding, RunRow, TraceEvent

# DynamoDB refuses an item over 400 KB; a part this size leaves room for its keys
BLOB_PART_BYTES = 350_000
# the index runs are listed by; .chalice/merge-template.json declares the same one (a test compares them)
RUNS_BY_STATUS = {
    "IndexName": "runs-by-status",
    "KeySchema": [
        {"AttributeName": "status", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ],
    "Projection": {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["request", "stop_reason", "updated_at", "forked_from"],
    },
}


def _lineage(document: dict[str, Any]) -> dict[str, Any]:
    """The run item's ``forked_from`` attribute, for a fork: what a listing shows of its parent."""
    parent = document.get("forked_from")
    if not parent:
        return {}
    return {"forked_from": {"S": json.dumps({"run_id": parent["run_id"], "step_id": parent["step_id"]})}}


RUNS_BY_STATUS_ATTRIBUTES = [
    {"AttributeName": "status", "AttributeType": "S"},
    {"AttributeName": "created_at", "AttributeType": "N"},
]


def _store_errors(cls: type) -> type:
    """Every public store method reports an AWS failure as a ``StoreError`` naming the table."""
    import functools

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def guarded(self: DynamoRunStore, *args: Any, **kwargs: Any) -> Any:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                return method(self, *args, **kwargs)
            except (BotoCoreError, ClientError) as exc:
                from chalicelib.errors import StoreError

                raise StoreError(
                    f"the run store (DynamoDB table {self.table}) could not {method.__name__.replace('_', ' ')}: {exc}. "
                    "Check MAOO_RUNS_TABLE, the region and the credentials, then finish the run with "
                    "`python -m cli resume RUN_ID`"
                ) from None

        return guarded

    for name in _GUARDED:
        setattr(cls, name, wrap(getattr(cls, name)))
    return cls


_GUARDED = (
    "put_run",
    "get_run",
    "list_runs",
    "append_event",
    "record_transition",
    "checkpoints",
    "claim_owner",
    "take_over",
    "renew_lease",
    "get_owner",
    "claim_request_key",
    "events",
    "put_blob",
    "get_blob",
)


@_store_errors
class DynamoRunStore:
    def __init__(self, table_name: str, client: Any = None):
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self.table = table_name
        self.client = client

    def ensure_table(self) -> None:
        """Create the table if it does not exist (local and test use; the template creates it in the cloud)."""
        try:
            self.client.describe_table(TableName=self.table)
        except self.client.exceptions.ResourceNotFoundException:
            self.client.create_table(
                TableName=self.table,
                KeySchema=[
                    {"AttributeName": "run_id", "KeyType": "HASH"},
                    {"AttributeName": "item", "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": "run_id", "AttributeType": "S"},
                    {"AttributeName": "item", "AttributeType": "S"},
                    *RUNS_BY_STATUS_ATTRIBUTES,
                ],
                GlobalSecondaryIndexes=[RUNS_BY_STATUS],
                BillingMode="PAY_PER_REQUEST",
            )

    def _expiry(self) -> dict[str, str]:
        from chalicelib.config import get_settings

        return {"N": str(int(time.time() + get_settings().trace_ttl_days * 86400))}

    def put_run(self, document: dict[str, Any]) -> None:
        now = time.time()
        existing = self.get_run(document["run_id"])
        created = (existing or {}).get("created_at", document.get("created_at", now))
        self.client.put_item(
            TableName=self.table,
            Item={
                "run_id": {"S": document["run_id"]},
                "item": {"S": "run"},
                "status": {"S": document.get("status", "running")},
                "created_at": {"N": repr(float(created))},
                "updated_at": {"N": repr(now)},
                "request": {"S": str(document.get("request", ""))},
                **({"stop_reason": {"S": document["stop_reason"]}} if document.get("stop_reason") else {}),
                **_lineage(document),
                "document": {"S": json.dumps({**document, "created_at": created}, default=str)},
            },
        )

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key={"run_id": {"S": run_id}, "item": {"S": "run"}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        document = json.loads(item["document"]["S"])
        if document.get("status") == "running" and not owner_alive(
            self.get_owner(run_id), float(item["updated_at"]["N"])
        ):
            document["status"] = "interrupted"
        return document

    def list_runs(self, limit: int = 20) -> list[RunRow]:
        """The ``limit`` newest runs: a Query of ``RUNS_BY_STATUS`` per stored status, merged."""
        from typing import get_args

        from chalicelib.contracts import RunStatus

        rows: list[RunRow] = []
        for status in get_args(RunStatus):
            page = self.client.query(
                TableName=self.table,
                IndexName=RUNS_BY_STATUS["IndexName"],
                KeyConditionExpression="#s = :status",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":status": {"S": status}},
                ScanIndexForward=False,  # newest first
                Limit=limit,
            )
            rows.extend(self._listed(item) for item in page.get("Items", []))
        rows.sort(key=lambda row: row["created_at"], reverse=True)
        listed = rows[:limit]
        for row in listed:
            updated = row.pop("updated_at", None)
            if row["status"] == "running" and not owner_alive(self.get_owner(row["run_id"]), updated):
                row["status"] = "interrupted"
        return listed

    def _listed(self, item: dict[str, Any]) -> RunRow:
        row = self._listed_fields(item)
        if "forked_from" in item:  # a fork names its parent (chalicelib.workflow.fork)
            row["forked_from"] = json.loads(item["forked_from"]["S"])
        return row

    def _listed_fields(self, item: dict[str, Any]) -> RunRow:
        if "request" not in item:  # a run stored before the index carried its request: read it whole
            document = self.get_run(item["run_id"]["S"]) or {}
            item = {**item, "request": {"S": str(document.get("request", ""))}}
            if document.get("stop_reason"):
                item["stop_reason"] = {"S": document["stop_reason"]}
        return {
            "run_id": item["run_id"]["S"],
            "request": item["request"]["S"],
            "status": item["status"]["S"],
            "stop_reason": item["stop_reason"]["S"] if "stop_reason" in item else None,
            "created_at": float(item["created_at"]["N"]),
            "updated_at": float(item["updated_at"]["N"]) if "updated_at" in item else None,
        }

    def _next(self, run_id: str, counter: str, count: int = 1) -> int:
        """Reserve ``count`` numbers of a run's sequence; returns the last one."""
        reply = self.client.update_item(
            TableName=self.table,
            Key={"run_id": {"S": run_id}, "item": {"S": counter}},
            UpdateExpression="ADD seq :n",
            ExpressionAttributeValues={":n": {"N": str(count)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(reply["Attributes"]["seq"]["N"])

    def _event_item(
        self, run_id: str, seq: int, kind: str, state: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        event = {"seq": seq, "ts": time.time(), "kind": kind, "state": state, "data": data}
        return {
            "run_id": {"S": run_id},
            "item": {"S": f"event#{seq:06d}"},
            "event": {"S": json.dumps(event, default=str)},
            "expires_at": self._expiry(),
        }

    def append_event(self, run_id: str, kind: str, state: str, data: dict[str, Any]) -> None:
        seq = self._next(run_id, "counter")
        self.client.put_item(TableName=self.table, Item=self._event_item(run_id, seq, kind, state, data))

    # ---------------------------------------------------------------- durable runs

    def record_transition(
        self,
        run_id: str,
        kind: str,
        state: str,
        next_state: str,
        document: dict[str, Any],
        events: list[tuple[str, str, dict[str, Any]]],
        lease_until: float | None = None,
    ) -> int:
        """The checkpoint and its events in one ``TransactWriteItems`` (sequence numbers reserved first)."""
        last_event = self._next(run_id, "counter", len(events)) if events else 0
        seq = self._next(run_id, "ckcounter")
        checkpoint = {
            "seq": seq,
            "ts": time.time(),
            "kind": kind,
            "state": state,
            "next_state": next_state,
            "document": document,
        }
        items = [
            self._event_item(run_id, last_event - len(events) + 1 + i, k, st, d)
            for i, (k, st, d) in enumerate(events)
        ]
        items.append(
            {
                "run_id": {"S": run_id},
                "item": {"S": f"checkpoint#{seq:06d}"},
                "checkpoint": {"S": json.dumps(checkpoint, default=str)},
                "expires_at": self._expiry(),
            }
        )
        writes: list[dict[str, Any]] = [{"Put": {"TableName": self.table, "Item": item}} for item in items]
        for start in range(0, len(writes), 100):  # TransactWriteItems takes at most 100 items
            self.client.transact_write_items(TransactItems=writes[start : start + 100])
        if lease_until is not None:
            self.renew_lease(run_id, lease_until)
        return seq

    def checkpoints(self, run_id: str) -> list[Checkpoint]:
        rows: list[Checkpoint] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "ConsistentRead": True,
            "KeyConditionExpression": "run_id = :r AND begins_with(#i, :c)",
            "ExpressionAttributeNames": {"#i": "item"},
            "ExpressionAttributeValues": {":r": {"S": run_id}, ":c": {"S": "checkpoint#"}},
        }
        while True:
            page = self.client.query(**kwargs)
            rows.extend(json.loads(i["checkpoint"]["S"]) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return rows
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    @staticmethod
    def _owner_item(run_id: str, pid: int, host: str, lease_until: float) -> dict[str, Any]:
        return {
            "run_id": {"S": run_id},
            "item": {"S": "owner"},
            "pid": {"N": str(pid)},
            "host": {"S": host},
            "lease_until": {"N": repr(float(lease_until))},
        }

    def claim_owner(self, run_id: str, pid: int, host: str, lease_until: float) -> None:
        self.client.put_item(TableName=self.table, Item=self._owner_item(run_id, pid, host, lease_until))

    def take_over(
        self,
        run_id: str,
        status: str,
        owner: Owner | None,
        pid: int,
        host: str,
        lease_until: float,
    ) -> bool:
        """As ``SqliteRunStore.take_over``: one ``TransactWriteItems`` whose conditions are the run's
        stored status and, for ``running``, the owner the caller saw gone."""
        item = self.client.get_item(
            TableName=self.table, Key={"run_id": {"S": run_id}, "item": {"S": "run"}}, ConsistentRead=True
        ).get("Item")
        if not item or item["status"]["S"] != status:
            return False
        document = {**json.loads(item["document"]["S"]), "status": "running"}
        put_owner: dict[str, Any] = {
            "TableName": self.table,
            "Item": self._owner_item(run_id, pid, host, lease_until),
        }
        if status == "running":
            if owner is None:
                put_owner["ConditionExpression"] = "attribute_not_exists(run_id)"
            else:
                put_owner["ConditionExpression"] = "pid = :p AND host = :h AND lease_until = :l"
                put_owner["ExpressionAttributeValues"] = {
                    ":p": {"N": str(owner["pid"])},
                    ":h": {"S": owner["host"]},
                    ":l": {"N": repr(float(owner["lease_until"]))},
                }
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"run_id": {"S": run_id}, "item": {"S": "run"}},
                            "UpdateExpression": "SET #s = :running, updated_at = :now, document = :doc",
                            "ConditionExpression": "#s = :seen AND document = :before",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": {
                                ":running": {"S": "running"},
                                ":seen": {"S": status},
                                ":now": {"N": repr(time.time())},
                                ":doc": {"S": json.dumps(document, default=str)},
                                ":before": item["document"],
                            },
                        }
                    },
                    {"Put": put_owner},
                ]
            )
        except self.client.exceptions.TransactionCanceledException:
            return False
        return True

    def renew_lease(self, run_id: str, lease_until: float) -> None:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"run_id": {"S": run_id}, "item": {"S": "owner"}},
                UpdateExpression="SET lease_until = :l",
                ConditionExpression="attribute_exists(run_id) AND lease_until < :l",
                ExpressionAttributeValues={":l": {"N": repr(float(lease_until))}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            pass  # no owner recorded, or a later lease already

    def get_owner(self, run_id: str) -> Owner | None:
        item = self.client.get_item(
            TableName=self.table, Key={"run_id": {"S": run_id}, "item": {"S": "owner"}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return {
            "pid": int(item["pid"]["N"]),
            "host": item["host"]["S"],
            "lease_until": float(item["lease_until"]["N"]),
        }

    def claim_request_key(self, key: str, body_hash: str, run_id: str) -> RequestKeyBinding | None:
        try:
            self.client.put_item(
                TableName=self.table,
                ConditionExpression="attribute_not_exists(run_id)",
                Item={
                    "run_id": {"S": f"key#{key}"},
                    "item": {"S": "request_key"},
                    "body_hash": {"S": body_hash},
                    "bound_run_id": {"S": run_id},
                    "created_at": {"N": repr(time.time())},
                },
            )
            return None
        except self.client.exceptions.ConditionalCheckFailedException:
            item = self.client.get_item(
                TableName=self.table,
                Key={"run_id": {"S": f"key#{key}"}, "item": {"S": "request_key"}},
                ConsistentRead=True,
            )["Item"]
            return {"body_hash": item["body_hash"]["S"], "run_id": item["bound_run_id"]["S"]}

    def events(self, run_id: str) -> list[TraceEvent]:
        events: list[TraceEvent] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "ConsistentRead": True,
            "KeyConditionExpression": "run_id = :r AND begins_with(#i, :e)",
            "ExpressionAttributeNames": {"#i": "item"},
            "ExpressionAttributeValues": {":r": {"S": run_id}, ":e": {"S": "event#"}},
        }
        while True:
            page = self.client.query(**kwargs)
            events.extend(json.loads(i["event"]["S"]) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return events
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def put_blob(self, run_id: str, value: Any, key: str | None = None) -> str:
        """Store ``value``; one over DynamoDB's 400 KB item limit is split into parts.

        The head item ``blob#<ref>`` holds a small value itself, or the number of parts
        ``blob#<ref>#part#0000``... that hold the encoded document in order.
        """
        ref = blob_ref(run_id, key or uuid.uuid4().hex[:12])
        data = json.dumps(value, default=str).encode()
        head: dict[str, Any] = {
            "run_id": {"S": run_id},
            "item": {"S": f"blob#{ref}"},
            "expires_at": self._expiry(),
        }
        if len(data) <= BLOB_PART_BYTES:
            head["data"] = {"B": data}
        else:
            parts = [data[i : i + BLOB_PART_BYTES] for i in range(0, len(data), BLOB_PART_BYTES)]
            for n, part in enumerate(parts):
                self.client.put_item(
                    TableName=self.table,
                    Item={
                        "run_id": {"S": run_id},
                        "item": {"S": f"blob#{ref}#part#{n:04d}"},
                        "data": {"B": part},
                        "expires_at": self._expiry(),
                    },
                )
            head["parts"] = {"N": str(len(parts))}
        self.client.put_item(TableName=self.table, Item=head)  # written last: a reader never sees half a blob
        return ref

    def get_blob(self, ref: str) -> Any:
        parts = ref.split(":")
        if len(parts) != 3 or parts[0] != "blob":
            raise KeyError(f"no stored output {ref!r}")
        key = {"run_id": {"S": parts[1]}, "item": {"S": f"blob#{ref}"}}
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        if item is None:
            raise KeyError(f"no stored output {ref!r}")
        if "parts" not in item:
            stored = item["data"]
            return json.loads(stored["B"] if "B" in stored else stored["S"])
        data = b"".join(
            self.client.get_item(
                TableName=self.table,
                ConsistentRead=True,
                Key={
                    "run_id": {"S": parts[1]},
                    "item": {"S": f"blob#{ref}#part#{n:04d}"},
                },
            )["Item"]["data"]["B"]
            for n in range(int(item["parts"]["N"]))
        )
        return json.loads(data)
