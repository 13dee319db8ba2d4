"""Payments: the waterfall, partial and early repayment, cure, and the money invariants."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.domain.delinquency import loan_dpd
from arrears.domain.loans import Instalment, Loan, LoanStatus, build_schedule
from arrears.domain.payments import Component, Payment, PaymentError, apply_payment
from arrears.domain.penalties import penalty_allowed_by_cost_cap, penalty_charged, total_outstanding
from tests.unit.strategies import START, loans, payment_plan


def _paid(loan: Loan) -> int:
    return (
        sum(i.principal_paid + i.interest_paid + i.fee_paid for i in loan.instalments)
        + loan.penalty_paid_minor
    )


def _cash_loan(**overrides: object) -> Loan:
    base = Loan(
        loan_id="L-1",
        borrower_id="B-1",
        jurisdiction="CN",
        currency="CNY",
        principal_minor=100_000,
        disbursed_on=date(2026, 1, 1),
        instalments=(Instalment(1, date(2026, 1, 31), 100_000, 2_000, 500),),
        penalty_daily_ppm=500,  # 0.05 % a day
        apr_cap_bps=3600,
    )
    return base.with_changes(**overrides)


def test_waterfall_pays_fees_then_penalty_then_interest_then_principal() -> None:
    loan = _cash_loan()
    on = date(2026, 2, 10)  # 10 days overdue: penalty 100_000 * 10 * 0.0005 = 500
    assert penalty_charged(loan, on) == 500
    outcome = apply_payment(loan, Payment("P1", "L-1", 1_500, "CNY", on))
    assert outcome.applied == {
        Component.FEE: 500,
        Component.PENALTY: 500,
        Component.INTEREST: 500,
        Component.PRINCIPAL: 0,
    }
    assert outcome.loan.instalments[0].interest_paid == 500
    assert loan_dpd(outcome.loan, on) == 10  # a partial payment does not cure


def test_full_payment_cures_and_closes_and_a_replay_changes_nothing() -> None:
    loan = _cash_loan()
    on = date(2026, 2, 10)
    due = total_outstanding(loan, on)
    assert due == 100_000 + 2_000 + 500 + 500
    outcome = apply_payment(loan, Payment("P1", "L-1", due + 7, "CNY", on))
    assert outcome.closed
    assert outcome.cured
    assert outcome.loan.status is LoanStatus.CLOSED
    assert outcome.unapplied_minor == 7
    replay = apply_payment(outcome.loan, Payment("P1", "L-1", due + 7, "CNY", on))
    assert replay.duplicate
    assert replay.loan == outcome.loan


def test_oldest_instalment_first_and_early_repayment_of_later_ones() -> None:
    schedule = build_schedule(90_000, disbursed_on=date(2026, 1, 15), instalments=3, monthly_interest_bps=100)
    loan = _cash_loan(principal_minor=90_000, instalments=schedule, penalty_daily_ppm=0)
    on = date(2026, 2, 20)  # instalment 1 (due 15 Feb) overdue, 2 and 3 not yet due
    first = schedule[0].total_due
    outcome = apply_payment(loan, Payment("P1", "L-1", first + 10_000, "CNY", on))
    paid = outcome.loan.instalments
    assert paid[0].is_settled
    assert paid[0].settled_on == on
    assert paid[1].interest_paid == schedule[1].interest_due  # early repayment: interest first, oldest first
    assert paid[1].principal_paid == 10_000 - schedule[1].interest_due - schedule[2].interest_due
    assert outcome.cured


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [(0, "CNY", "must be positive"), (-5, "CNY", "must be positive"), (100, "USD", "currency USD")],
)
def test_bad_payments_are_rejected_with_a_clear_error(amount: int, currency: str, message: str) -> None:
    with pytest.raises(PaymentError, match=message):
        apply_payment(_cash_loan(), Payment("P1", "L-1", amount, currency, date(2026, 2, 1)))


def test_payment_on_a_closed_loan_is_returned_in_full() -> None:
    closed = _cash_loan(status=LoanStatus.CLOSED)
    outcome = apply_payment(closed, Payment("P9", "L-1", 1234, "CNY", date(2026, 3, 1)))
    assert outcome.unapplied_minor == 1234
    assert outcome.applied_minor == 0


@given(loans(), payment_plan())
def test_every_payment_conserves_money(loan: Loan, plan: list[tuple[int, int]]) -> None:
    for n, (day, amount) in enumerate(plan):
        before = _paid(loan)
        outcome = apply_payment(
            loan, Payment(f"P{n}", loan.loan_id, amount, loan.currency, START + timedelta(days=day))
        )
        assert outcome.applied_minor + outcome.unapplied_minor == amount
        assert _paid(outcome.loan) - before == outcome.applied_minor
        assert all(v >= 0 for v in outcome.applied.values())
        loan = outcome.loan


@given(loans(), payment_plan(), st.integers(min_value=0, max_value=700))
def test_paying_the_full_outstanding_amount_closes_the_loan(
    loan: Loan, plan: list[tuple[int, int]], day: int
) -> None:
    for n, (when, amount) in enumerate(plan):
        loan = apply_payment(
            loan, Payment(f"P{n}", loan.loan_id, amount, loan.currency, START + timedelta(days=when))
        ).loan
    if not loan.is_open:
        return
    on = max(START + timedelta(days=day), loan.penalty_through or START)
    outcome = apply_payment(
        loan, Payment("FULL", loan.loan_id, total_outstanding(loan, on), loan.currency, on)
    )
    assert outcome.closed
    assert outcome.unapplied_minor == 0
    assert outcome.loan.status is LoanStatus.CLOSED


@given(
    loans(), payment_plan(), st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=400)
)
def test_dpd_never_falls_without_a_payment(loan: Loan, plan: list[tuple[int, int]], a: int, b: int) -> None:
    for n, (when, amount) in enumerate(plan):
        loan = apply_payment(
            loan, Payment(f"P{n}", loan.loan_id, amount, loan.currency, START + timedelta(days=when))
        ).loan
    early, late = sorted((START + timedelta(days=a), START + timedelta(days=b)))
    assert loan_dpd(loan, early) <= loan_dpd(loan, late)


@given(loans(), payment_plan(), st.lists(st.integers(min_value=0, max_value=900), min_size=1, max_size=8))
def test_penalty_never_exceeds_the_cap_and_never_falls(
    loan: Loan, plan: list[tuple[int, int]], days: list[int]
) -> None:
    for n, (when, amount) in enumerate(plan):
        on = START + timedelta(days=when)
        assert penalty_charged(loan, on) <= penalty_allowed_by_cost_cap(loan, on)
        loan = apply_payment(loan, Payment(f"P{n}", loan.loan_id, amount, loan.currency, on)).loan
    previous = -1
    for day in sorted(days):
        on = max(START + timedelta(days=day), loan.penalty_through or START)
        charged = penalty_charged(loan, on)
        assert charged <= penalty_allowed_by_cost_cap(loan, on)
        assert charged >= previous
        previous = charged
