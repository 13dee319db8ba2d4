"""Applying a payment to a loan: the waterfall.

Due instalments first (due on or before the payment date), then early repayment of later ones.
Inside each phase the components are paid in the configured order (default: fees, penalty,
interest, principal), each component across instalments oldest first. Whatever is left over is
returned as `unapplied_minor` (overpayment to refund or hold as credit), so money is conserved:
`applied_minor + unapplied_minor == amount_minor`, always.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from arrears.domain.delinquency import loan_dpd
from arrears.domain.loans import Instalment, Loan, LoanStatus
from arrears.domain.penalties import crystallise, penalty_outstanding

MAX_REMEMBERED_PAYMENTS = 50


class Component(StrEnum):
    FEE = "fee"
    PENALTY = "penalty"
    INTEREST = "interest"
    PRINCIPAL = "principal"


DEFAULT_WATERFALL: tuple[Component, ...] = (
    Component.FEE,
    Component.PENALTY,
    Component.INTEREST,
    Component.PRINCIPAL,
)


class PaymentError(ValueError):
    """A payment that cannot be applied (wrong currency, non-positive amount, closed loan)."""


@dataclass(frozen=True, slots=True)
class Payment:
    payment_id: str
    loan_id: str
    amount_minor: int
    currency: str
    paid_on: date


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    loan: Loan
    applied: dict[Component, int]
    unapplied_minor: int
    duplicate: bool
    cured: bool
    closed: bool

    @property
    def applied_minor(self) -> int:
        return sum(self.applied.values())


def _pay(instalment: Instalment, component: Component, budget: int) -> tuple[Instalment, int]:
    attribute = f"{component.value}_paid"
    outstanding = getattr(instalment, f"{component.value}_outstanding")
    take = min(outstanding, budget)
    if take == 0:
        return instalment, 0
    updated: Instalment = replace(instalment, **{attribute: getattr(instalment, attribute) + take})
    return updated, take


def apply_payment(
    loan: Loan, payment: Payment, waterfall: tuple[Component, ...] = DEFAULT_WATERFALL
) -> PaymentOutcome:
    """Apply `payment` to `loan`; a payment id seen before changes nothing (idempotent)."""
    if payment.loan_id != loan.loan_id:
        raise PaymentError(f"payment {payment.payment_id} is for loan {payment.loan_id}, not {loan.loan_id}")
    if payment.payment_id in loan.applied_payment_ids:
        return PaymentOutcome(loan, {}, 0, duplicate=True, cured=False, closed=False)
    if payment.amount_minor <= 0:
        raise PaymentError(f"payment {payment.payment_id}: amount_minor must be positive")
    if payment.currency != loan.currency:
        raise PaymentError(
            f"payment {payment.payment_id}: currency {payment.currency} != loan {loan.currency}"
        )
    if sorted(set(waterfall)) != sorted(Component):
        raise PaymentError("waterfall must name every component exactly once")
    if not loan.is_open:
        # Money for a closed or charged-off loan is not applied here: it goes back in full.
        return PaymentOutcome(loan, {}, payment.amount_minor, duplicate=False, cured=False, closed=False)

    on = payment.paid_on if loan.penalty_through is None else max(payment.paid_on, loan.penalty_through)
    was_delinquent = loan_dpd(loan, on) > 0
    loan = crystallise(loan, on)
    budget = payment.amount_minor
    applied = dict.fromkeys(Component, 0)
    instalments = list(loan.instalments)
    penalty_paid = loan.penalty_paid_minor

    for due_phase in (True, False):
        for component in waterfall:
            if component is Component.PENALTY:
                if due_phase:
                    take = min(penalty_outstanding(loan, on), budget)
                    penalty_paid += take
                    applied[component] += take
                    budget -= take
                continue
            for index, instalment in enumerate(instalments):
                if (instalment.due_on <= on) != due_phase or budget == 0:
                    continue
                instalments[index], take = _pay(instalment, component, budget)
                applied[component] += take
                budget -= take

    settled = tuple(
        replace(i, settled_on=on) if i.is_settled and i.settled_on is None else i for i in instalments
    )
    remembered = (*loan.applied_payment_ids, payment.payment_id)[-MAX_REMEMBERED_PAYMENTS:]
    updated = loan.with_changes(
        instalments=settled, penalty_paid_minor=penalty_paid, applied_payment_ids=remembered
    )
    closed = all(i.is_settled for i in settled) and penalty_outstanding(updated, on) == 0
    if closed:
        updated = updated.with_changes(status=LoanStatus.CLOSED, closed_on=on)
    cured = was_delinquent and loan_dpd(updated, on) == 0
    return PaymentOutcome(updated, applied, budget, duplicate=False, cured=cured, closed=closed)
