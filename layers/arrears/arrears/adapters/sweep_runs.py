"""The sweep's fan-out plumbing: the sweep-tasks queue and the per-business-date run record."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr

from arrears.adapters.tables import conditional_write

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs import SQSClient

SQS_BATCH = 10


@dataclass(frozen=True, slots=True)
class RunProgress:
    """How far the sweep of one business date has got (shard_count 0: no shard has finished yet)."""

    business_date: date
    shards_done: int = 0
    shard_count: int = 0
    completed_at: str | None = None

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


class SweepTaskQueue:
    """Sends sweep tasks (one JSON body per shard or continuation) to the sweep-tasks queue."""

    def __init__(self, sqs: SQSClient, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def send(self, bodies: Sequence[Mapping[str, Any]]) -> int:
        """Send every body (in batches of 10); raises if SQS refuses any, so the caller is retried.

        A retried fan-out sends some tasks twice: harmless, a shard swept twice writes nothing new.
        """
        sent = 0
        for start in range(0, len(bodies), SQS_BATCH):
            chunk = bodies[start : start + SQS_BATCH]
            response = self._sqs.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(n), "MessageBody": json.dumps(dict(body), sort_keys=True)}
                    for n, body in enumerate(chunk)
                ],
            )
            failed = response.get("Failed", [])
            if failed:
                codes = sorted({str(f.get("Code", "?")) for f in failed})
                raise RuntimeError(f"sweep-tasks queue refused {len(failed)} of {len(chunk)} tasks: {codes}")
            sent += len(chunk)
        return sent


class SweepRunRepository:
    """One item per business date: which shards are done, and whether the heartbeat went out.

    `done_shards` is a number set grown with an atomic ADD, so a redelivered or re-run shard is
    counted once; the heartbeat is claimed with a conditional SET, so it is emitted once per date;
    `census_shards` holds the shards whose open-loan census was emitted, each added by a conditional
    ADD, so a shard's census is emitted once per date.

    Each claim also writes a token of its own (`heartbeat_claim`, `census_claim_<shard>`): when
    botocore retries a claim whose first attempt was applied, the refused retry finds that token and
    the claim is still ours (otherwise nobody would emit the heartbeat, and the deadline would page).
    """

    def __init__(self, table: Table) -> None:
        self._table = table

    def shard_done(self, business_date: date, shard: int, shard_count: int, expires_at: int) -> int:
        """Record `shard` as done; returns how many distinct shards of the date are done now."""
        response = self._table.update_item(
            Key={"business_date": business_date.isoformat()},
            UpdateExpression="ADD done_shards :shard SET shard_count = :count, expires_at = :ttl",
            ExpressionAttributeValues={":shard": {shard}, ":count": shard_count, ":ttl": expires_at},
            # ALL_NEW, not UPDATED_NEW: a retried ADD of a shard already in the set changes nothing,
            # and the count must still come from the item as stored.
            ReturnValues="ALL_NEW",
        )
        done: Any = response.get("Attributes", {}).get("done_shards", set())
        return len({int(s) for s in done if 0 <= int(s) < shard_count})

    def claim_heartbeat(self, business_date: date, completed_at: str) -> bool:
        """True for exactly one caller per business date (the one that should emit the heartbeat)."""
        token = uuid.uuid4().hex
        claimed = conditional_write(
            self._table.update_item,
            Key={"business_date": business_date.isoformat()},
            UpdateExpression="SET completed_at = :at, heartbeat_claim = :token",
            ConditionExpression=Attr("completed_at").not_exists(),
            ExpressionAttributeValues={":at": completed_at, ":token": token},
            ours=lambda item: item.get("heartbeat_claim") == token,
        )
        return claimed is not None

    def progress(self, business_date: date) -> RunProgress:
        """The run record of `business_date` (strongly consistent: a late alarm must not read stale)."""
        key = {"business_date": business_date.isoformat()}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        if item is None:
            return RunProgress(business_date)
        shard_count = int(str(item.get("shard_count", 0)))
        done: Any = item.get("done_shards", set())
        return RunProgress(
            business_date,
            shards_done=len({int(s) for s in done if 0 <= int(s) < shard_count}),
            shard_count=shard_count,
            completed_at=str(item["completed_at"]) if "completed_at" in item else None,
        )

    def claim_census(self, business_date: date, shard: int, expires_at: int) -> bool:
        """True for exactly one caller per (business date, shard): the one that emits its census.

        One conditional UpdateItem (the same action as the other claims): ADD the shard to
        `census_shards` unless it is there already. The TTL is set as `shard_done` sets it.
        """
        token = uuid.uuid4().hex
        claim = f"census_claim_{shard}"
        claimed = conditional_write(
            self._table.update_item,
            Key={"business_date": business_date.isoformat()},
            UpdateExpression="ADD census_shards :shards SET expires_at = :ttl, #claim = :token",
            ConditionExpression=Attr("census_shards").not_exists() | ~Attr("census_shards").contains(shard),
            ExpressionAttributeNames={"#claim": claim},
            ExpressionAttributeValues={":shards": {shard}, ":ttl": expires_at, ":token": token},
            ours=lambda item: item.get(claim) == token,
        )
        return claimed is not None
