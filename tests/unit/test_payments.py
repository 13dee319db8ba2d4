"""Payments: the waterfall (instalment-major by default), paying ahead, cure, and the money invariants."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.delinquency import DEFAULT_BUCKETS, loan_dpd
from arrears.domain.loans import Instalment, Loan, LoanStatus, build_schedule
from arrears.domain.money import advance, amount_due, cap_state
from arrears.domain.payments import Component, Payment, PaymentError, apply_payment
from arrears.domain.penalties import penalty_charged, total_outstanding
from arrears.domain.terms import Advance, LoanTerms, Waterfall
from tests.unit.strategies import START, loans, payment_plan


def _paid(loan: Loan) -> int:
    return (
        sum(i.principal_paid + i.principal_prepaid + i.interest_paid + i.fee_paid for i in loan.instalments)
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


def _plan3(**overrides: object) -> Loan:
    """The issue's plan: 300,000 over 3 months at 1.5 % a month, instalment 1 = 104,500 due 02-28."""
    schedule = build_schedule(
        300_000, disbursed_on=date(2026, 1, 28), instalments=3, monthly_interest_bps=150
    )
    base = Loan("L-3", "B-3", "CN", "CNY", 300_000, date(2026, 1, 28), schedule, 500, 3600)
    return base.with_changes(**overrides)


def _pay(loan: Loan, amount: int, on: date, payment_id: str = "P1") -> Loan:
    return apply_payment(loan, Payment(payment_id, loan.loan_id, amount, loan.currency, on)).loan


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


def test_full_payment_cures_and_closes() -> None:
    loan = _cash_loan()
    on = date(2026, 2, 10)
    due = total_outstanding(loan, on)
    assert due == 100_000 + 2_000 + 500 + 500
    outcome = apply_payment(loan, Payment("P1", "L-1", due + 7, "CNY", on))
    assert outcome.closed
    assert outcome.cured
    assert outcome.loan.status is LoanStatus.CLOSED
    assert outcome.unapplied_minor == 7
    # A redelivered payment changes nothing: the ledger, keyed by payment id for ever, tells
    # (tests/unit/test_ledger.py; the loan no longer keeps the last 50 ids).


def test_paying_an_instalment_the_day_before_it_is_due_settles_it() -> None:
    """104,500 paid on 02-27 left 4,500 of instalment 1 unpaid and the loan 1 DPD
    on 03-01 (the interest of all three instalments was paid first). It settles instalment 1."""
    loan = _plan3()
    assert loan.instalments[0].total_due == 104_500
    outcome = apply_payment(loan, Payment("P1", "L-3", 104_500, "CNY", date(2026, 2, 27)))
    first = outcome.loan.instalments[0]
    assert first.is_settled
    assert first.settled_on == date(2026, 2, 27)
    assert outcome.loan.instalments[1].interest_paid == 0
    assert loan_dpd(outcome.loan, date(2026, 3, 1)) == 0


def test_paying_the_penalty_and_the_oldest_instalment_settles_it() -> None:
    """Instalments 1 (02-28) and 2 (03-31) both due, penalty owed: paying the
    penalty and instalment 1 left instalment 1 short (DPD 40, M2). It is settled: DPD 9, M1."""
    schedule = build_schedule(
        300_000, disbursed_on=date(2026, 1, 31), instalments=3, monthly_interest_bps=100
    )
    loan = Loan("L-4", "B", "CN", "CNY", 300_000, date(2026, 1, 31), schedule, 500, 3600, terms=LoanTerms())
    on = date(2026, 4, 9)
    penalty = penalty_charged(loan, on)
    assert penalty > 0
    amount = penalty + schedule[0].total_due
    outcome = apply_payment(loan, Payment("P1", "L-4", amount, "CNY", on))
    assert outcome.loan.instalments[0].is_settled
    dpd = loan_dpd(outcome.loan, on)
    assert dpd == 9
    assert DEFAULT_BUCKETS.bucket_for(dpd) == "M1"
    # The component-major order stays available as a product setting: there it pays the interest of
    # both instalments before any principal, and instalment 1 stays short.
    component = loan.with_changes(terms=LoanTerms(waterfall=Waterfall.COMPONENT_MAJOR))
    short = apply_payment(component, Payment("P1", "L-4", amount, "CNY", on)).loan
    assert not short.instalments[0].is_settled
    assert loan_dpd(short, on) == 40


def test_money_paid_ahead_goes_to_the_next_instalment_as_a_whole_then_to_principal() -> None:
    """Was: the 10,000 beyond instalment 1 went to the interest of instalments 2 and 3 first (old
    expected value, which was wrong). Now it pays instalment 2 (whose period is
    running) as a whole: its interest, then its principal."""
    schedule = build_schedule(90_000, disbursed_on=date(2026, 1, 15), instalments=3, monthly_interest_bps=100)
    loan = _cash_loan(principal_minor=90_000, instalments=schedule, penalty_daily_ppm=0)
    on = date(2026, 2, 20)  # instalment 1 (due 15 Feb) overdue, 2 and 3 not yet due
    first = schedule[0].total_due
    outcome = apply_payment(loan, Payment("P1", "L-1", first + 10_000, "CNY", on))
    paid = outcome.loan.instalments
    assert paid[0].is_settled
    assert paid[0].settled_on == on
    assert paid[1].interest_paid == schedule[1].interest_due == 600
    assert paid[1].principal_paid == 10_000 - 600
    assert paid[2].interest_paid == 0
    assert outcome.cured


def test_money_paid_ahead_can_go_to_principal_by_product_setting() -> None:
    schedule = build_schedule(90_000, disbursed_on=date(2026, 1, 15), instalments=3, monthly_interest_bps=100)
    loan = _cash_loan(
        principal_minor=90_000,
        instalments=schedule,
        penalty_daily_ppm=0,
        terms=LoanTerms(advance=Advance.PRINCIPAL),
    )
    on = date(2026, 2, 20)
    outcome = apply_payment(loan, Payment("P1", "L-1", schedule[0].total_due + 10_000, "CNY", on))
    assert outcome.prepaid_minor == 10_000
    # Shorten the term (default): the last instalment loses 10,000 of principal.
    assert outcome.loan.instalments[2].principal_prepaid == 10_000
    assert outcome.loan.instalments[1].principal_prepaid == 0
    assert outcome.rebate_minor > 0


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


def _run(loan: Loan, plan: list[tuple[int, int]]) -> Loan:
    for n, (day, amount) in enumerate(plan):
        on = max(START + timedelta(days=day), loan.money_through or START)
        loan = _pay(loan, amount, on, f"P{n}")
    return loan


@given(loans(), payment_plan())
def test_every_payment_conserves_money(loan: Loan, plan: list[tuple[int, int]]) -> None:
    for n, (day, amount) in enumerate(plan):
        before = _paid(loan)
        on = max(START + timedelta(days=day), loan.money_through or START)
        outcome = apply_payment(loan, Payment(f"P{n}", loan.loan_id, amount, loan.currency, on))
        assert outcome.applied_minor + outcome.unapplied_minor == amount
        assert _paid(outcome.loan) - before == outcome.applied_minor
        assert all(v >= 0 for v in outcome.applied.values())
        loan = outcome.loan


@given(loans(), payment_plan(), st.integers(min_value=0, max_value=700))
def test_paying_the_full_outstanding_amount_closes_the_loan(
    loan: Loan, plan: list[tuple[int, int]], day: int
) -> None:
    loan = _run(loan, plan)
    if loan.status is LoanStatus.CLOSED:
        return
    on = max(START + timedelta(days=day), loan.money_through or START)
    outcome = apply_payment(
        loan, Payment("FULL", loan.loan_id, total_outstanding(loan, on), loan.currency, on)
    )
    assert outcome.closed
    assert outcome.loan.status is LoanStatus.CLOSED


@settings(max_examples=200)
@given(loans(), payment_plan(), st.integers(min_value=0, max_value=700))
def test_paying_exactly_the_amount_due_cures(loan: Loan, plan: list[tuple[int, int]], day: int) -> None:
    """`amount_due` is, by construction, the amount that brings the loan current
    under its product's waterfall on that day (for random books, orders and tolerances)."""
    loan = _run(loan, plan)
    on = max(START + timedelta(days=day), loan.money_through or START)
    due = amount_due(loan, on)
    if loan.status is not LoanStatus.OPEN or advance(loan, on).status is not LoanStatus.OPEN or due == 0:
        return
    after = _pay(loan, due, on, "DUE")
    assert loan_dpd(after, on) == 0
    assert all(i.is_settled for i in after.instalments if i.due_on <= on)
    assert after.penalty_paid_minor == after.penalty_accrued_minor


@given(
    loans(), payment_plan(), st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=400)
)
def test_dpd_never_falls_without_a_payment(loan: Loan, plan: list[tuple[int, int]], a: int, b: int) -> None:
    loan = _run(loan, plan)
    early, late = sorted((START + timedelta(days=a), START + timedelta(days=b)))
    assert loan_dpd(loan, early) <= loan_dpd(loan, late)


@settings(max_examples=200)
@given(
    loans(within_cap=True),
    payment_plan(),
    st.lists(st.integers(min_value=0, max_value=900), min_size=1, max_size=8),
)
def test_the_cost_cap_is_never_exceeded_and_the_penalty_never_falls(
    loan: Loan, plan: list[tuple[int, int]], days: list[int]
) -> None:
    """Interest + fees + penalty charged to date never exceed the cap's allowance
    on the principal outstanding to date, on any day, whatever is paid when."""
    for n, (when, amount) in enumerate(plan):
        on = max(START + timedelta(days=when), loan.money_through or START)
        state = cap_state(loan, on)
        assert state.charged <= state.allowed
        loan = _pay(loan, amount, on, f"P{n}")
    previous = -1
    for day in sorted(days):
        on = max(START + timedelta(days=day), loan.money_through or START)
        state = cap_state(loan, on)
        assert state.charged <= state.allowed
        charged = penalty_charged(loan, on)
        assert charged >= previous
        previous = charged
