"""Payoff quotes: what closes a loan at an instant, and nothing for the time not borrowed.

A borrower who repays early pays interest for the time actually borrowed: principal, plus interest
and fees accrued to the day of repayment, plus fees due and penalty; the interest and fees of the
rest of the schedule are not owed (PRC Civil Code art. 677; in the US, unearned interest is
refunded, by a method at least as favourable as the actuarial method, 15 U.S.C. 1615). Which
convention a jurisdiction applies, and its source, is rule-pack data (`prepayment` in
`rulepacks.yaml`); both known ones come to the same arithmetic here: interest accrues by the day on
each period's scheduled balance (`arrears.domain.money`).

A payment of at least the quote on its value date is a full prepayment: the waterfall closes the
loan at the quote and returns the rest unapplied (`arrears.domain.money.apply_money`).
"""

from __future__ import annotations

from datetime import date, datetime

from arrears.domain.calendar import local_date
from arrears.domain.loans import Loan
from arrears.domain.money import PayoffQuote, payoff_quote

__all__ = ["PayoffQuote", "borrower_date", "payoff_quote", "quote_at"]


def borrower_date(loan: Loan, at: datetime, fallback_zone: str) -> date:
    """The loan's business date at `at`: the borrower's own date (the jurisdiction's zone if unknown)."""
    return local_date(at, loan.timezone or fallback_zone)


def quote_at(loan: Loan, at: datetime, fallback_zone: str) -> PayoffQuote:
    """The payoff quote at instant `at`, on the borrower's own date."""
    return payoff_quote(loan, borrower_date(loan, at, fallback_zone))
