"""A contract as it is registered: the borrower's zone, the product's terms, the working-day calendar
and the cost cap of the jurisdiction's money rules fixed on it, and the cap checked.

Used by onboarding (a contract over the cap is refused, with the figures) and by anything that builds
loans the same way (the local simulator's book).
"""

from __future__ import annotations

from arrears.domain.borrowers import Borrower
from arrears.domain.costcap import check_contract
from arrears.domain.loans import Loan
from arrears.domain.moneyrules import MoneyRules
from arrears.domain.terms import LoanTerms
from arrears.domain.workdays import with_pay_by


def prepare_contract(loan: Loan, borrower: Borrower, terms: LoanTerms, rules: MoneyRules) -> Loan:
    """`loan` with the borrower's zone, `terms`, each instalment's last on-time day and the cap in
    force on its contract date; raises `ContractOverCap` (naming the figures) if its own interest and
    fees are over that cap, and `NoCapKnown` if no cap can be fixed."""
    cap = rules.cost_cap.cap_for(loan.disbursed_on, borrower.region)
    prepared = loan.with_changes(
        timezone=borrower.timezone, contract_region=borrower.region, terms=terms, apr_cap_bps=cap.annual_bps
    )
    prepared = with_pay_by(prepared, rules.calendar)
    check_contract(prepared, f"{rules.ref}: {cap.explanation}")
    return prepared
