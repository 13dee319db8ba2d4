"""A Loans table in memory, for unit tests of the use cases that change loans (and of the sweep:
`WheelLoans` adds the ReviewIndex, parking and the due list)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from arrears.adapters.due_list import DueEntry, due_key
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
        groups: dict[date, list[str]] = {}
        for loan_id, on in due.items():
            groups.setdefault(on, []).append(loan_id)
        for on, ids in groups.items():
            self.items[(shard, due_key(on, ids))] = tuple(sorted(ids))
        if self.fail_after_add:
            self.fail_after_add = False
            raise RuntimeError("crashed after writing the due list")
        return len(groups)

    def remove(self, entries: Sequence[DueEntry]) -> None:
        for entry in entries:
            self.items.pop((entry.shard, entry.due_key), None)

    def dates_of(self, loan_id: str) -> set[date]:
        listed = (key for (_, key), ids in self.items.items() if loan_id in ids)
        return {date.fromisoformat(key.split("#")[0]) for key in listed}


class WheelLoans(MemoryLoans):
    """Loans in memory with the Loans table's conditional save, the ReviewIndex's query (parked
    loans are out of it) and the sweep's due list."""

    def __init__(self, loans: Mapping[str, Loan], *, shard_count: int) -> None:
        super().__init__(*loans.values())
        self.shard_count = shard_count
        self.parked: set[str] = set()
        self.due_list = MemoryDueList()

    def _stays_parked(self, loan: Loan) -> bool:
        """A write that keeps a parked loan's next review date, or moves it later, keeps it parked
        (`LoanRepository.save`)."""
        before = self.items.get(loan.loan_id)
        return (
            loan.loan_id in self.parked
            and before is not None
            and before.next_review_on is not None
            and loan.next_review_on is not None
            and before.next_review_on <= loan.next_review_on
        )

    def save(self, loan: Loan, *, parked: bool = False) -> Loan:
        keep = self._stays_parked(loan)
        stored = super().save(loan)
        if parked or keep:
            self.parked.add(loan.loan_id)
        else:
            self.parked.discard(loan.loan_id)
        return stored

    def write_by_event(self, loan: Loan) -> None:
        """A payment, hold or promise: written unparked, back into the index, unless the loan was parked
        and keeps its next review date or moves it later (its due-list entry names it under a date on
        or before its own: that day's sweep lists it again under its new date)."""
        keep = self._stays_parked(loan)
        self.items[loan.loan_id] = loan
        if not keep:
            self.parked.discard(loan.loan_id)

    def review_page(
        self, shard: int, through: date, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> ReviewPage:
        keyed = sorted(
            (loan.next_review_on.isoformat(), loan.loan_id)
            for loan in self.items.values()
            if loan_to_item(loan, shard_count=self.shard_count).get("review_shard") == shard
            and loan.loan_id not in self.parked
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
        keys = sorted(k for s, k in self.due_list.items if s == shard and k < f"{through.isoformat()}#~")
        if start_key:
            keys = [k for k in keys if k > str(start_key["due_key"])]
        page = keys[:limit]
        last = {"review_shard": shard, "due_key": page[-1]} if len(keys) > limit else None
        entries = [DueEntry(shard, k, self.due_list.items[(shard, k)]) for k in page]
        loans = {i: self.items[i] for e in entries for i in e.loan_ids if i in self.items}
        return DueLoansPage(entries, loans, len(page), last)

    def unreachable(self, on: date) -> set[str]:
        """Open loans with a milestone that neither the index nor the due list holds: a parked loan
        must be listed under its next review date or an earlier one (whose sweep lists it again)."""
        return {
            loan_id
            for loan_id, loan in self.items.items()
            if loan.next_review_on is not None
            and loan_id in self.parked
            and not any(listed <= loan.next_review_on for listed in self.due_list.dates_of(loan_id))
        }
