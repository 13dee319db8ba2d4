"""The review lister: list in the sweep's due list the loans that writers other than the sweep changed.

How a loan reaches the daily sweep (docs/scaling.md, "The review lister"):

* the sweep writes the loans it assesses *parked* and lists each one itself, under its next review
  date, in the due list (`arrears.usecases.sweep`);
* every other writer (onboarding, a payment, a reversal, a hold, a promise, a call outcome) writes
  the loan with `list_on`, its next review date (`arrears.adapters.items.loan_to_item`), unless it
  only postpones a loan already listed (`LoanRepository.save`). The Loans table's stream carries the
  write here, filtered to records whose new image has `list_on` and gathered by the event source
  mapping over its batching window (template.yaml, `ReviewListerFunction`).

`list_for_review` turns one batch into a few due-list items: the loans sorted by (`list_on`, id), in
chunks of `LOAN_IDS_PER_ITEM`, each chunk one item under the earliest `list_on` of its loans. That
date's sweep reads every loan the item names: a due one is swept, one due later is listed again under
its own date in the sweep's own items (`arrears.usecases.sweep._postponed`), and the item is deleted
once every loan in it is settled. A loan is therefore always listed under its `list_on` or an earlier
date, which is what the sweep needs to reach it on time.

Why a stream-fed list instead of the ReviewIndex entry every such write used to put: an index entry
costs a write unit when the writer puts it and another when the sweep parks the loan, 2 per listing;
an item of this batch costs its bytes (about a hundred 10-byte ids a KB) once written and once
deleted, shared by the batch, plus the sweep's read of a loan not due on the item's date (half a read
unit) and its share of the item that lists it again: about 0.15 write units (reads at their price in
write units) a listing at ten million loans, in batches of about 95 (`benchmarks/model.py`,
`lister_units_per_listing`; docs/scaling.md, "The review lister").

Idempotent: a redelivered batch makes the same items (the key is the date and a digest of the ids,
`arrears.adapters.due_list.due_key`); a batch split by a retry lists its loans in other items, which
the sweep reads once each (it reads a loan once however many entries name it). A record whose
previous version asked for the same date (`listed_on == list_on`) was listed by that earlier record
and is skipped, unless the write brought the next review earlier (`LoanListingRecord.unwrap`). A
listing lost for good (a batch past the stream's 24 hours of retention) leaves the loan carrying its
request, which the reconciliation census lists again before the loan is due, or, due before that
census, once its milestone has passed unswept (`arrears.usecases.census`, `list_again`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Protocol

from arrears.adapters.due_list import MAX_IDS_PER_ITEM
from arrears.adapters.items import shard_for
from arrears.adapters.retrying import retry_transient

LOAN_IDS_PER_ITEM = MAX_IDS_PER_ITEM
"""Loan ids per due-list item the lister writes (`arrears.adapters.due_list.MAX_IDS_PER_ITEM`)."""


class DueListWriter(Protocol):
    def put(self, shard: int, due_on: date, loan_ids: Iterable[str]) -> int: ...


@dataclass(frozen=True, slots=True)
class ListingRequest:
    """One stream record's request: list `loan_id` under `list_on`; `listed_on` is the `list_on` the
    version it replaced carried (None: none, or the write brought the next review earlier, when an
    earlier request may have been fulfilled and listed again under a later date since), so a request
    an earlier record made is known."""

    loan_id: str
    list_on: date
    listed_on: date | None = None

    @property
    def repeated(self) -> bool:
        """The previous version asked for the same date: its record lists the loan."""
        return self.listed_on == self.list_on


@dataclass(frozen=True, slots=True)
class ListingOutcome:
    """What a batch did: `requests` read, `listed` distinct loans listed, `items` due-list items
    written, `earliest` the earliest date listed (None when nothing was)."""

    requests: int
    listed: int
    items: int
    earliest: date | None


def list_for_review(
    requests: Iterable[ListingRequest],
    due_list: DueListWriter,
    shard_count: int,
    *,
    ids_per_item: int = LOAN_IDS_PER_ITEM,
) -> ListingOutcome:
    """List each requested loan under the earliest date its requests ask for, in items of at most
    `ids_per_item` ids, each under the earliest date of its loans and in the due-list partition of its
    first loan's shard (any partition 0..`shard_count`-1 is read every day). Each write is retried
    alone on a transient error; anything else raises (the batch is retried whole: idempotent).
    ValueError when `ids_per_item` < 1."""
    if ids_per_item < 1:
        raise ValueError(f"ids_per_item must be at least 1, got {ids_per_item}")
    count, wanted = 0, dict[str, date]()
    for request in requests:
        count += 1
        if request.repeated:
            continue
        if request.loan_id not in wanted or request.list_on < wanted[request.loan_id]:
            wanted[request.loan_id] = request.list_on
    ordered = sorted(wanted.items(), key=lambda pair: (pair[1], pair[0]))
    items = 0
    for start in range(0, len(ordered), ids_per_item):
        chunk = ordered[start : start + ids_per_item]
        first_id, on = chunk[0]
        ids = [loan_id for loan_id, _ in chunk]
        items += retry_transient(partial(due_list.put, shard_for(first_id, shard_count), on, ids))
    return ListingOutcome(count, len(ordered), items, ordered[0][1] if ordered else None)
