"""The bureau facts kept on a loan's history: DOFD, charge-off, dispute, plan, the CN five-level class."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pytest

from arrears.domain.credit_facts import (
    CreditFacts,
    DisputeState,
    LoanClass,
    advance_facts,
    amount_past_due,
    cn_classification,
    cn_repayment_status,
    month_end,
)
from arrears.domain.delinquency import loan_dpd
from arrears.domain.ledger import receive
from arrears.domain.loans import Holds, Loan, LoanStatus, build_schedule
from arrears.domain.payments import Payment

DISBURSED = date(2026, 1, 5)


def plan_loan() -> Loan:
    """Three monthly instalments of 100.00 (no interest), due 5 Feb, 5 Mar, 5 Apr 2026."""
    schedule = build_schedule(30_000, disbursed_on=DISBURSED, instalments=3, monthly_interest_bps=0)
    return Loan("L-1", "B-1", "US-REGF", "USD", 30_000, DISBURSED, schedule, 0, 0)


def assessed(loan: Loan, on: date) -> Loan:
    return loan.with_changes(dpd=loan_dpd(loan, on), evaluated_on=on, version=loan.version + 1)


def pay(loan: Loan, amount: int, on: date, payment_id: str) -> Loan:
    return assessed(receive(loan, Payment(payment_id, loan.loan_id, amount, loan.currency, on)).loan, on)


def test_dofd_is_the_first_day_past_due_and_a_partial_payment_does_not_re_age_it() -> None:
    loan = assessed(plan_loan(), date(2026, 3, 20))  # instalments 1 and 2 unpaid: 43 DPD
    facts = advance_facts(None, loan)
    assert facts.dofd == date(2026, 2, 6)
    # Paying instalment 1 in full (the waterfall settles the oldest first) lowers the DPD to 15, but
    # the delinquency that began on 6 Feb has not ended: the DOFD stays (FCRA 623(a)(5)).
    paid = pay(loan, 10_000, date(2026, 3, 21), "P-1")
    assert paid.dpd == 16
    assert advance_facts(facts, paid).dofd == date(2026, 2, 6)


@dataclass(frozen=True)
class PlanHolds(Holds):
    """A loan model whose holds carry a payment plan (as a plan hold kind may add)."""

    plan: bool = False


def test_a_plan_that_makes_the_loan_current_does_not_re_age_the_dofd_and_a_cure_clears_it() -> None:
    loan = assessed(plan_loan(), date(2026, 3, 20))
    facts = advance_facts(None, loan)
    # A plan: the schedule is rewritten so nothing is past due, the plan hold is set.
    under_plan = replace(loan, dpd=0, holds=PlanHolds(plan=True), version=loan.version + 1)
    kept = advance_facts(facts, under_plan)
    assert (kept.dofd, kept.plan) == (date(2026, 2, 6), True)
    # Brought fully current with no plan: a cure, the next delinquency is a new one.
    cured = pay(loan, 20_000, date(2026, 3, 21), "P-2")
    assert cured.dpd == 0
    assert advance_facts(facts, cured).dofd is None


def test_a_loan_first_seen_charged_off_has_its_dofd_and_charge_off_amount() -> None:
    loan = assessed(plan_loan(), date(2026, 6, 10)).with_changes(
        status=LoanStatus.CHARGED_OFF, charged_off_on=date(2026, 6, 5)
    )
    facts = advance_facts(None, loan)
    assert facts.dofd == date(2026, 2, 6)
    assert (facts.charge_off_minor, facts.charged_off_on) == (30_000, date(2026, 6, 5))
    assert facts.cn_class is LoanClass.LOSS


def test_the_dispute_is_open_while_held_and_resolved_from_the_day_it_is_lifted() -> None:
    loan = assessed(plan_loan(), date(2026, 3, 1))
    opened = advance_facts(None, loan.with_changes(holds=Holds(dispute_open=True), version=9))
    assert (opened.dispute, opened.dispute_changed_on) == (DisputeState.OPEN, date(2026, 3, 1))
    lifted = loan.with_changes(evaluated_on=date(2026, 3, 12), version=10)
    resolved = advance_facts(opened, lifted)
    assert (resolved.dispute, resolved.dispute_changed_on) == (DisputeState.RESOLVED, date(2026, 3, 12))


@pytest.mark.parametrize(
    ("dpd", "expected", "code"),
    [
        (0, LoanClass.NORMAL, "N"),
        (1, LoanClass.SPECIAL_MENTION, "1"),
        (30, LoanClass.SPECIAL_MENTION, "1"),
        (31, LoanClass.SPECIAL_MENTION, "2"),
        (90, LoanClass.SPECIAL_MENTION, "3"),
        (91, LoanClass.SUBSTANDARD, "4"),
        (270, LoanClass.SUBSTANDARD, "7"),
        (271, LoanClass.DOUBTFUL, "7"),
        (360, LoanClass.DOUBTFUL, "7"),
        (361, LoanClass.LOSS, "7"),
    ],
)
def test_cn_class_floors_and_repayment_status_bands(dpd: int, expected: LoanClass, code: str) -> None:
    loan = plan_loan()
    assert cn_classification(loan, dpd) is expected
    assert cn_repayment_status(loan, dpd) == code
    assert cn_repayment_status(loan.with_changes(status=LoanStatus.CLOSED), 0) == "C"


def test_the_class_change_is_dated_and_kept_until_the_next_change() -> None:
    loan = plan_loan()
    first = advance_facts(None, assessed(loan, date(2026, 2, 10)))
    assert (first.cn_class, first.cn_class_since) == (LoanClass.SPECIAL_MENTION, date(2026, 2, 10))
    later = advance_facts(first, assessed(loan.with_changes(version=5), date(2026, 3, 10)))
    assert later.cn_class_since == date(2026, 2, 10)
    worse = advance_facts(later, assessed(loan.with_changes(version=8), date(2026, 5, 10)))
    assert (worse.cn_class, worse.cn_class_since) == (LoanClass.SUBSTANDARD, date(2026, 5, 10))


def test_the_month_end_snapshot_reads_the_loan_on_the_last_day() -> None:
    loan = pay(assessed(plan_loan(), date(2026, 3, 20)), 4_000, date(2026, 3, 21), "P-3")
    facts = advance_facts(None, loan)
    snapshot = month_end(loan, facts, date(2026, 3, 31))
    assert snapshot.dpd == 54  # instalment 1 (due 5 Feb) still 60.00 short
    assert snapshot.amount_past_due_minor == amount_past_due(loan, date(2026, 3, 31)) == 16_000
    assert snapshot.balance_minor == 26_000
    assert snapshot.paid_total_minor == 4_000
    assert snapshot.last_payment_on == date(2026, 3, 21)
    assert snapshot.highest_dpd == 54
    assert snapshot.dofd == date(2026, 2, 6)


def test_facts_are_per_loan_version() -> None:
    loan = assessed(plan_loan(), date(2026, 3, 20))
    assert advance_facts(None, loan).version == loan.version
    assert advance_facts(CreditFacts("L-1", version=99), loan).version == 99


def test_the_month_high_counts_the_dpd_the_loan_had_when_it_was_paid() -> None:
    loan = assessed(plan_loan(), date(2026, 3, 1))  # 24 days past the 5 Feb instalment when assessed
    facts = advance_facts(None, loan)
    paid = pay(loan, 30_000, date(2026, 3, 20), "P-off")  # paid in full 43 days past due
    after = advance_facts(facts, paid, before=loan)
    assert (paid.dpd, after.month_high_dpd) == (0, 43)
    assert advance_facts(facts, paid).month_high_dpd == 24  # without the version it replaced
