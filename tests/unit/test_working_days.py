"""Working days, arrears tolerance, the borrower's own date, charge-off age per product."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from arrears.config.money import money_rules_for
from arrears.config.playbook import bundled_playbook
from arrears.domain.assessment import assess
from arrears.domain.delinquency import due_offset, loan_dpd
from arrears.domain.loans import Instalment, Loan, LoanStatus, build_schedule
from arrears.domain.money import penalty_charged
from arrears.domain.payments import Payment, apply_payment
from arrears.domain.payoff import borrower_date
from arrears.domain.terms import Component, LoanTerms
from arrears.domain.workdays import WorkCalendar, with_pay_by

CN = money_rules_for("CN", date(2026, 1, 1)).calendar
US = money_rules_for("US-REGF", date(2026, 1, 1)).calendar


def _cash(due: date, jurisdiction: str = "CN", **overrides: object) -> Loan:
    loan = Loan(
        "L-W",
        "B-W",
        jurisdiction,
        "CNY" if jurisdiction == "CN" else "USD",
        100_000,
        due - timedelta(days=30),
        (Instalment(1, due, 100_000, 800),),
        500,
        2400,
    )
    return loan.with_changes(**overrides)


@pytest.mark.parametrize(
    ("calendar", "due", "pay_by"),
    [
        (CN, date(2026, 3, 7), date(2026, 3, 9)),  # a Saturday: the Monday
        (CN, date(2026, 10, 1), date(2026, 10, 8)),  # National Day, 1-7 October
        (CN, date(2026, 2, 15), date(2026, 2, 24)),  # Spring Festival, 15-23 February
        (CN, date(2026, 2, 28), date(2026, 2, 28)),  # a Saturday worked in exchange (调休上班)
        (CN, date(2026, 1, 4), date(2026, 1, 4)),  # a Sunday worked in exchange
        (CN, date(2027, 2, 6), date(2027, 2, 8)),  # a year not published yet: weekends only
        (US, date(2026, 7, 4), date(2026, 7, 6)),  # Independence Day on a Saturday: the Monday
        (US, date(2026, 7, 3), date(2026, 7, 3)),  # the Friday before: the Federal Reserve is open
        (US, date(2026, 11, 26), date(2026, 11, 27)),  # Thanksgiving
        (US, date(2027, 7, 4), date(2027, 7, 6)),  # a Sunday, observed on Monday the 5th
    ],
)
def test_the_last_on_time_day_is_the_next_working_day(
    calendar: WorkCalendar, due: date, pay_by: date
) -> None:
    assert calendar.on_or_after(due) == pay_by


def test_a_due_date_on_a_holiday_is_met_on_the_next_working_day_with_no_dpd_or_penalty() -> None:
    loan = with_pay_by(_cash(date(2026, 10, 1)), CN)
    assert loan.instalments[0].pay_by == date(2026, 10, 8)
    for day in range(1, 9):
        on = date(2026, 10, day)
        assert loan_dpd(loan, on) == 0
        assert penalty_charged(loan, on) == 0
    assessed = assess(loan, date(2026, 10, 7), bundled_playbook())
    assert (assessed.dpd, assessed.due_offset) == (0, -1)  # no overdue message before the 9th
    paid = apply_payment(loan, Payment("P1", "L-W", 100_800, "CNY", date(2026, 10, 8)))
    assert paid.closed
    assert paid.applied_minor == 100_800
    # Not paid: late from the 9th, and the penalty runs from then.
    assert loan_dpd(loan, date(2026, 10, 9)) == 1
    assert penalty_charged(loan, date(2026, 10, 9)) == 100_000 * 500 // 1_000_000
    assert due_offset(loan, date(2026, 10, 9)) == 1


def test_a_published_calendar_does_not_move_a_due_date_already_judged() -> None:
    schedule = build_schedule(200_000, disbursed_on=date(2026, 1, 7), instalments=2, monthly_interest_bps=50)
    loan = Loan("L-2", "B", "CN", "CNY", 200_000, date(2026, 1, 7), schedule, 0, 2400)
    judged = loan.with_changes(evaluated_on=date(2026, 2, 10))
    weekends = WorkCalendar("CN", "0", "weekends only")
    updated = with_pay_by(judged, weekends)
    assert updated.instalments[0].pay_by is None  # 7 February: judged already
    assert updated.instalments[1].pay_by == date(2026, 3, 9)  # 7 March, a Saturday


def test_a_remainder_within_the_tolerance_does_not_make_the_loan_overdue() -> None:
    """A loan must not age to charge-off over one fen."""
    due = date(2026, 3, 10)
    short = apply_payment(_cash(due), Payment("P1", "L-W", 100_799, "CNY", due)).loan
    strict = short.with_changes(terms=LoanTerms(tolerance_minor=0))
    assert loan_dpd(strict, due + timedelta(days=200)) == 200
    assert assess(strict, due + timedelta(days=180), bundled_playbook()).status is LoanStatus.CHARGED_OFF
    tolerant = short.with_changes(terms=LoanTerms(tolerance_minor=100))
    later = due + timedelta(days=400)
    assert loan_dpd(tolerant, later) == 0
    assert penalty_charged(tolerant, later) == 0
    kept = assess(tolerant, later, bundled_playbook())
    assert kept.status is LoanStatus.OPEN
    assert (kept.dpd, kept.bucket) == (0, "M0")


def test_with_a_tolerance_dpd_counts_from_the_instalment_where_arrears_exceed_it() -> None:
    schedule = build_schedule(200_000, disbursed_on=date(2026, 1, 10), instalments=2, monthly_interest_bps=50)
    loan = Loan("L-T", "B", "CN", "CNY", 200_000, date(2026, 1, 10), schedule, 0, 2400)
    loan = loan.with_changes(terms=LoanTerms(tolerance_minor=1_000))
    first = schedule[0].total_due
    short = apply_payment(loan, Payment("P1", "L-T", first - 600, "CNY", date(2026, 2, 10))).loan
    on = date(2026, 3, 20)  # instalment 1 (02-10) short by 600, instalment 2 (03-10) unpaid
    assert loan_dpd(short, on) == 10
    assert loan_dpd(loan.with_changes(terms=LoanTerms()), on) == 38


def test_a_borrower_in_los_angeles_paying_at_2130_on_the_due_date_pays_on_time() -> None:
    """The business date is the borrower's own, not New York's."""
    due = date(2026, 3, 10)
    loan = _cash(due, "US-REGF", timezone="America/Los_Angeles")
    at = datetime(2026, 3, 11, 4, 30, tzinfo=UTC)  # 21:30 PDT on 10 March; 00:30 on the 11th in New York
    on = borrower_date(loan, at, "America/New_York")
    assert on == due
    outcome = apply_payment(loan, Payment("P1", "L-W", 100_800, "USD", on))
    assert outcome.closed
    assert outcome.applied[Component.PENALTY] == 0
    assert penalty_charged(loan, on) == 0
    # On New York's date it would have been a day late, with a day of penalty.
    assert borrower_date(loan.with_changes(timezone=""), at, "America/New_York") == due + timedelta(days=1)
    assert penalty_charged(loan, due + timedelta(days=1)) == 50


@pytest.mark.parametrize(("charge_off_dpd", "day"), [(120, 120), (180, 180)])
def test_charge_off_age_is_the_products(charge_off_dpd: int, day: int) -> None:
    """US closed-end loans commonly charge off at 120 DPD, revolving at 180."""
    due = date(2026, 3, 10)
    loan = _cash(due, "US-REGF", terms=LoanTerms(product="us-closed-end", charge_off_dpd=charge_off_dpd))
    before = assess(loan, due + timedelta(days=day - 1), bundled_playbook())
    assert before.status is LoanStatus.OPEN
    assert before.next_review_on == due + timedelta(days=day)  # charge-off day is a milestone
    charged = assess(loan, due + timedelta(days=day), bundled_playbook())
    assert charged.status is LoanStatus.CHARGED_OFF
    assert charged.charged_off_on == due + timedelta(days=day)
