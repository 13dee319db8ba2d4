"""Business dates, from the event's time (never the wall clock).

A loan's business date is the borrower's own calendar date (`Loan.timezone`, copied from the
Borrower when the loan is registered): a payment made on the due date where the borrower lives is on
time. A loan without a zone (registered before it was kept) uses its jurisdiction's business zone.
"""

from __future__ import annotations

from datetime import date, datetime

from arrears.domain.calendar import local_date
from arrears.domain.compliance import RULE_PACKS, rule_pack_for
from arrears.domain.loans import Loan


def loan_business_date(loan: Loan, at: datetime) -> date:
    """The loan's business date at `at`: the borrower's own date."""
    return local_date(at, loan.timezone or rule_pack_for(loan.jurisdiction).business_timezone)


def latest_business_date(at: datetime) -> date:
    """The latest calendar date any known jurisdiction has reached at `at`."""
    return max(local_date(at, pack.business_timezone) for pack in RULE_PACKS.values())
