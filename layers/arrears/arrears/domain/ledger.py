"""The payment ledger: payments take effect on their own value date, whatever order they arrive in.

Every payment is an entry in the loan's ledger (stored apart from the loan, one item per payment,
keyed by payment id for ever: `arrears.adapters.payments_ledger`). The loan's money state is a pure
function of its contract and its ledger: the non-reversed entries applied in value-date order
(payment id breaking ties), with charge-off re-derived from dates. So:

* a payment dated after every payment applied so far is applied to the loan as it stands (the
  common case: no ledger read);
* a payment dated before one already applied, or before the day the loan's money state has
  reached (a charge-off), is applied by replaying the whole ledger from the contract, so its
  penalty, cure and charge-off are what they would have been had it arrived in order;
* a reversal (returned or charged-back payment) marks its entry reversed and replays without it.

The loan keeps only the size of the set it reflects and an order-independent digest of its ids
(`ledger_count`, `ledger_digest`): a fixed-size record, however many payments a loan receives,
which tells a redelivered payment already reflected (nothing to do) from one whose ledger entry was
written by an attempt that failed before the loan was (replay to heal).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction

from arrears.domain.delinquency import charge_off_day, loan_dpd
from arrears.domain.loans import Loan, LoanStatus
from arrears.domain.money import advance, apply_money
from arrears.domain.payments import Payment, PaymentOutcome, check_payment

DIGEST_MODULUS = 2**63


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One payment as the ledger keeps it."""

    payment_id: str
    amount_minor: int
    currency: str
    value_date: date
    reversed: bool = False

    @property
    def key(self) -> tuple[date, str]:
        return (self.value_date, self.payment_id)

    @classmethod
    def of(cls, payment: Payment) -> LedgerEntry:
        return cls(payment.payment_id, payment.amount_minor, payment.currency, payment.paid_on)


def id_digest(payment_id: str) -> int:
    return int.from_bytes(hashlib.sha256(payment_id.encode()).digest()[:8], "big") % DIGEST_MODULUS


def ledger_digest(entries: Iterable[LedgerEntry]) -> tuple[int, int]:
    """(count, digest) of the entries in force (not reversed): what a loan reflecting them carries."""
    active = [e for e in entries if not e.reversed]
    return len(active), sum(id_digest(e.payment_id) for e in active) % DIGEST_MODULUS


def reflects(loan: Loan, entries: Iterable[LedgerEntry]) -> bool:
    """Whether the loan's money state is that of exactly these entries."""
    return (loan.ledger_count, loan.ledger_digest) == ledger_digest(entries)


def contract_of(loan: Loan) -> Loan:
    """The loan as registered: its schedule with nothing paid, nothing accrued, nothing waived."""
    instalments = tuple(
        replace(
            i,
            principal_paid=0,
            interest_paid=0,
            fee_paid=0,
            settled_on=None,
            principal_prepaid=0,
            interest_waived=0,
            fee_waived=0,
            accrual_from=None,
            interest_accrued_at=Fraction(0),
            fee_accrued_at=Fraction(0),
        )
        for i in loan.instalments
    )
    return loan.with_changes(
        instalments=instalments,
        status=LoanStatus.OPEN,
        penalty_exact=Fraction(0),
        penalty_paid_minor=0,
        money_through=None,
        principal_days=0,
        charged_off_on=None,
        recovered_minor=0,
        overpaid_minor=0,
        closed_on=None,
        ledger_count=0,
        ledger_digest=0,
        last_value_date=None,
        last_payment_id=None,
    )


def _judged_through(loan: Loan) -> date | None:
    """The latest day the loan's state is known as of (its last assessment, or its money state)."""
    days = [d for d in (loan.evaluated_on, loan.money_through, loan.charged_off_on) if d is not None]
    return max(days) if days else None


def _apply_entry(loan: Loan, entry: LedgerEntry) -> tuple[Loan, PaymentOutcome]:
    outcome = apply_money(loan, entry.amount_minor, entry.value_date)
    count, digest = loan.ledger_count + 1, (loan.ledger_digest + id_digest(entry.payment_id)) % DIGEST_MODULUS
    updated = outcome.loan.with_changes(
        ledger_count=count,
        ledger_digest=digest,
        last_value_date=entry.value_date,
        last_payment_id=entry.payment_id,
        overpaid_minor=outcome.loan.overpaid_minor + outcome.unapplied_minor,
    )
    result = PaymentOutcome(
        updated,
        outcome.applied,
        outcome.unapplied_minor,
        duplicate=False,
        cured=False,
        closed=False,
        prepaid_minor=outcome.prepaid_minor,
        rebate_minor=outcome.rebate_minor,
        recovered_minor=outcome.recovered_minor,
    )
    return updated, result


def replay(loan: Loan, entries: Iterable[LedgerEntry], through: date | None = None) -> Loan:
    """The loan's money state rebuilt from its contract and the entries in force, in value-date order.

    Collection state (holds, counters, DPD as last assessed) is kept. A charge-off is re-derived:
    if, after the last payment, the loan reaches its charge-off day on or before `through` (default:
    the latest day the loan was judged as of), it is charged off on that day.
    """
    state = contract_of(loan)
    for entry in sorted((e for e in entries if not e.reversed), key=lambda e: e.key):
        state, _ = _apply_entry(state, entry)
    through = _judged_through(loan) if through is None else through
    day = charge_off_day(state)
    if state.status is LoanStatus.OPEN and day is not None and through is not None and day <= through:
        state = advance(state, day)
    return state


def needs_replay(loan: Loan, entry: LedgerEntry) -> bool:
    """Whether `entry` must be applied by replaying the ledger rather than to the loan as it stands."""
    last = loan.last_value_date, loan.last_payment_id
    if last[0] is not None and last[1] is not None and entry.key < (last[0], last[1]):
        return True
    return loan.money_through is not None and entry.value_date < loan.money_through


def _flags(before: Loan, after: Loan, now: date) -> tuple[bool, bool]:
    """(cured, closed): overdue on `now` before and not after; closed by this change."""
    was = advance(before, now) if before.money_through is None or now >= before.money_through else before
    is_ = advance(after, now) if after.money_through is None or now >= after.money_through else after
    was_late = was.status is LoanStatus.OPEN and loan_dpd(was, now) > 0
    closed = is_.status is LoanStatus.CLOSED and before.status is not LoanStatus.CLOSED
    cured = was_late and (closed or (is_.status is LoanStatus.OPEN and loan_dpd(is_, now) == 0))
    return cured, closed


def receive(loan: Loan, payment: Payment, ledger: Sequence[LedgerEntry] | None = None) -> PaymentOutcome:
    """Apply a new payment (not yet reflected by the loan) on its value date.

    `ledger` is every entry of the loan's ledger, this payment's included; it is needed only when
    `needs_replay` (pass None otherwise: the payment is applied to the loan as it stands).
    """
    check_payment(loan, payment)
    entry = LedgerEntry.of(payment)
    now = max(d for d in (payment.paid_on, _judged_through(loan)) if d is not None)
    if not needs_replay(loan, entry):
        updated, result = _apply_entry(loan, entry)
        cured, closed = _flags(loan, updated, now)
        return replace(result, cured=cured, closed=closed)
    if ledger is None:
        raise ValueError(
            f"payment {payment.payment_id}: dated before payments already applied; ledger needed"
        )
    entries = list(ledger)
    if all(e.payment_id != entry.payment_id for e in entries):
        entries.append(entry)
    state = contract_of(loan)
    own: PaymentOutcome | None = None
    for item in sorted((e for e in entries if not e.reversed), key=lambda e: e.key):
        state, result = _apply_entry(state, item)
        if item.payment_id == entry.payment_id:
            own = result
    through = _judged_through(loan)
    day = charge_off_day(state)
    if state.status is LoanStatus.OPEN and day is not None and through is not None and day <= through:
        state = advance(state, day)
    updated = state
    cured, closed = _flags(loan, updated, now)
    if own is None:  # unreachable: the entry is in `entries` and not reversed
        raise ValueError(f"payment {payment.payment_id}: not in the replayed ledger")
    return replace(own, loan=updated, cured=cured, closed=closed, replayed=True)


def reverse(loan: Loan, payment_id: str, ledger: Sequence[LedgerEntry]) -> Loan:
    """The loan without payment `payment_id` (its entry must be marked reversed in `ledger`)."""
    entries = [e if e.payment_id != payment_id else replace(e, reversed=True) for e in ledger]
    return replay(loan, entries)
