"""Payments from the lending core: apply the waterfall, re-assess, write with optimistic locking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from arrears.adapters.dynamodb import LoanRepository, VersionConflict
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.assessment import assess, assessment_date
from arrears.domain.business_time import business_date
from arrears.domain.payments import Payment, PaymentOutcome, apply_payment
from arrears.domain.playbook import CollectionPlaybook

MAX_CONFLICT_RETRIES = 5


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
    event: PaymentReceived, *, loans: LoanRepository, policy: CollectionPlaybook, shard_count: int
) -> PaymentOutcome:
    for _ in range(MAX_CONFLICT_RETRIES):
        loan = loans.get(event.loan_id)
        if loan is None:
            raise UnknownLoan(f"payment {event.payment_id}: loan {event.loan_id} not found")
        on = business_date(event.paid_at, rule_pack_for(loan.jurisdiction))
        outcome = apply_payment(
            loan, Payment(event.payment_id, event.loan_id, event.amount_minor, event.currency, on)
        )
        if outcome.duplicate:
            return outcome
        # The payment is valued on its own date; the loan's state stays as of its latest assessment.
        updated = assess(outcome.loan, assessment_date(loan, on), policy, shard_count)
        try:
            stored = loans.save(updated)
        except VersionConflict:
            continue
        return PaymentOutcome(
            stored, outcome.applied, outcome.unapplied_minor, False, outcome.cured, outcome.closed
        )
    raise VersionConflict(f"loan {event.loan_id}: still conflicting after {MAX_CONFLICT_RETRIES} re-reads")
