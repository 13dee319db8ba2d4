"""The cost cap: an annualised cost on the balance actually owed, day by day."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest

from arrears.config.money import MoneyRulesError, bundled_money_rules_text, money_rules_for, parse_money_rules
from arrears.domain.borrowers import Borrower
from arrears.domain.contracts import prepare_contract
from arrears.domain.costcap import ContractOverCap, breach, check_contract
from arrears.domain.loans import Instalment, Loan, build_schedule
from arrears.domain.money import advance, cap_state, penalty_charged
from arrears.domain.payments import Payment, apply_payment
from arrears.domain.terms import LoanTerms


def _cash(interest: int, cap_bps: int, **overrides: object) -> Loan:
    loan = Loan(
        "L-K",
        "B-K",
        "CN",
        "CNY",
        100_000,
        date(2026, 1, 1),
        (Instalment(1, date(2026, 1, 31), 100_000, interest),),
        2_000,  # 0.2 % a day
        cap_bps,
    )
    return loan.with_changes(**overrides)


def test_a_contract_over_the_cap_is_rejected_with_its_figures() -> None:
    """A 36 % APR contract passed a 24 % cap (the cap was applied to the penalty only)."""
    loan = _cash(interest=2_959, cap_bps=2400)  # 2,959 over 30 days on 100,000: 36.00 % a year
    assert breach(loan) is not None
    with pytest.raises(ContractOverCap) as raised:
        check_contract(loan, "CN: 4 x LPR")
    message = str(raised.value)
    for figure in ("instalment 1", "2959", "30 days", "100000", "36.00 %", "24.00 %", "CN: 4 x LPR"):
        assert figure in message
    check_contract(_cash(interest=1_972, cap_bps=2400))  # 23.99 %: within


def test_each_period_is_judged_on_its_own_balance_and_days() -> None:
    """1 % a month is 12.17 % a year over a 30-day month but 13.04 % over February's 28 days."""
    schedule = build_schedule(
        300_000, disbursed_on=date(2026, 1, 31), instalments=3, monthly_interest_bps=100
    )
    loan = Loan("L-F", "B", "CN", "CNY", 300_000, date(2026, 1, 31), schedule, 0, 1300)
    period = breach(loan)
    assert period is not None
    assert (period.seq, period.days) == (1, 28)
    assert breach(loan.with_changes(apr_cap_bps=1400)) is None


def test_the_penalty_is_capped_by_the_allowance_on_the_principal_actually_owed() -> None:
    """Was: original principal x cap x max(term, elapsed) / 365 - the contract's cost. A loan whose
    last 10,000 of principal is a year overdue had room for penalty on the whole 120,000 it once
    owed; now the room is the cap's daily allowance on what is outstanding each day."""
    schedule = build_schedule(
        120_000, disbursed_on=date(2026, 1, 1), instalments=12, monthly_interest_bps=100
    )
    loan = Loan("L-P", "B", "CN", "CNY", 120_000, date(2026, 1, 1), schedule, 5_000, 2400)
    for n, instalment in enumerate(schedule[:-1]):
        loan = apply_payment(
            loan, Payment(f"P{n}", "L-P", instalment.total_due, "CNY", instalment.due_on)
        ).loan
    on = schedule[-1].due_on + timedelta(days=365)
    state = cap_state(loan, on)
    assert state.charged <= state.allowed
    charged = penalty_charged(loan, on)
    assert charged == int(state.room)  # uncapped it would be 10,000 x 0.5 % x 365 = 18,250
    old_cap = 120_000 * 2400 * max(loan.term_days, (on - loan.disbursed_on).days) // (10_000 * 365) - sum(
        i.interest_due for i in schedule
    )
    assert charged < old_cap
    # The allowance is 24 % a year on what was outstanding each day: the sum of the balances.
    assert state.allowed == Fraction(2400, 10_000 * 365) * advance(loan, on).principal_days


def test_a_stored_penalty_above_a_lowered_cap_is_clamped_to_it() -> None:
    loan = _cash(interest=800, cap_bps=3600)
    on = date(2026, 4, 1)
    high = advance(loan, on)
    assert high.penalty_accrued_minor > 0
    lowered = high.with_changes(apr_cap_bps=1200)
    later = on + timedelta(days=1)
    state = cap_state(lowered, later)
    assert penalty_charged(lowered, later) < high.penalty_accrued_minor
    assert state.charged <= state.allowed


def test_the_cap_per_jurisdiction_is_rule_pack_data_with_its_source() -> None:
    cn = money_rules_for("CN", date(2026, 3, 1)).cost_cap
    decision = cn.cap_for(date(2026, 3, 1))
    assert decision.annual_bps == 1200  # 4 x the one-year LPR 3.00 % of 2025-05-20
    assert "2025-05-20" in decision.explanation
    assert "art. 25" in decision.explanation
    assert cn.cap_for(date(2025, 1, 10)).annual_bps == 1240  # 4 x 3.10 % (2024-10-21)
    us = money_rules_for("US-REGF", date(2026, 3, 1)).cost_cap
    assert us.cap_for(date(2026, 3, 1), "NY").annual_bps == 1600
    assert "5-501" in us.cap_for(date(2026, 3, 1), "NY").explanation
    assert us.cap_for(date(2026, 3, 1), "IL").annual_bps == 3600
    fallback = us.cap_for(date(2026, 3, 1), "CA")
    assert fallback.annual_bps == 3600
    assert "no state cap listed" in fallback.explanation


def test_a_bad_money_rules_document_names_the_source_and_the_field() -> None:
    text = bundled_money_rules_text().replace("multiple: 4", "multiple: 0", 1)
    with pytest.raises(MoneyRulesError, match=r"test-doc: jurisdictions\.0\.cost_cap\.multiple"):
        parse_money_rules(text, "test-doc")
    outside = bundled_money_rules_text().replace("- 2026-10-10", "- 2028-10-14", 1)
    with pytest.raises(MoneyRulesError, match="outside the covered years"):
        parse_money_rules(outside, "test-doc")


def test_a_contract_is_registered_under_the_cap_of_its_date_and_the_borrowers_state() -> None:
    borrower = Borrower("B-NY", "America/New_York", region="NY")
    schedule = build_schedule(300_000, disbursed_on=date(2026, 3, 4), instalments=3, monthly_interest_bps=100)
    loan = Loan("L-NY", "B-NY", "US-REGF", "USD", 300_000, date(2026, 3, 4), schedule, 300, 0)
    terms = LoanTerms(product="us-closed-end", charge_off_dpd=120)
    prepared = prepare_contract(loan, borrower, terms, money_rules_for("US-REGF", loan.disbursed_on))
    assert prepared.apr_cap_bps == 1600
    assert prepared.timezone == "America/New_York"
    assert prepared.terms == terms
    assert prepared.instalments[0].pay_by == date(2026, 4, 6)  # 4 April 2026 is a Saturday: the Monday
    assert [i.effective_due for i in prepared.instalments] == [
        date(2026, 4, 6),
        date(2026, 5, 4),
        date(2026, 6, 4),
    ]
    dear = loan.with_changes(
        instalments=build_schedule(
            300_000, disbursed_on=date(2026, 3, 4), instalments=3, monthly_interest_bps=150
        )
    )
    with pytest.raises(ContractOverCap, match=r"over the cost cap of 16\.00 % a year \(US-REGF@2026\.1: NY"):
        prepare_contract(dear, borrower, terms, money_rules_for("US-REGF", loan.disbursed_on))
