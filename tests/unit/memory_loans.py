"""A Loans table in memory, for unit tests of the use cases that change loans."""

from __future__ import annotations

from collections.abc import Callable

from arrears.adapters.dynamodb import LoanChange, LoanUpdate, VersionConflict, update_loan
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

    def save(self, loan: Loan) -> Loan:
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
