"""Penalty and the amounts a collector asks for: the public face of `arrears.domain.money`.

The penalty charged on day D grows, day by day, by the daily rate (`penalty_daily_ppm` per million)
on the principal of every instalment past its last on-time day, while the loan is overdue beyond
its product's tolerance; on no day may it exceed the room the cost cap leaves (the allowance on the
principal actually outstanding to date, minus interest and fees charged to date). What the cap
cuts off is not charged later. A charge-off freezes it.
"""

from __future__ import annotations

from datetime import date

from arrears.domain.loans import Loan
from arrears.domain.money import advance, amount_due, balance, penalty_charged, penalty_outstanding

__all__ = ["amount_due", "crystallise", "penalty_charged", "penalty_outstanding", "total_outstanding"]


def crystallise(loan: Loan, on: date) -> Loan:
    """The loan's money state moved to the end of `on` (accruals and, on its day, charge-off)."""
    return advance(loan, on)


def total_outstanding(loan: Loan, on: date) -> int:
    """Everything the loan owes on `on` as it stands (interest and fees of the whole schedule).

    Paying it always closes the loan; a payoff quote (`arrears.domain.payoff`) is what closes it
    with the interest and fees of the time not borrowed taken off, and is never more than this.
    """
    return balance(loan, on)
