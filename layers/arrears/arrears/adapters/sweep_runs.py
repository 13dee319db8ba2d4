"""The sweep's fan-out plumbing: the sweep-tasks queue and the per-business-date run record."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
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


CENSUS_PREFIX = "census#"
STOCK_PREFIX = "stock#"


@dataclass(frozen=True, slots=True)
class CensusClaim:
    """A shard's census claim: `claimed` for the one caller per (date, shard) that counts it;
    `totals` (open loans per jurisdiction and bucket, every shard) for the claim that completed the
    date's census, else None."""

    claimed: bool
    totals: dict[tuple[str, str], int] | None = None
    snapshot: dict[tuple[str, str], int] | None = None
    completed_now: bool = False  # this claim counted the date's last shard (it alone reconciles)


def _counts(item: Mapping[str, Any], prefix: str) -> dict[tuple[str, str], int]:
    """The `<prefix><jurisdiction>#<state>` number attributes of a run item."""
    counts: dict[tuple[str, str], int] = {}
    for name, value in item.items():
        if str(name).startswith(prefix):
            jurisdiction, state = str(name).removeprefix(prefix).rsplit("#", 1)
            counts[(jurisdiction, state)] = int(value)
    return counts


class SweepTaskQueue:
    """Sends sweep tasks (one JSON body per shard or continuation) to the sweep-tasks queue; or, with
    another `name`, the tasks of another queue of units of work (the reporting export's segments)."""

    def __init__(self, sqs: SQSClient, queue_url: str, name: str = "sweep-tasks") -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._name = name

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
                raise RuntimeError(f"{self._name} queue refused {len(failed)} of {len(chunk)} tasks: {codes}")
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
        """Record `shard` as done (`shards_done` of one shard)."""
        return self.shards_done(business_date, (shard,), shard_count, expires_at)

    def shards_done(
        self, business_date: date, shards: Collection[int], shard_count: int, expires_at: int
    ) -> int:
        """Record `shards` as done in one UpdateItem (a sweep task's shards of one invocation: one
        write a task, not one a shard); returns how many distinct shards of the date are done now.
        ValueError for an empty `shards` (DynamoDB refuses an empty set)."""
        if not shards:
            raise ValueError("no shard to record as done")
        response = self._table.update_item(
            Key={"business_date": business_date.isoformat()},
            UpdateExpression="ADD done_shards :shard SET shard_count = :count, expires_at = :ttl",
            ExpressionAttributeValues={":shard": set(shards), ":count": shard_count, ":ttl": expires_at},
            # ALL_NEW, not UPDATED_NEW: a retried ADD of a shard already in the set changes nothing,
            # and the count must still come from the item as stored.
            ReturnValues="ALL_NEW",
        )
        done: Any = response.get("Attributes", {}).get("done_shards", set())
        return len({int(s) for s in done if 0 <= int(s) < shard_count})

    def claim_heartbeat(self, business_date: date, completed_at: str, token: str | None = None) -> bool:
        """True for exactly one caller per business date (the one that should emit the heartbeat).

        `token` names the caller's claim (a fresh one when None); a caller that retries the call
        passes the same token to every attempt, so an attempt refused after an earlier one was
        applied (its answer lost) is recognised as this caller's claim."""
        token = token or uuid.uuid4().hex
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
        """True for exactly one caller per (business date, shard): the one that counts its census."""
        return self.claim_census_counts(business_date, shard, expires_at, {}, shard_count=0).claimed

    def claim_census_counts(
        self,
        business_date: date,
        shard: int,
        expires_at: int,
        counts: Mapping[tuple[str, str], int],
        *,
        shard_count: int,
    ) -> CensusClaim:
        """Claim (business date, shard)'s census and add its `counts` to the date's totals.

        One conditional UpdateItem (the same action as the other claims): ADD the shard to
        `census_shards` and each count to `census#<jurisdiction>#<bucket>` unless the shard is there
        already, so a shard counts once whatever the retries. The TTL is set as `shard_done` sets it.
        The claim whose shard is the date's last of `shard_count` gets the totals of every shard.
        """
        token = uuid.uuid4().hex
        claim = f"census_claim_{shard}"
        names = {"#claim": claim}
        values: dict[str, Any] = {":shards": {shard}, ":ttl": expires_at, ":token": token}
        adds = ["census_shards :shards"]
        for n, ((jurisdiction, bucket), count) in enumerate(sorted(counts.items())):
            names[f"#c{n}"] = f"{CENSUS_PREFIX}{jurisdiction}#{bucket}"
            values[f":c{n}"] = int(count)
            adds.append(f"#c{n} :c{n}")
        response = conditional_write(
            self._table.update_item,
            Key={"business_date": business_date.isoformat()},
            UpdateExpression=f"ADD {', '.join(adds)} SET expires_at = :ttl, #claim = :token",
            ConditionExpression=Attr("census_shards").not_exists() | ~Attr("census_shards").contains(shard),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            ours=lambda item: item.get(claim) == token,
        )
        claimed = response is not None
        if response is None:
            # Counted already: is the date's census complete (a redelivered final task must still
            # send the sweep it holds back)?
            key = {"business_date": business_date.isoformat()}
            item: Mapping[str, Any] = self._table.get_item(Key=key, ConsistentRead=True).get("Item", {})
        else:
            item = response.get("Attributes", {})
        done = {int(s) for s in item.get("census_shards", set())}
        if shard_count < 1 or not set(range(shard_count)) <= done:
            return CensusClaim(claimed=claimed)
        snapshot = _counts(item, STOCK_PREFIX) if item.get("stock_taken") else None
        return CensusClaim(
            claimed=claimed,
            totals=_counts(item, CENSUS_PREFIX),
            snapshot=snapshot,
            completed_now=claimed,
        )

    def start_run(
        self, business_date: date, snapshot: Mapping[tuple[str, str], int] | None, expires_at: int
    ) -> bool:
        """True for the first start of the date's sweep (the one that emits the day's stock), False for
        a re-run. The first start also keeps `snapshot`, the stock it read, on a census day
        (`stock#<jurisdiction>#<state>`, and `stock_taken`), for the census to be reconciled with."""
        token = uuid.uuid4().hex
        names: dict[str, str] = {}
        values: dict[str, Any] = {":ttl": expires_at, ":token": token}
        sets = ["expires_at = :ttl", "started_claim = :token"]
        if snapshot is not None:
            values[":yes"] = True
            sets.append("stock_taken = :yes")
            for n, ((jurisdiction, state), count) in enumerate(sorted(snapshot.items())):
                names[f"#s{n}"] = f"{STOCK_PREFIX}{jurisdiction}#{state}"
                values[f":s{n}"] = int(count)
                sets.append(f"#s{n} = :s{n}")
        request: dict[str, Any] = {
            "Key": {"business_date": business_date.isoformat()},
            "UpdateExpression": f"SET {', '.join(sets)}",
            "ConditionExpression": Attr("started_claim").not_exists(),
            "ExpressionAttributeValues": values,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        started = conditional_write(
            self._table.update_item, ours=lambda item: item.get("started_claim") == token, **request
        )
        return started is not None
