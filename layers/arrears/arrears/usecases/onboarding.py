"""Registering a loan from the lending core: assess it once so it enters the review index."""

from __future__ import annotations

from datetime import datetime

from arrears.adapters.dynamodb import BorrowerRepository, LoanRepository
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.assessment import assess
from arrears.domain.borrowers import Borrower
from arrears.domain.business_time import business_date
from arrears.domain.loans import Loan
from arrears.domain.playbook import CollectionPlaybook


def register_loan(
    loan: Loan,
    borrower: Borrower,
    at: datetime,
    *,
    loans: LoanRepository,
    borrowers: BorrowerRepository,
    playbook: CollectionPlaybook,
) -> bool:
    """Store the borrower and the assessed loan; False when the loan id exists already."""
    borrowers.put(borrower)
    assessed = assess(loan, business_date(at, rule_pack_for(loan.jurisdiction)), playbook)
    return loans.create(assessed)
