"""Schedules, DPD and buckets."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.domain.calendar import add_months
from arrears.domain.delinquency import DEFAULT_BUCKETS, DelinquencyBuckets, loan_dpd
from arrears.domain.loans import Instalment, Loan, build_schedule


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (0, "M0"),
        (1, "M1"),
        (30, "M1"),
        (31, "M2"),
        (60, "M2"),
        (61, "M3"),
        (90, "M3"),
        (91, "M4+"),
        (400, "M4+"),
    ],
)
def test_default_buckets(dpd: int, bucket: str) -> None:
    assert DEFAULT_BUCKETS.bucket_for(dpd) == bucket


def test_bucket_policy_rejects_unordered_bounds() -> None:
    with pytest.raises(ValueError, match="strictly increase"):
        DelinquencyBuckets(buckets=(("M0", 0), ("M2", 31), ("M1", 1)))


def test_cash_loan_is_one_payment_with_pro_rata_interest() -> None:
    (only,) = build_schedule(
        100_000, disbursed_on=date(2026, 3, 1), instalments=1, monthly_interest_bps=300, cash_loan_days=15
    )
    assert only.due_on == date(2026, 3, 16)
    assert only.interest_due == 1_500


@given(st.integers(min_value=1, max_value=10**8), st.sampled_from([3, 6, 12]))
def test_plan_principal_adds_up_and_dues_are_monthly(principal: int, n: int) -> None:
    schedule = build_schedule(
        principal, disbursed_on=date(2026, 1, 31), instalments=n, monthly_interest_bps=150
    )
    assert sum(i.principal_due for i in schedule) == principal
    assert [i.due_on for i in schedule] == [add_months(date(2026, 1, 31), k) for k in range(1, n + 1)]
    assert schedule[0].due_on == date(2026, 2, 28)


def test_dpd_counts_from_the_oldest_unsettled_instalment() -> None:
    loan = Loan(
        loan_id="L",
        borrower_id="B",
        jurisdiction="CN",
        currency="CNY",
        principal_minor=200,
        disbursed_on=date(2026, 1, 1),
        instalments=(
            Instalment(1, date(2026, 2, 1), 100, 0, principal_paid=100),
            Instalment(2, date(2026, 3, 1), 100, 0),
        ),
        penalty_daily_ppm=0,
        apr_cap_bps=0,
    )
    assert loan_dpd(loan, date(2026, 3, 1)) == 0
    assert loan_dpd(loan, date(2026, 3, 11)) == 10


def test_loan_rejects_a_schedule_that_does_not_add_up() -> None:
    with pytest.raises(ValueError, match="does not add up"):
        Loan("L", "B", "CN", "CNY", 300, date(2026, 1, 1), (Instalment(1, date(2026, 2, 1), 100, 0),), 0, 0)
