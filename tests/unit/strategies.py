"""Hypothesis strategies for loans and payments (shared by the unit property tests)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from arrears.domain.loans import Loan, build_schedule

START = date(2026, 1, 1)


@st.composite
def loans(draw: st.DrawFn) -> Loan:
    instalments = draw(st.sampled_from([1, 3, 6, 12]))
    principal = draw(st.integers(min_value=100, max_value=5_000_000))
    disbursed = START + timedelta(days=draw(st.integers(min_value=0, max_value=60)))
    schedule = build_schedule(
        principal,
        disbursed_on=disbursed,
        instalments=instalments,
        monthly_interest_bps=draw(st.integers(min_value=0, max_value=300)),
        fee_minor=draw(st.integers(min_value=0, max_value=principal // 20)),
        cash_loan_days=draw(st.sampled_from([7, 14, 30])),
    )
    return Loan(
        loan_id=f"L{draw(st.integers(min_value=1, max_value=10**9))}",
        borrower_id="B1",
        jurisdiction=draw(st.sampled_from(["CN", "US-REGF"])),
        currency="CNY",
        principal_minor=principal,
        disbursed_on=disbursed,
        instalments=schedule,
        penalty_daily_ppm=draw(st.integers(min_value=0, max_value=2_000)),
        apr_cap_bps=draw(st.sampled_from([0, 2400, 3600])),
    )


def payment_plan(max_payments: int = 6) -> st.SearchStrategy[list[tuple[int, int]]]:
    """(days after START, amount) pairs, in date order."""
    return st.lists(
        st.tuples(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=3_000_000)),
        max_size=max_payments,
    ).map(sorted)
