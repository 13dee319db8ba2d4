"""Registering a loan from the lending core: assess it once so it enters the review index."""

from __future__ import annotations

from datetime import datetime

from arrears.adapters.dynamodb import BorrowerRepository, LoanRepository
from arrears.config.policy import CollectionPolicy
from arrears.domain.assessment import assess
from arrears.domain.borrowers import Borrower
from arrears.domain.loans import Loan
from arrears.usecases.business_time import business_date


def register_loan(
    loan: Loan,
    borrower: Borrower,
    at: datetime,
    *,
    loans: LoanRepository,
    borrowers: BorrowerRepository,
    policy: CollectionPolicy,
) -> bool:
    """Store the borrower and the assessed loan; False when the loan id exists already."""
    borrowers.put(borrower)
    assessed = assess(loan, business_date(at, loan.jurisdiction), policy)
    return loans.create(assessed)
