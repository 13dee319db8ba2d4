"""The sweep's due list: which open loans are due on which date, by review shard partition.

Every open loan with a next review date is listed here under that date or an earlier one, by one of:

* the sweep, for the loans it writes (*parked*: the item keeps `review_shard` and `next_review_on`
  and carries no listing request). Before it writes the loans it holds (up to a flush, gathered over
  the pages of all the shards its task sweeps), it writes one item per next review date holding the
  ids of those loans due that date, keyed (`review_shard` = the first shard the task swept,
  `due_key` = "YYYY-MM-DD#chunk");
* the review lister (`arrears.usecases.review_listing`), for the loans every other writer changed
  (onboarding, a payment, a hold, a promise: the write carries `list_on`), a stream batch in an item
  under the earliest date of its loans (`put`);
* the census, for the loans it finds overdue or still carrying a request (`arrears.usecases.census`).

A write that keeps a listed loan's date or moves it later asks for nothing (`LoanRepository.save`):
the entry under the earlier date still names the loan, and that date's sweep, finding it not due
yet, lists it again under its new date before deleting the entry (`arrears.usecases.sweep._postponed`).
A partition may list loans of other shards: every partition is read every day by the task that
covers it, and that task sweeps whatever its entries name (`arrears.usecases.sweep._sweep_loans`).
An item names at most `MAX_IDS_PER_ITEM` loans (a date with more is split), well under DynamoDB's
400 KB.

Order and crash safety: the sweep writes the entry before the loan, so a crash in between leaves an
extra entry (the sweep writes nothing for a listed loan that is not due), never a loan missing from
the list. An entry is deleted only after every loan in it is settled (swept, listed again under a
later date, moved to an earlier one, closed or gone). A retried write makes the same items (the
chunk is a digest of the ids), so retries are idempotent.
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


MAX_IDS_PER_ITEM = 1_000
"""Loan ids an item names at most: 1,000 UUIDs are about 40 KB (DynamoDB's item limit is 400 KB), and
the sweep batch-reads the loans of a due-list page together."""


def chunks_by_date(due: Mapping[str, date]) -> list[tuple[date, list[str]]]:
    """(date, ids) of the items listing `due` (loan id -> date): the ids of a date sorted, in chunks of
    `MAX_IDS_PER_ITEM`, dates in order."""
    by_date: dict[date, list[str]] = {}
    for loan_id, on in due.items():
        by_date.setdefault(on, []).append(loan_id)
    return [
        (on, ids[start : start + MAX_IDS_PER_ITEM])
        for on, unsorted in sorted(by_date.items())
        for ids in [sorted(unsorted)]
        for start in range(0, len(ids), MAX_IDS_PER_ITEM)
    ]


def due_key(due_on: date, loan_ids: Iterable[str]) -> str:
    """`YYYY-MM-DD#<digest of the sorted ids>`: the same group of loans always gets the same key."""
    digest = hashlib.sha256("\n".join(sorted(loan_ids)).encode()).hexdigest()[:16]
    return f"{due_on.isoformat()}#{digest}"


def due_item(shard: int, due_on: date, loan_ids: Iterable[str]) -> dict[str, Any]:
    """The ReviewDue item listing `loan_ids` under `due_on` in partition `shard` (its key from
    `due_key`: the same ids always make the same item)."""
    ids = sorted(set(loan_ids))
    return {"review_shard": shard, "due_key": due_key(due_on, ids), "loan_ids": set(ids)}


class DueList:
    """The ReviewDue table (template.yaml): (`review_shard` N, `due_key` S) -> `loan_ids` (string set)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, shard: int, due: Mapping[str, date]) -> int:
        """List each loan id of `due` under its date in `shard`: one item per distinct date (per
        `MAX_IDS_PER_ITEM` ids of it), written with BatchWriteItem (idempotent: the same ids make the
        same key). Returns the items written."""
        items = 0
        with self._table.batch_writer() as batch:
            for on, ids in chunks_by_date(due):
                batch.put_item(Item=due_item(shard, on, ids))
                items += 1
        return items

    def put(self, shard: int, due_on: date, loan_ids: Iterable[str]) -> int:
        """List `loan_ids` under `due_on` in `shard`: one PutItem (the review lister's write: it never
        deletes), idempotent like `add`. Returns the items written (1)."""
        self._table.put_item(Item=due_item(shard, due_on, loan_ids))
        return 1

    def page(
        self,
        shard: int,
        through: date,
        start_key: Mapping[str, Any] | None = None,
        limit: int = 200,
        max_ids: int = MAX_IDS_PER_ITEM,
    ) -> DuePage:
        """Entries of `shard` due on or before `through` (a missed day is caught up), oldest first: up
        to `limit` entries, ending before the entry that would take their ids past `max_ids` (the
        page's loans are read and assessed together; the next page starts at that entry)."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("review_shard").eq(shard)
            & Key("due_key").lt(f"{(through.isoformat())}#~"),
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = dict(start_key)
        response = self._table.query(**kwargs)
        entries: list[DueEntry] = []
        held = 0
        for item in response.get("Items", []):
            entry = DueEntry(int(str(item["review_shard"])), str(item["due_key"]), _ids(item.get("loan_ids")))
            if entries and held + len(entry.loan_ids) > max_ids:
                last = {"review_shard": shard, "due_key": entries[-1].due_key}
                return DuePage(entries, int(response.get("ScannedCount", 0)), last)
            entries.append(entry)
            held += len(entry.loan_ids)
        return DuePage(entries, int(response.get("ScannedCount", 0)), response.get("LastEvaluatedKey"))

    def remove(self, entries: Sequence[DueEntry]) -> None:
        """Delete settled entries (BatchWriteItem; deleting an absent item is no error)."""
        with self._table.batch_writer() as batch:
            for entry in entries:
                batch.delete_item(Key={"review_shard": entry.shard, "due_key": entry.due_key})
