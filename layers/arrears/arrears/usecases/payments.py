"""Payments from the lending core: apply the waterfall, re-assess, write with optimistic locking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from arrears.adapters.dynamodb import LoanRepository
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.assessment import assess, assessment_date
from arrears.domain.business_time import business_date
from arrears.domain.loans import Loan
from arrears.domain.payments import Payment, PaymentOutcome, apply_payment
from arrears.domain.playbook import CollectionPlaybook


class UnknownLoan(LookupError):
    """A payment for a loan this system does not hold: nothing to apply it to."""


@dataclass(frozen=True)
class PaymentReceived:
    payment_id: str
    loan_id: str
    amount_minor: int
    currency: str
    paid_at: datetime


def receive_payment(
    event: PaymentReceived, *, loans: LoanRepository, playbook: CollectionPlaybook
) -> PaymentOutcome:
    """Apply `event` to its loan, re-assess the loan and store it (`LoanRepository.update`).

    Returns the outcome with the loan as stored; a payment id the loan has applied before changes
    nothing and returns the duplicate outcome. Raises `UnknownLoan` when no loan has the id, and
    `VersionConflict` when the loan kept changing under every attempt.
    """
    attempts: list[PaymentOutcome] = []  # what each attempt made of the payment; the last one counts

    def pay(loan: Loan) -> Loan | None:
        on = business_date(event.paid_at, rule_pack_for(loan.jurisdiction))
        outcome = apply_payment(
            loan, Payment(event.payment_id, event.loan_id, event.amount_minor, event.currency, on)
        )
        attempts.append(outcome)
        if outcome.duplicate:
            return None
        # The payment is valued on its own date; the loan's state stays as of its latest assessment.
        return assess(outcome.loan, assessment_date(loan, on), playbook)

    update = loans.update(event.loan_id, pay)
    if update.loan is None:
        raise UnknownLoan(f"payment {event.payment_id}: loan {event.loan_id} not found")
    outcome = attempts[-1]
    if outcome.duplicate:
        return outcome
    return PaymentOutcome(
        update.loan, outcome.applied, outcome.unapplied_minor, False, outcome.cured, outcome.closed
    )
