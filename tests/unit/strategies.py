"""Hypothesis strategies for loans and payments (shared by the unit property tests)."""

from __future__ import annotations

import math
from datetime import date, timedelta
from fractions import Fraction

from hypothesis import strategies as st

from arrears.domain.costcap import breach, period_costs
from arrears.domain.loans import Loan, build_schedule
from arrears.domain.money import BPS
from arrears.domain.terms import DEFAULT_ORDER, Advance, Component, LoanTerms, Prepayment, Waterfall

START = date(2026, 1, 1)


@st.composite
def terms(draw: st.DrawFn) -> LoanTerms:
    order = draw(
        st.sampled_from(
            [
                DEFAULT_ORDER,
                (Component.PENALTY, Component.FEE, Component.INTEREST, Component.PRINCIPAL),
                (Component.PRINCIPAL, Component.INTEREST, Component.FEE, Component.PENALTY),
            ]
        )
    )
    return LoanTerms(
        waterfall=draw(st.sampled_from(list(Waterfall))),
        order=order,
        advance=draw(st.sampled_from(list(Advance))),
        prepayment=draw(st.sampled_from(list(Prepayment))),
        tolerance_minor=draw(st.sampled_from([0, 0, 1, 1_000])),
        charge_off_dpd=draw(st.sampled_from([120, 180])),
    )


@st.composite
def loans(draw: st.DrawFn, *, within_cap: bool = False, default_terms: bool = False) -> Loan:
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
    loan = Loan(
        loan_id=f"L{draw(st.integers(min_value=1, max_value=10**9))}",
        borrower_id="B1",
        jurisdiction=draw(st.sampled_from(["CN", "US-REGF"])),
        currency="CNY",
        principal_minor=principal,
        disbursed_on=disbursed,
        instalments=schedule,
        penalty_daily_ppm=draw(st.integers(min_value=0, max_value=2_000)),
        apr_cap_bps=draw(st.sampled_from([0, 2400, 3600])),
        terms=LoanTerms() if default_terms else draw(terms()),
    )
    if within_cap:
        # A cap just above the contract's dearest period, so that it binds the penalty often.
        dearest = max((p.annual_rate for p in period_costs(loan)), default=Fraction(0))
        slack = draw(st.sampled_from([0, 1, 10, 100, 1_000]))
        loan = loan.with_changes(apr_cap_bps=math.ceil(dearest * BPS) + slack)
        assert breach(loan) is None
    return loan


def payment_plan(max_payments: int = 6) -> st.SearchStrategy[list[tuple[int, int]]]:
    """(days after START, amount) pairs, in date order."""
    return st.lists(
        st.tuples(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=3_000_000)),
        max_size=max_payments,
    ).map(sorted)
