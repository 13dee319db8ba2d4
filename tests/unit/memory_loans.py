"""A Loans table in memory, for unit tests of the use cases that change loans (and of the sweep:
`WheelLoans` adds parking, the due list, the review lister and the draining ReviewIndex)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from arrears.adapters.due_list import DueEntry, chunks_by_date, due_key
from arrears.adapters.dynamodb import (
    DueLoansPage,
    LoanChange,
    LoanUpdate,
    ReviewPage,
    VersionConflict,
    update_loan,
)
from arrears.adapters.items import loan_to_item
from arrears.domain.loans import Loan
from arrears.usecases.review_listing import ListingRequest, list_for_review


class MemoryLoans:
    """Loans by id with the Loans table's conditional save on `version` and `update` on top of it.

    `race` holds callables run one per save, before its condition is checked (another writer landing
    between the read and the write); `reads` and `saves` count the calls that read and that wrote.
    """

    def __init__(self, *loans: Loan) -> None:
        self.items = {loan.loan_id: loan for loan in loans}
        self.race: list[Callable[[], None]] = []
        self.reads = 0
        self.saves = 0

    def get(self, loan_id: str) -> Loan | None:
        self.reads += 1
        return self.items.get(loan_id)

    def save(self, loan: Loan, *, parked: bool = False) -> Loan:
        """`parked` (the sweep's writes) is a storage detail of the table, ignored here."""
        if self.race:
            self.race.pop(0)()
        if self.items[loan.loan_id].version != loan.version:
            raise VersionConflict(loan.loan_id)
        stored = loan.with_changes(version=loan.version + 1)
        self.items[loan.loan_id] = stored
        self.saves += 1
        return stored

    def update(
        self, loan_id: str, change: LoanChange, *, current: Loan | None = None, max_attempts: int = 5
    ) -> LoanUpdate:
        return update_loan(self, loan_id, change, current=current, max_attempts=max_attempts)


class MemoryDueList:
    """The due list in memory: (shard, due_key) -> loan ids, with the table's key order."""

    def __init__(self) -> None:
        self.items: dict[tuple[int, str], tuple[str, ...]] = {}
        self.fail_after_add = False  # a crash right after the list is written, before the loans

    def add(self, shard: int, due: Mapping[str, date]) -> int:
        chunks = chunks_by_date(due)
        for on, ids in chunks:
            self.items[(shard, due_key(on, ids))] = tuple(ids)
        if self.fail_after_add:
            self.fail_after_add = False
            raise RuntimeError("crashed after writing the due list")
        return len(chunks)

    def put(self, shard: int, due_on: date, loan_ids: Iterable[str]) -> int:
        return self.add(shard, dict.fromkeys(loan_ids, due_on))

    def remove(self, entries: Sequence[DueEntry]) -> None:
        for entry in entries:
            self.items.pop((entry.shard, entry.due_key), None)

    def dates_of(self, loan_id: str) -> set[date]:
        listed = (key for (_, key), ids in self.items.items() if loan_id in ids)
        return {date.fromisoformat(key.split("#")[0]) for key in listed}


class WheelLoans(MemoryLoans):
    """Loans in memory with the Loans table's conditional save, the sweep's due list, the review
    lister fed by the table's stream, and the draining ReviewIndex.

    `parked` holds the loans last written with no listing request (the sweep's writes, and events
    that postponed a listed loan: `LoanRepository.save`); any other write is a `ListingRequest` in
    `requests`, the stream records the review lister has not read yet. `due_page` runs the lister on
    them first (`arrears.usecases.review_listing.list_for_review`): its batching window is minutes,
    the sweep daily. `indexed` holds the loans a test put in ReviewIndex (written before the lister
    existed); every later write takes a loan out of it. The loans given are new: each asks for a
    listing, as onboarding's write does."""

    def __init__(self, loans: Mapping[str, Loan], *, shard_count: int, indexed: Collection[str] = ()) -> None:
        super().__init__(*loans.values())
        self.shard_count = shard_count
        self.parked: set[str] = set()
        self.indexed: set[str] = set(indexed)
        self.requests = [
            ListingRequest(loan.loan_id, loan.next_review_on)
            for loan in loans.values()
            if loan.next_review_on is not None and loan.loan_id not in self.indexed
        ]
        self.due_list = MemoryDueList()
        self.lister_items = 0  # due-list items the lister wrote

    def _stays_listed(self, loan: Loan) -> bool:
        """A write that keeps a listed loan's next review date, or moves it later, asks for nothing
        (`LoanRepository.save`): the entry, or the request, under the earlier date reaches it."""
        before = self.items.get(loan.loan_id)
        return (
            loan.loan_id not in self.indexed
            and before is not None
            and before.next_review_on is not None
            and loan.next_review_on is not None
            and before.next_review_on <= loan.next_review_on
        )

    def _written(self, loan: Loan, listed: bool) -> None:
        self.indexed.discard(loan.loan_id)  # no writer puts review_on any more
        if listed:
            self.parked.add(loan.loan_id)
            return
        self.parked.discard(loan.loan_id)
        if loan.next_review_on is not None:
            self.requests.append(ListingRequest(loan.loan_id, loan.next_review_on))

    def save(self, loan: Loan, *, parked: bool = False) -> Loan:
        keep = self._stays_listed(loan)
        stored = super().save(loan)
        self._written(stored, parked or keep)
        return stored

    def write_by_event(self, loan: Loan) -> None:
        """A payment, hold or promise: asks the lister to list the loan, unless it keeps a listed
        loan's next review date or moves it later (its entry, under a date on or before its own,
        reaches it: that day's sweep lists it again under its new date)."""
        keep = self._stays_listed(loan)
        self.items[loan.loan_id] = loan
        self._written(loan, keep)

    def run_lister(self) -> None:
        """The review lister reads the stream records it has not read yet, as one batch."""
        if self.requests:
            self.lister_items += list_for_review(self.requests, self.due_list, self.shard_count).items
            self.requests = []

    def review_page(
        self, shard: int, through: date, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> ReviewPage:
        keyed = sorted(
            (loan.next_review_on.isoformat(), loan.loan_id)
            for loan in self.items.values()
            if loan_to_item(loan, shard_count=self.shard_count).get("review_shard") == shard
            and loan.loan_id in self.indexed
            and loan.next_review_on is not None
            and loan.next_review_on <= through
        )
        if start_key:
            after = (str(start_key["review_on"]), str(start_key["loan_id"]))
            keyed = [k for k in keyed if k > after]
        page = keyed[:limit]
        last = None
        if len(keyed) > limit:
            last = {"review_shard": shard, "review_on": page[-1][0], "loan_id": page[-1][1]}
        return ReviewPage([self.items[loan_id] for _, loan_id in page], len(page), last)

    def due_page(
        self, shard: int, through: date, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> DueLoansPage:
        self.run_lister()
        keys = sorted(k for s, k in self.due_list.items if s == shard and k < f"{through.isoformat()}#~")
        if start_key:
            keys = [k for k in keys if k > str(start_key["due_key"])]
        page = keys[:limit]
        last = {"review_shard": shard, "due_key": page[-1]} if len(keys) > limit else None
        entries = [DueEntry(shard, k, self.due_list.items[(shard, k)]) for k in page]
        loans = {i: self.items[i] for e in entries for i in e.loan_ids if i in self.items}
        return DueLoansPage(entries, loans, len(page), last)

    def unreachable(self, on: date) -> set[str]:
        """Open loans with a milestone that neither the index, the lister's pending requests nor the
        due list holds: a loan must be listed (or asked to be) under its next review date or an
        earlier one (whose sweep lists it again)."""
        requested: dict[str, date] = {}
        for request in self.requests:
            requested[request.loan_id] = min(request.list_on, requested.get(request.loan_id, request.list_on))
        return {
            loan_id
            for loan_id, loan in self.items.items()
            if loan.next_review_on is not None
            and loan_id not in self.indexed
            and not (loan_id in requested and requested[loan_id] <= loan.next_review_on)
            and not any(listed <= loan.next_review_on for listed in self.due_list.dates_of(loan_id))
        }
