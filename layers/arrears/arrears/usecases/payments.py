"""Payments and reversals from the lending core: the ledger first, then the loan rebuilt from it.

`receive_payment`: the payment's value date is the borrower's own date when it was paid. Its ledger
entry is written first (a conditional put keyed by payment id: idempotent for ever); then the loan
is changed, conditionally on its version, with the payment applied on its value date: as the loan
stands when the payment is the latest (by value date) of the loan's ledger, else by replaying the
ledger (`arrears.domain.ledger`). A redelivered payment whose entry exists changes nothing when the
loan reflects the ledger, and rebuilds the loan from it when it does not (a previous attempt wrote
the entry and failed before the loan). The loan is then assessed as of the later of the value date
and its last assessment.

`reverse_payment`: a returned or charged-back payment marks its entry reversed and the loan is
rebuilt without it. An unknown or already reversed payment changes nothing (a logged no-op).

Each change reads the loan's ledger once (one strongly consistent Query: tens of items), so that it
knows exactly which payments the loan reflects whatever else is writing the loan at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from arrears.adapters.dynamodb import LoanChange, LoanUpdate
from arrears.adapters.payments_ledger import Reversal
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.assessment import assess, assessment_date
from arrears.domain.business_time import loan_business_date
from arrears.domain.ledger import LedgerEntry, needs_replay, receive, reflects, replay
from arrears.domain.loans import Loan
from arrears.domain.payments import Payment, PaymentOutcome, check_payment
from arrears.domain.playbook import CollectionPlaybook


class UnknownLoan(LookupError):
    """A payment for a loan this system does not hold: nothing to apply it to."""


class Loans(Protocol):
    def get(self, loan_id: str) -> Loan | None: ...

    def update(self, loan_id: str, change: LoanChange) -> LoanUpdate: ...


class Ledger(Protocol):
    def record(self, loan_id: str, entry: LedgerEntry, received_at: datetime) -> bool: ...

    def entries(self, loan_id: str) -> list[LedgerEntry]: ...

    def reverse(self, loan_id: str, payment_id: str, reversed_at: datetime, reason: str) -> Reversal: ...


@dataclass(frozen=True)
class PaymentReceived:
    payment_id: str
    loan_id: str
    amount_minor: int
    currency: str
    paid_at: datetime


@dataclass(frozen=True)
class PaymentReversed:
    payment_id: str
    loan_id: str
    reversed_at: datetime
    reason: str = "RETURNED"


def _assessed(before: Loan, after: Loan, on: date, playbook: CollectionPlaybook) -> Loan:
    # The change is valued on its own date; the loan's state stays as of its latest assessment.
    return assess(after, assessment_date(before, on), playbook)


def receive_payment(
    event: PaymentReceived,
    *,
    loans: Loans,
    ledger: Ledger,
    playbook: CollectionPlaybook,
) -> PaymentOutcome:
    """Record the payment in the ledger, apply it on its value date, re-assess and store the loan."""
    loan = loans.get(event.loan_id)
    if loan is None:
        raise UnknownLoan(f"payment {event.payment_id}: loan {event.loan_id} not found")
    on = loan_business_date(loan, event.paid_at, rule_pack_for(loan.jurisdiction))
    payment = Payment(event.payment_id, event.loan_id, event.amount_minor, event.currency, on)
    check_payment(loan, payment)  # a payment that cannot be applied is not recorded either
    entry = LedgerEntry.of(payment)
    # False when the id is in the ledger already (a redelivery, or an attempt that stopped before the
    # loan was written): the ledger, read below, decides what the loan still needs.
    ledger.record(loan.loan_id, entry, event.paid_at)
    outcomes: list[PaymentOutcome] = []

    def pay(current: Loan) -> Loan | None:
        entries = ledger.entries(current.loan_id)
        if reflects(current, entries):
            outcomes.append(PaymentOutcome(current, {}, 0, duplicate=True, cured=False, closed=False))
            return None
        others = [e for e in entries if e.payment_id != entry.payment_id]
        own = next((e for e in entries if e.payment_id == entry.payment_id), entry)
        mine = Payment(own.payment_id, current.loan_id, own.amount_minor, own.currency, own.value_date)
        if reflects(current, others) and not own.reversed:
            outcome = receive(current, mine, None if not needs_replay(current, own) else entries)
        else:
            # The loan does not reflect the ledger without this payment either: rebuild it from the
            # ledger (a previous attempt stopped between the ledger and the loan, or a reversal).
            rebuilt = replay(current, entries)
            outcome = PaymentOutcome(
                rebuilt, {}, 0, duplicate=False, cured=False, closed=False, replayed=True
            )
        outcomes.append(outcome)
        return _assessed(current, outcome.loan, on, playbook)

    update = loans.update(loan.loan_id, pay)
    if update.loan is None:
        raise UnknownLoan(f"payment {event.payment_id}: loan {event.loan_id} not found")
    return replace(outcomes[-1], loan=update.loan)


class ReversalVerdict(StrEnum):
    REVERSED = "REVERSED"  # the payment is undone and the loan rebuilt without it
    UNKNOWN = "UNKNOWN"  # no such payment in the loan's ledger: nothing to undo
    ALREADY = "ALREADY_REVERSED"  # reversed before: nothing more to undo
    UNKNOWN_LOAN = "UNKNOWN_LOAN"  # no such loan: nothing to undo


@dataclass(frozen=True)
class ReversalResult:
    verdict: ReversalVerdict
    loan: Loan | None
    rebuilt: bool  # the loan was written


def reverse_payment(
    event: PaymentReversed,
    *,
    loans: Loans,
    ledger: Ledger,
    playbook: CollectionPlaybook,
) -> ReversalResult:
    """Undo a payment: its entry is marked reversed and the loan rebuilt from the entries in force."""
    loan = loans.get(event.loan_id)
    if loan is None:
        return ReversalResult(ReversalVerdict.UNKNOWN_LOAN, None, rebuilt=False)
    verdict = {
        Reversal.REVERSED: ReversalVerdict.REVERSED,
        Reversal.UNKNOWN: ReversalVerdict.UNKNOWN,
        Reversal.ALREADY: ReversalVerdict.ALREADY,
    }[ledger.reverse(loan.loan_id, event.payment_id, event.reversed_at, event.reason)]
    if verdict is ReversalVerdict.UNKNOWN:
        return ReversalResult(verdict, loan, rebuilt=False)
    on = loan_business_date(loan, event.reversed_at, rule_pack_for(loan.jurisdiction))

    def undo(current: Loan) -> Loan | None:
        entries = ledger.entries(current.loan_id)
        if reflects(current, entries):
            return None  # already rebuilt without it (a redelivered reversal)
        return _assessed(current, replay(current, entries), on, playbook)

    update = loans.update(loan.loan_id, undo)
    return ReversalResult(verdict, update.loan, rebuilt=update.written)
