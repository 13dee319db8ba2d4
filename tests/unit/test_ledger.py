"""The payment ledger: value dates, delivery order, charge-off and recoveries, reversals."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.config.playbook import bundled_playbook
from arrears.domain.assessment import assess
from arrears.domain.delinquency import loan_dpd
from arrears.domain.ledger import (
    LedgerEntry,
    contract_of,
    ledger_digest,
    needs_replay,
    receive,
    reflects,
    replay,
    reverse,
)
from arrears.domain.loans import Instalment, Loan, LoanStatus, build_schedule
from arrears.domain.money import amount_due, payoff_quote, penalty_charged
from arrears.domain.payments import Payment, PaymentOutcome
from arrears.domain.terms import LoanTerms
from tests.unit.strategies import START, loans


class Book:
    """A loan and its ledger, as the payments function keeps them: entry first, then the loan."""

    def __init__(self, loan: Loan) -> None:
        self.loan = loan
        self.entries: list[LedgerEntry] = []

    def pay(self, payment_id: str, amount: int, on: date) -> PaymentOutcome:
        payment = Payment(payment_id, self.loan.loan_id, amount, self.loan.currency, on)
        entry = LedgerEntry.of(payment)
        self.entries.append(entry)
        outcome = receive(self.loan, payment, self.entries if needs_replay(self.loan, entry) else None)
        self.loan = outcome.loan
        return outcome

    def reverse(self, payment_id: str) -> None:
        self.entries = [
            LedgerEntry(e.payment_id, e.amount_minor, e.currency, e.value_date, True)
            if e.payment_id == payment_id
            else e
            for e in self.entries
        ]
        self.loan = reverse(self.loan, payment_id, self.entries)


def _plan(disbursed: date = date(2026, 2, 11)) -> Loan:
    schedule = build_schedule(300_000, disbursed_on=disbursed, instalments=3, monthly_interest_bps=100)
    return Loan("L-9", "B-9", "CN", "CNY", 300_000, disbursed, schedule, 500, 2400)


def _cash(due: date = date(2026, 1, 31), **overrides: object) -> Loan:
    loan = Loan(
        "L-C",
        "B-C",
        "CN",
        "CNY",
        100_000,
        due - timedelta(days=30),
        (Instalment(1, due, 100_000, 1_000),),
        500,
        2400,
    )
    return loan.with_changes(**overrides)


def test_a_payment_takes_effect_on_its_value_date_whatever_order_it_arrives_in() -> None:
    """A payment dated 03-11 (instalment 1's due date) that settles instalment 1,
    delivered after a 10,000 payment dated 03-13, leaves instalment 1 settled on 03-11, no penalty."""
    loan = _plan()
    first = loan.instalments[0]
    assert first.due_on == date(2026, 3, 11)
    book = Book(loan)
    late = book.pay("P-13", 10_000, date(2026, 3, 13))
    assert not late.replayed
    assert penalty_charged(book.loan, date(2026, 3, 13)) > 0  # as it stood: two days overdue
    on_time = book.pay("P-11", first.total_due, date(2026, 3, 11))
    assert on_time.replayed
    settled = book.loan.instalments[0]
    assert settled.is_settled
    assert settled.settled_on == date(2026, 3, 11)
    assert book.loan.penalty_accrued_minor == 0
    assert book.loan.penalty_paid_minor == 0
    # The 10,000 of 03-13 now pays instalment 2, whose period was running.
    assert book.loan.instalments[1].interest_paid + book.loan.instalments[1].principal_paid == 10_000
    assert book.loan == replay(loan, book.entries)


def test_a_payoff_dated_before_the_charge_off_day_undoes_the_charge_off() -> None:
    loan = _cash()
    charge_off = date(2026, 1, 31) + timedelta(days=180)
    charged = assess(loan, charge_off, bundled_playbook())
    assert charged.status is LoanStatus.CHARGED_OFF
    assert charged.charged_off_on == charge_off
    paid_on = charge_off - timedelta(days=1)
    book = Book(charged)
    outcome = book.pay("PAYOFF", payoff_quote(loan, paid_on).total_minor, paid_on)
    assert outcome.replayed
    assert outcome.closed
    assert book.loan.status is LoanStatus.CLOSED
    assert book.loan.charged_off_on is None
    assert book.loan.closed_on == paid_on
    assert book.loan.recovered_minor == 0


def test_payments_on_a_charged_off_loan_are_recoveries_with_the_penalty_frozen() -> None:
    """Money for a charged-off loan was returned in full. It is applied to the
    balance frozen at charge-off, counted as recovered, and the loan closes at zero."""
    charge_off = date(2026, 1, 31) + timedelta(days=180)
    charged = assess(_cash(), charge_off, bundled_playbook())
    penalty = charged.penalty_accrued_minor
    assert penalty > 0
    later = charge_off + timedelta(days=45)
    assert penalty_charged(charged, later) == penalty
    balance = amount_due(charged, later)
    assert balance == 100_000 + 1_000 + penalty
    book = Book(charged)
    part = book.pay("R1", 30_000, later)
    assert part.applied_minor == 30_000
    assert part.recovered_minor == 30_000
    assert book.loan.status is LoanStatus.CHARGED_OFF
    assert book.loan.recovered_minor == 30_000
    rest = book.pay("R2", balance - 30_000 + 5, later + timedelta(days=10))
    assert rest.unapplied_minor == 5
    assert rest.closed
    final = rest.loan
    assert final.status is LoanStatus.CLOSED
    assert final.closed_on == later + timedelta(days=10)
    assert final.charged_off_on == charge_off
    assert final.recovered_minor == balance


def test_a_reversed_payment_reopens_the_loan_with_the_dpd_it_would_have_had() -> None:
    """Paid 03-01 (due date), reversed 03-05: open again, 4 days past due."""
    loan = _cash(due=date(2026, 3, 1))
    book = Book(loan)
    paid = book.pay("P1", 101_000, date(2026, 3, 1))
    assert paid.closed
    book.reverse("P1")
    assert book.loan.status is LoanStatus.OPEN
    assert loan_dpd(book.loan, date(2026, 3, 5)) == 4
    assert book.loan.ledger_count == 0
    assessed = assess(book.loan, date(2026, 3, 5), bundled_playbook())
    assert (assessed.dpd, assessed.bucket) == (4, "M1")
    assert amount_due(assessed, date(2026, 3, 5)) == 101_000 + penalty_charged(loan, date(2026, 3, 5))
    # Reversing it again, or reversing a payment the ledger does not know, changes nothing.
    again = reverse(book.loan, "P1", book.entries)
    assert again == book.loan
    unknown = reverse(book.loan, "NOPE", book.entries)
    assert unknown == book.loan


def test_the_loan_knows_which_payments_it_reflects_by_a_fixed_size_digest() -> None:
    """The loan no longer keeps a list of payment ids (50 were remembered and a
    51st-older redelivery was applied twice); the ledger is keyed by payment id for ever, and the
    loan carries a count and an order-independent digest of the set it reflects."""
    book = Book(_plan())
    for n in range(60):
        book.pay(f"P{n}", 100, date(2026, 2, 12) + timedelta(days=n % 20))
    assert reflects(book.loan, book.entries)
    assert reflects(book.loan, list(reversed(book.entries)))
    assert (book.loan.ledger_count, book.loan.ledger_digest) == ledger_digest(book.entries)
    assert not reflects(book.loan, book.entries[1:])


def _money(loan: Loan) -> tuple[object, ...]:
    return (
        loan.instalments,
        loan.penalty_exact,
        loan.penalty_paid_minor,
        loan.status,
        loan.closed_on,
        loan.charged_off_on,
        loan.recovered_minor,
        loan.overpaid_minor,
        loan.ledger_count,
        loan.ledger_digest,
    )


@st.composite
def payments(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    count = draw(st.integers(min_value=1, max_value=5))
    return [
        (
            f"P{n}",
            draw(st.integers(min_value=0, max_value=400)),
            draw(st.integers(min_value=1, max_value=2_000_000)),
        )
        for n in range(count)
    ]


@settings(max_examples=150)
@given(loans(), payments(), st.randoms(use_true_random=False))
def test_the_final_state_is_the_same_for_every_delivery_order(
    loan: Loan, plan: list[tuple[str, int, int]], rng: object
) -> None:
    """The same set of payments, delivered in any order, leaves the
    same loan; and it is the contract replayed with them."""
    import random

    assert isinstance(rng, random.Random)
    in_order = Book(loan)
    for payment_id, day, amount in sorted(plan, key=lambda p: (p[1], p[0])):
        in_order.pay(payment_id, amount, START + timedelta(days=day))
    shuffled = list(plan)
    rng.shuffle(shuffled)
    other = Book(loan)
    for payment_id, day, amount in shuffled:
        other.pay(payment_id, amount, START + timedelta(days=day))
    assert _money(other.loan) == _money(in_order.loan)
    assert _money(replay(loan, in_order.entries)) == _money(in_order.loan)
    total = sum(amount for _, _, amount in plan)
    paid = sum(
        i.principal_paid + i.principal_prepaid + i.interest_paid + i.fee_paid for i in other.loan.instalments
    )
    assert paid + other.loan.penalty_paid_minor + other.loan.overpaid_minor == total


def test_a_replay_keeps_the_collection_state() -> None:
    loan = _plan().with_changes(broken_promises=2, strategy_arm="challenger", dpd=3, terms=LoanTerms())
    replayed = replay(loan, [])
    assert replayed.broken_promises == 2
    assert replayed.strategy_arm == "challenger"
    assert contract_of(replayed) == contract_of(loan)
