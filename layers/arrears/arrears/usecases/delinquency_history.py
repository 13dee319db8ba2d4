"""Record a loan's bucket transition in its delinquency history, from the loan's change of state.

Every change of a loan's bucket or status, whoever made it (the sweep's assessment, a payment, a
reversal, a charge-off), reaches the planner as a Loans stream record with both images; the planner
calls `record_transition` with them before planning. One place therefore sees every transition, in
the order of the loan's versions, and the append is idempotent on the loan version.

A transition newly appended is then counted in the book's stock and the day's flows
(`arrears.adapters.book_stock`): only after the append succeeded, so a replayed record counts once.
A crash between the append and the count loses that count (at most once); the periodic reconciliation
(`arrears.usecases.book_stock.reconcile`) finds and corrects such drift.
"""

from __future__ import annotations

from typing import Protocol

from arrears.domain.loans import Loan
from arrears.domain.transitions import Transition, transition


class DelinquencyHistory(Protocol):
    def append(self, loan: Loan, transition: Transition) -> bool: ...


class StockCounters(Protocol):
    def apply(self, jurisdiction: str, change: Transition) -> None: ...


def record_transition(
    before: Loan | None,
    after: Loan,
    *,
    history: DelinquencyHistory,
    stock: StockCounters | None = None,
) -> Transition | None:
    """Append the transition `before` -> `after` to the loan's history and count it in `stock`; the
    transition newly recorded, or None (no change of state, or that loan version recorded already:
    nothing is counted)."""
    change = transition(before, after)
    if change is None or not history.append(after, change):
        return None
    if stock is not None:
        stock.apply(after.jurisdiction, change)
    return change


__all__ = ["DelinquencyHistory", "StockCounters", "record_transition"]
