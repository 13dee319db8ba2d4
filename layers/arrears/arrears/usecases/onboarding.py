"""Registering a loan from the lending core: fix its terms and cap, check it, assess it once so it
enters the review index."""

from __future__ import annotations

from datetime import datetime

from arrears.adapters.dynamodb import BorrowerRepository, LoanRepository
from arrears.config.money import money_rules_for
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.assessment import assess
from arrears.domain.borrowers import Borrower
from arrears.domain.business_time import loan_business_date
from arrears.domain.contracts import prepare_contract
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
    """Store the borrower and the assessed loan; False when the loan id exists already.

    The loan is registered under its product's terms (`loan.terms.product`), on the borrower's own
    dates, with the cost cap its jurisdiction's money rules fix for its contract date and the
    borrower's state; a contract whose own interest and fees are over that cap raises
    `ContractOverCap` (nothing stored), the message naming the figures.
    """
    prepared = prepare_contract(
        loan,
        borrower,
        playbook.terms_for(loan.terms.product),
        money_rules_for(loan.jurisdiction, loan.disbursed_on),
    )
    # The champion/challenger arm, fixed at registration (a stable hash of the loan id): the loan,
    # its delinquency history and the report's per-arm figures all carry it.
    prepared = prepared.with_changes(strategy_arm=playbook.arm_for(prepared).name)
    borrowers.put(borrower)
    assessed = assess(prepared, loan_business_date(prepared, at, rule_pack_for(loan.jurisdiction)), playbook)
    return loans.create(assessed)
