"""Delinquency states and transitions (the history's rows)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from arrears.domain.loans import Instalment, Loan, LoanStatus
from arrears.domain.transitions import Transition, delinquency_state, transition

LOAN = Loan(
    loan_id="L-1",
    borrower_id="B-1",
    jurisdiction="CN",
    currency="CNY",
    principal_minor=100_000,
    disbursed_on=date(2026, 1, 30),
    instalments=(Instalment(1, date(2026, 3, 1), 100_000, 900, 0),),
    penalty_daily_ppm=500,
    apr_cap_bps=2400,
)


def test_state_is_the_bucket_while_open_and_the_status_after() -> None:
    assert delinquency_state(replace(LOAN, bucket="M2")) == "M2"
    assert delinquency_state(replace(LOAN, bucket="M4+", status=LoanStatus.CHARGED_OFF)) == "CHARGED_OFF"
    assert delinquency_state(replace(LOAN, status=LoanStatus.CLOSED)) == "CLOSED"


def test_a_change_of_bucket_is_a_transition_dated_by_the_business_date_and_keyed_by_version() -> None:
    before = replace(LOAN, bucket="M0", evaluated_on=date(2026, 3, 1), version=3)
    after = replace(LOAN, bucket="M1", dpd=1, evaluated_on=date(2026, 3, 2), version=4)
    assert transition(before, after) == Transition(date(2026, 3, 2), "M0", "M1", 1, 4)
    assert transition(None, before) == Transition(date(2026, 3, 1), None, "M0", 0, 3)


def test_no_transition_without_a_change_of_state_or_an_assessment() -> None:
    before = replace(LOAN, bucket="M1", dpd=3, evaluated_on=date(2026, 3, 4), version=5)
    assert transition(before, replace(before, dpd=4, version=6)) is None
    assert transition(None, replace(LOAN, evaluated_on=None)) is None


def test_cures_are_returns_from_a_delinquent_bucket_to_current_or_repaid() -> None:
    assert Transition(date(2026, 3, 5), "M1", "M0", 0, 2).is_cure
    assert Transition(date(2026, 3, 5), "M2", "CLOSED", 0, 2).is_cure
    assert not Transition(date(2026, 3, 5), "M0", "CLOSED", 0, 2).is_cure  # repaid on time
    assert not Transition(date(2026, 3, 5), None, "M0", 0, 1).is_cure
    assert not Transition(date(2026, 3, 5), "M4+", "CHARGED_OFF", 180, 9).is_cure
