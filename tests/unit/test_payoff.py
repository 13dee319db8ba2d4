"""Early repayment: interest for the time actually borrowed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.loans import Loan, LoanStatus, build_schedule
from arrears.domain.money import accrued, advance, payoff_quote
from arrears.domain.payments import Payment, apply_payment
from arrears.domain.payoff import borrower_date, quote_at
from arrears.domain.terms import Advance, LoanTerms, Prepayment
from tests.unit.strategies import START, loans, payment_plan
from tests.unit.test_payments import _run


def _year_loan(**overrides: object) -> Loan:
    """1,200,000 over 12 months at 1.5 % a month: 117,000 of interest over the term."""
    schedule = build_schedule(
        1_200_000, disbursed_on=date(2026, 1, 1), instalments=12, monthly_interest_bps=150
    )
    loan = Loan("L-Y", "B", "CN", "CNY", 1_200_000, date(2026, 1, 1), schedule, 500, 2400)
    return loan.with_changes(**overrides)


def test_repaying_the_day_after_disbursement_costs_one_day_of_interest() -> None:
    """Was 117,000 of interest (every instalment's interest, paid first). Now one day of the first
    period's 18,000: 18,000 / 31 = 580 (rounded down)."""
    loan = _year_loan()
    assert sum(i.interest_due for i in loan.instalments) == 117_000
    quote = payoff_quote(loan, date(2026, 1, 2))
    assert (quote.principal_minor, quote.interest_minor, quote.fee_minor, quote.penalty_minor) == (
        1_200_000,
        580,
        0,
        0,
    )
    assert quote.total_minor == 1_200_580
    assert quote.rebate_minor == 117_000 - 580
    outcome = apply_payment(loan, Payment("P1", "L-Y", quote.total_minor + 20, "CNY", date(2026, 1, 2)))
    assert outcome.closed
    assert outcome.loan.status is LoanStatus.CLOSED
    assert outcome.unapplied_minor == 20
    assert sum(i.interest_paid for i in outcome.loan.instalments) == 580
    assert outcome.rebate_minor == 116_420


def test_a_payoff_quote_is_on_the_borrowers_own_date() -> None:
    loan = _year_loan(timezone="America/Los_Angeles", jurisdiction="US-REGF")
    at = datetime(2026, 1, 3, 5, 30, tzinfo=UTC)  # 21:30 on 2 January in Los Angeles
    assert borrower_date(loan, at, "America/New_York") == date(2026, 1, 2)
    assert quote_at(loan, at, "America/New_York") == payoff_quote(loan, date(2026, 1, 2))


def test_a_partial_prepayment_shortens_the_term_by_default() -> None:
    loan = _year_loan(terms=LoanTerms(advance=Advance.PRINCIPAL))
    on = date(2026, 1, 16)
    outcome = apply_payment(loan, Payment("P1", "L-Y", 200_000, "CNY", on))
    after = outcome.loan.instalments
    assert outcome.prepaid_minor == 200_000
    # The last two instalments (100,000 of principal each) drop off, with their interest and fees.
    assert [i.principal_prepaid for i in after] == [0] * 10 + [100_000, 100_000]
    assert after[10].is_settled
    assert after[11].is_settled
    assert after[10].interest_owed == 0
    assert after[11].interest_owed == 0
    # Instalment 1 (period running, 31 days) owes 15 days on 1,200,000 and 16 days on 1,000,000:
    # 18,000 * 15/31 + 18,000 * 16/31 * 5/6 = 8,709.68 + 7,741.94 = 16,451 (rounded down).
    assert after[0].interest_owed == 16_451
    # Later periods owe interest on the lower balance: instalment 2 (balance 1,100,000 -> 900,000).
    assert after[1].interest_owed == 16_500 * 900_000 // 1_100_000
    assert outcome.rebate_minor == sum(i.interest_waived for i in after)


def test_a_partial_prepayment_can_lower_the_later_instalments_instead() -> None:
    loan = _year_loan(terms=LoanTerms(advance=Advance.PRINCIPAL, prepayment=Prepayment.LOWER_INSTALMENTS))
    outcome = apply_payment(loan, Payment("P1", "L-Y", 120_000, "CNY", date(2026, 2, 1)))
    after = outcome.loan.instalments
    # Paid on instalment 1's due date: it is due, so the money pays it first (118,000), and the
    # 2,000 beyond it is spread over the eleven instalments not yet due.
    assert after[0].is_settled
    assert outcome.prepaid_minor == 2_000
    assert sum(i.principal_prepaid for i in after[1:]) == 2_000
    assert all(i.principal_prepaid in (181, 182) for i in after[1:])
    assert len([i for i in after if i.is_settled]) == 1


def test_a_payoff_after_a_bill_paid_early_credits_the_interest_not_earned() -> None:
    """Instalment 1 paid in full on day 10 (the bill, NEXT_INSTALMENT), then the loan paid off on
    day 20: instalment 1 owes 20 days of interest, the rest of what was paid for it pays principal."""
    loan = _year_loan()
    paid = apply_payment(loan, Payment("P1", "L-Y", 118_000, "CNY", date(2026, 1, 11))).loan
    assert paid.instalments[0].is_settled
    on = date(2026, 1, 21)
    quote = payoff_quote(paid, on)
    assert quote.interest_minor == 0
    interest_earned = 18_000 * 20 // 31
    assert quote.principal_minor == 1_100_000 - (18_000 - interest_earned)
    closed = apply_payment(paid, Payment("P2", "L-Y", quote.total_minor, "CNY", on)).loan
    assert closed.status is LoanStatus.CLOSED
    assert sum(i.interest_paid for i in closed.instalments) == interest_earned


@settings(max_examples=200)
@given(loans(), payment_plan(max_payments=3), st.integers(min_value=0, max_value=500))
def test_prepayment_interest_never_exceeds_interest_accrued_to_the_payment_day(
    loan: Loan, plan: list[tuple[int, int]], day: int
) -> None:
    loan = _run(loan, plan)
    on = max(START + timedelta(days=day), loan.money_through or START)
    current = advance(loan, on)
    if current.status is not LoanStatus.OPEN:
        return
    earned = sum(accrued(current, n, on)[0] for n in range(len(current.instalments)))
    quote = payoff_quote(current, on)
    after = apply_payment(current, Payment("OFF", current.loan_id, quote.total_minor, current.currency, on))
    assert after.closed
    assert after.unapplied_minor == 0
    assert sum(i.interest_paid for i in after.loan.instalments) <= earned
    assert quote.total_minor <= current.scheduled_outstanding + quote.penalty_minor
