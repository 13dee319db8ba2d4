"""Delinquency states and the transitions between them: the rows of the delinquency history.

A loan's delinquency *state* is its bucket while it is open (M0 current, M1 1-30 DPD, ... by the
playbook's buckets) and its status once it leaves collection: CHARGED_OFF (written off at the
playbook's charge-off DPD) or CLOSED (repaid in full). A *transition* is a change of state between
two consecutive versions of the loan, dated by the loan's business date (`evaluated_on`, the
borrower's own date). The history of a loan is its ordered transitions; the stock of a bucket on a
date is the loans whose last transition up to that date entered it, and a roll rate is the share of
the loans in a bucket that moved to the next one (standard industry terms: roll rate, cure = a
return to M0, self-cure = a cure with no contact made between the date of first delinquency and the
cure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from arrears.domain.loans import Loan, LoanStatus

CURRENT = "M0"


def delinquency_state(loan: Loan) -> str:
    """The bucket of an open loan, else its status (CLOSED, CHARGED_OFF)."""
    return loan.bucket if loan.status is LoanStatus.OPEN else loan.status.value


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of delinquency state: `from_state` -> `to_state` on the business date `on`.

    `from_state` is None for a loan's first state (registration). `version` is the loan version
    that made the change: the history's idempotency key (a replayed stream record adds nothing).
    `dpd` is the loan's days past due after the change.
    """

    on: date
    from_state: str | None
    to_state: str
    dpd: int
    version: int

    @property
    def is_cure(self) -> bool:
        """A delinquent open loan back to current (or repaid in full from a delinquent bucket)."""
        return (
            self.from_state is not None
            and self.from_state not in (CURRENT, LoanStatus.CLOSED.value, LoanStatus.CHARGED_OFF.value)
            and self.to_state in (CURRENT, LoanStatus.CLOSED.value)
        )


def transition(before: Loan | None, after: Loan) -> Transition | None:
    """The transition from `before` (None: a new loan) to `after`, or None when the state is the same.

    The date is `after.evaluated_on` (the business date of the change); a loan never assessed has no
    state to record yet (None).
    """
    if after.evaluated_on is None:
        return None
    to_state = delinquency_state(after)
    from_state = delinquency_state(before) if before is not None and before.evaluated_on is not None else None
    if from_state == to_state:
        return None
    return Transition(after.evaluated_on, from_state, to_state, after.dpd, after.version)


def stock_change(change: Transition) -> dict[str, int]:
    """What `change` does to the stock of loans per delinquency state: -1 on the state it left (none
    for a new loan), +1 on the state it entered. The open-loan stock of a bucket is the sum of these
    over every transition of the book (a loan entering the book adds to its first bucket; a loan
    paid off or charged off leaves its bucket for CLOSED or CHARGED_OFF)."""
    delta = {change.to_state: 1}
    if change.from_state is not None:
        delta[change.from_state] = delta.get(change.from_state, 0) - 1
    return {state: n for state, n in delta.items() if n}


def is_open_state(state: str) -> bool:
    """Whether `state` is a bucket of an open loan (not CLOSED or CHARGED_OFF)."""
    return state not in (LoanStatus.CLOSED.value, LoanStatus.CHARGED_OFF.value)


__all__ = ["CURRENT", "Transition", "delinquency_state", "is_open_state", "stock_change", "transition"]
