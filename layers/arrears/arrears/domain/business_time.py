"""Business dates, from the event's time (never the wall clock).

A loan's business date is its borrower's own calendar date at the event's instant (`Loan.timezone`,
copied from the Borrower when the loan is registered): a payment made on the due date where the
borrower lives is on time. The sweep, payments, holds and onboarding date a loan's events this way.
A loan without a zone (stored before it was kept) uses its jurisdiction's `business_timezone`, which
is also what a jurisdiction's business date is (the sweep's run date).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from arrears.domain.calendar import local_date
from arrears.domain.loans import Loan
from arrears.domain.rulepacks import RulePack


def business_date(at: datetime, pack: RulePack) -> date:
    """The calendar date in `pack.business_timezone` at the aware instant `at`."""
    return local_date(at, pack.business_timezone)


def loan_business_date(loan: Loan, at: datetime, pack: RulePack) -> date:
    """The loan's business date at `at`: the borrower's own date (`pack`'s zone if the loan has none)."""
    return local_date(at, loan.timezone or pack.business_timezone)


def latest_business_date(at: datetime, packs: Iterable[RulePack]) -> date:
    """The latest calendar date any of `packs`' jurisdictions has reached at `at` (ValueError if none)."""
    return max(local_date(at, pack.business_timezone) for pack in packs)
