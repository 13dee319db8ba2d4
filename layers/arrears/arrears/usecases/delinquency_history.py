"""Record a loan's bucket transition in its delinquency history, from the loan's change of state.

Every change of a loan's bucket or status, whoever made it (the sweep's assessment, a payment, a
reversal, a charge-off), reaches the planner as a Loans stream record with both images; the planner
calls `record_transition` with them before planning. One place therefore sees every transition, in
the order of the loan's versions, and the append is idempotent on the loan version.
"""

from __future__ import annotations

from typing import Protocol

from arrears.domain.loans import Loan
from arrears.domain.transitions import Transition, transition


class DelinquencyHistory(Protocol):
    def append(self, loan: Loan, transition: Transition) -> bool: ...


def record_transition(before: Loan | None, after: Loan, *, history: DelinquencyHistory) -> Transition | None:
    """Append the transition `before` -> `after` to the loan's history; the transition newly recorded,
    or None (no change of state, or that loan version recorded already)."""
    change = transition(before, after)
    if change is None or not history.append(after, change):
        return None
    return change


__all__ = ["DelinquencyHistory", "record_transition"]
