"""The run store on DynamoDB: the same protocol as ``SqliteRunStore``, for the cloud.

One table, keyed ``run_id`` (partition) + ``item`` (sort): ``run`` holds the run document,
``event#000042`` one trace event, ``blob#<ref>`` one large tool output, ``counter`` the event
sequence. Documents are stored as JSON strings, so floats need no Decimal conversion. Events and
blobs carry ``expires_at`` for the table's TTL. ``list_runs`` scans for ``run`` items: fine for
the run counts one operator keeps; a GSI on ``created_at`` is the step up when it is not.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any



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
                KeySchema=[{"AttributeName": "run_id", "KeyType": "HASH"}, {"AttributeName": "item", "KeyType": "RANGE"}],
                AttributeDefinitions=[{"AttributeName": "run_id", "AttributeType": "S"}, {"AttributeName": "item", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )

    def _expiry(self) -> dict[str, str]:
        from chalicelib.config import get_settings

        return {"N": str(int(time.time() + get_settings().trace_ttl_days * 86400))}

    def put_run(self, document: dict[str, Any]) -> None:
        now = time.time()
        existing = self.get_run(document["run_id"])
        created = (existing or {}).get("created_at", document.get("created_at", now))
        self.client.put_item(TableName=self.table, Item={
            "run_id": {"S": document["run_id"]}, "item": {"S": "run"},
            "status": {"S": document.get("status", "running")},
            "created_at": {"N": repr(float(created))}, "updated_at": {"N": repr(now)},
            "document": {"S": json.dumps({**document, "created_at": created}, default=str)},
        })

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key={"run_id": {"S": run_id}, "item": {"S": "run"}},
                                    ConsistentRead=True).get("Item")
        return json.loads(item["document"]["S"]) if item else None

    def list_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "FilterExpression": "#i = :run",
                                  "ExpressionAttributeNames": {"#i": "item"}, "ExpressionAttributeValues": {":run": {"S": "run"}}}
        while True:
            page = self.client.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        documents = sorted((json.loads(i["document"]["S"]) for i in items), key=lambda d: d.get("created_at", 0), reverse=True)
        keys = ("run_id", "request", "status", "stop_reason", "created_at")
        return [{k: d.get(k) for k in keys} for d in documents[:limit]]

    def append_event(self, run_id: str, kind: str, state: str, data: dict[str, Any]) -> None:
        counter = self.client.update_item(
            TableName=self.table, Key={"run_id": {"S": run_id}, "item": {"S": "counter"}},
            UpdateExpression="ADD seq :one", ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW",
        )
        seq = int(counter["Attributes"]["seq"]["N"])
        event = {"seq": seq, "ts": time.time(), "kind": kind, "state": state, "data": data}
        self.client.put_item(TableName=self.table, Item={
            "run_id": {"S": run_id}, "item": {"S": f"event#{seq:06d}"},
            "event": {"S": json.dumps(event, default=str)}, "expires_at": self._expiry(),
        })

    def events(self, run_id: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table, "ConsistentRead": True,
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
        ref = f"blob:{run_id}:{key or uuid.uuid4().hex[:12]}"
        self.client.put_item(TableName=self.table, Item={
            "run_id": {"S": run_id}, "item": {"S": f"blob#{ref}"},
            "data": {"S": json.dumps(value, default=str)}, "expires_at": self._expiry(),
        })
        return ref

    def get_blob(self, ref: str) -> Any:
        parts = ref.split(":")
        if len(parts) != 3 or parts[0] != "blob":
            raise KeyError(f"no stored output {ref!r}")
        item = self.client.get_item(TableName=self.table, Key={"run_id": {"S": parts[1]}, "item": {"S": f"blob#{ref}"}},
                                    ConsistentRead=True).get("Item")
        if item is None:
            raise KeyError(f"no stored output {ref!r}")
        return json.loads(item["data"]["S"])
