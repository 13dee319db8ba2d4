"""The sweep's due list: which parked loans of a review shard are due on which date.

A loan the sweep writes is *parked*: its item keeps `review_shard` but not `review_on`, so it
leaves the sparse ReviewIndex and a later sweep write of it changes nothing there (DynamoDB charges
a moved index key a delete and a put). The sweep finds it again through this list: before it
writes the loans it holds (up to a page's worth, gathered over the pages of all the shards its task
sweeps), it writes one item per next review date holding the ids of those loans due that date, keyed
(`review_shard` = the first shard the task swept, `due_key` = "YYYY-MM-DD#chunk"). A few small items
per page instead of an index entry per loan. A partition may list loans of other shards: every
partition is read every day by the task that covers it, and that task sweeps whatever its entries
name (`arrears.usecases.sweep._sweep_loans`). Every
other writer (payment, hold, promise, onboarding) writes the loan unparked, so an event still reaches
the sweep through ReviewIndex, unless it leaves a parked loan's next review date as it was or moves
it later (`LoanRepository.save`): the entry under the earlier date still names the loan, and that
date's sweep, finding it not due yet, lists it again under its new date before deleting the entry
(`arrears.usecases.sweep._postponed`). A parked loan is always listed under its next review date or an
earlier one.

Order and crash safety: the entry is written before the loan, so a crash in between leaves an
extra entry (the sweep writes nothing for a listed loan that is not due), never
a loan missing from both the list and the index. An entry is deleted only after every loan in it
is settled (swept, listed again under a later date, moved to an earlier one, closed or gone). A
retried page writes the same items
(the chunk is a digest of the ids), so retries are idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from arrears.adapters.items import MalformedItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True, slots=True)
class DueEntry:
    """One due-list item: the ids of loans of `shard` parked with `due_on` as their next review."""

    shard: int
    due_key: str
    loan_ids: tuple[str, ...]

    @property
    def due_on(self) -> date:
        return date.fromisoformat(self.due_key.split("#", 1)[0])


@dataclass(frozen=True, slots=True)
class DuePage:
    entries: list[DueEntry]
    scanned_count: int
    last_evaluated_key: dict[str, Any] | None


def _ids(value: Any) -> tuple[str, ...]:
    """The loan ids of an entry (a string set), sorted; MalformedItem for anything else."""
    if not isinstance(value, set | frozenset) or not all(isinstance(i, str) for i in value):
        raise MalformedItem(f"due-list entry without a set of loan ids: {type(value).__name__}")
    return tuple(sorted(value))


def due_key(due_on: date, loan_ids: Iterable[str]) -> str:
    """`YYYY-MM-DD#<digest of the sorted ids>`: the same group of loans always gets the same key."""
    digest = hashlib.sha256("\n".join(sorted(loan_ids)).encode()).hexdigest()[:16]
    return f"{due_on.isoformat()}#{digest}"


class DueList:
    """The ReviewDue table (template.yaml): (`review_shard` N, `due_key` S) -> `loan_ids` (string set)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, shard: int, due: Mapping[str, date]) -> int:
        """List each loan id of `due` under its date in `shard`: one item per distinct date, written
        with BatchWriteItem (idempotent: the same ids make the same key). Returns the items written."""
        by_date: dict[date, list[str]] = {}
        for loan_id, on in due.items():
            by_date.setdefault(on, []).append(loan_id)
        with self._table.batch_writer() as batch:
            for on, ids in sorted(by_date.items()):
                batch.put_item(
                    Item={"review_shard": shard, "due_key": due_key(on, ids), "loan_ids": set(ids)}
                )
        return len(by_date)

    def page(
        self, shard: int, through: date, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> DuePage:
        """Entries of `shard` due on or before `through` (a missed day is caught up), oldest first."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("review_shard").eq(shard)
            & Key("due_key").lt(f"{(through.isoformat())}#~"),
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = dict(start_key)
        response = self._table.query(**kwargs)
        entries = [
            DueEntry(int(str(item["review_shard"])), str(item["due_key"]), _ids(item.get("loan_ids")))
            for item in response.get("Items", [])
        ]
        return DuePage(entries, int(response.get("ScannedCount", 0)), response.get("LastEvaluatedKey"))

    def remove(self, entries: Sequence[DueEntry]) -> None:
        """Delete settled entries (BatchWriteItem; deleting an absent item is no error)."""
        with self._table.batch_writer() as batch:
            for entry in entries:
                batch.delete_item(Key={"review_shard": entry.shard, "due_key": entry.due_key})
