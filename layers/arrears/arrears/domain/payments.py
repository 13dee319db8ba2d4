"""Applying a payment to a loan: the waterfall, on the payment's own value date.

The money itself moves in `arrears.domain.money` (`apply_money`); this module adds what a payment
is (id, amount, currency, value date), checks it, and reports what it did. Money is conserved:
`applied_minor + unapplied_minor == amount_minor`, always; what is left over is returned as
`unapplied_minor` (overpayment to refund or hold as credit).

Payments are applied in value-date order: one dated before the last one applied (or before the
charge-off it would have prevented) is not applied here but by replaying the loan's ledger
(`arrears.domain.ledger`), so that the outcome does not depend on the order of delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from arrears.domain.delinquency import loan_dpd
from arrears.domain.loans import Loan, LoanStatus
from arrears.domain.money import advance, apply_money
from arrears.domain.terms import DEFAULT_ORDER, Component

DEFAULT_WATERFALL: tuple[Component, ...] = DEFAULT_ORDER

__all__ = [
    "DEFAULT_WATERFALL",
    "Component",
    "Payment",
    "PaymentError",
    "PaymentOutcome",
    "apply_payment",
    "check_payment",
]


class PaymentError(ValueError):
    """A payment that cannot be applied (wrong loan or currency, non-positive amount)."""


@dataclass(frozen=True, slots=True)
class Payment:
    payment_id: str
    loan_id: str
    amount_minor: int
    currency: str
    paid_on: date  # the value date: the borrower's own calendar date when the money was paid


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    loan: Loan
    applied: dict[Component, int]
    unapplied_minor: int
    duplicate: bool
    cured: bool
    closed: bool
    prepaid_minor: int = 0  # principal taken off the schedule (within applied principal)
    rebate_minor: int = 0  # interest and fees no longer owed because the loan is repaid early
    recovered_minor: int = 0  # applied to a charged-off loan
    replayed: bool = False  # the ledger was replayed (a payment dated before ones already applied)

    @property
    def applied_minor(self) -> int:
        return sum(self.applied.values())


def check_payment(loan: Loan, payment: Payment) -> None:
    if payment.loan_id != loan.loan_id:
        raise PaymentError(f"payment {payment.payment_id} is for loan {payment.loan_id}, not {loan.loan_id}")
    if isinstance(payment.amount_minor, bool) or payment.amount_minor <= 0:
        raise PaymentError(f"payment {payment.payment_id}: amount_minor must be positive")
    if payment.currency != loan.currency:
        raise PaymentError(
            f"payment {payment.payment_id}: currency {payment.currency} != loan {loan.currency}"
        )


def apply_payment(loan: Loan, payment: Payment) -> PaymentOutcome:
    """Apply `payment` on its value date to `loan`, in the loan's product terms.

    A payment dated before the loan's money state (`money_through`) is applied as of that day
    here; `arrears.domain.ledger.receive` applies it on its own date by replaying the ledger, and
    keeps it idempotent (the ledger is keyed by payment id for ever).
    """
    check_payment(loan, payment)
    on = payment.paid_on
    if loan.money_through is not None and on < loan.money_through:
        on = loan.money_through
    before = advance(loan, on)
    was_delinquent = before.status is LoanStatus.OPEN and loan_dpd(before, on) > 0
    outcome = apply_money(before, payment.amount_minor, on)
    updated = outcome.loan
    closed = updated.status is LoanStatus.CLOSED and before.status is not LoanStatus.CLOSED
    cured = was_delinquent and (closed or loan_dpd(updated, on) == 0)
    return PaymentOutcome(
        updated,
        outcome.applied,
        outcome.unapplied_minor,
        duplicate=False,
        cured=cured,
        closed=closed,
        prepaid_minor=outcome.prepaid_minor,
        rebate_minor=outcome.rebate_minor,
        recovered_minor=outcome.recovered_minor,
    )
