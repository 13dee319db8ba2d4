"""The behaviour counters the risk score reads: each broken promise and each call counted once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.config.playbook import bundled_playbook
from arrears.domain.assessment import assess, collection_state_changed
from arrears.domain.behaviour import (
    RECENT_CALL_IDS,
    PromiseEvent,
    judge_promise,
    promise_events,
    promise_record,
    promise_record_key,
    record_call,
)
from arrears.domain.loans import Holds, Instalment, Loan, LoanStatus
from arrears.domain.payments import Payment, apply_payment
from arrears.domain.planning import broken_promise
from arrears.domain.risk import score

DUE = date(2026, 3, 1)
PROMISED = DUE + timedelta(days=3)  # a promise made while overdue: "I will pay by 4 March"


def cash_loan() -> Loan:
    return Loan(
        "L-9", "B-9", "CN", "CNY", 10_000, date(2026, 2, 1), (Instalment(1, DUE, 10_000, 300),), 500, 3600
    )


def plan_loan() -> Loan:
    """Two monthly instalments: paying the first brings the loan current until the second is due."""
    instalments = (Instalment(1, DUE, 5_000, 100), Instalment(2, date(2026, 4, 1), 5_000, 50))
    return Loan("L-8", "B-8", "CN", "CNY", 10_000, date(2026, 2, 1), instalments, 500, 3600)


def promised(loan: Loan, until: date = PROMISED) -> Loan:
    return loan.with_changes(holds=Holds(promise_to_pay_until=until))


def on_day(loan: Loan, day: int) -> Loan:
    """The loan assessed `day` days after its first due date (what the sweep or a payment writes)."""
    return assess(loan, DUE + timedelta(days=day), bundled_playbook())


def pay_first_instalment(loan: Loan, day: int) -> Loan:
    """A payment of the first instalment in full, applied and assessed as the payments use case does."""
    paid_on = DUE + timedelta(days=day)
    outcome = apply_payment(loan, Payment(f"P-{day}", loan.loan_id, 5_100 + 1_000, "CNY", paid_on))
    return assess(outcome.loan, paid_on, bundled_playbook())


# -- broken promises -------------------------------------------------------------------------------


def test_a_broken_promise_is_counted_once_over_repeated_assessments() -> None:
    loan = on_day(promised(cash_loan()), 2)
    assert on_day(loan, 3).broken_promises == 0  # the promised day itself: not broken yet

    broken = on_day(on_day(loan, 3), 4)  # the day after the promised date, still unpaid
    assert (broken.broken_promises, broken.last_broken_promise) == (1, PROMISED)

    # Re-assessed on the same day (a retried sweep task), the next days and up to charge-off
    again = on_day(broken, 4)
    assert not collection_state_changed(broken, again)
    later = broken
    for day in (5, 10, 31, 60, 179):
        later = on_day(later, day)
    assert later.broken_promises == 1
    charged = on_day(later, 180)
    assert (charged.status, charged.broken_promises) == (LoanStatus.CHARGED_OFF, 1)


def test_the_counting_assessment_is_written_and_the_escalation_named_once() -> None:
    before = on_day(promised(cash_loan()), 3)
    counted = on_day(before, 4)
    assert collection_state_changed(before, counted)
    assert broken_promise(before, counted) == PROMISED
    assert broken_promise(None, counted) == PROMISED  # an INSERT that counted it (onboarding)
    # Every later change of the loan carries the same promise on both sides: no second escalation
    later = on_day(counted, 10)
    assert broken_promise(counted, later) is None
    assert broken_promise(counted, counted.with_changes(unanswered_contacts=3)) is None
    assert broken_promise(before, before) is None


def test_a_promise_kept_by_a_payment_on_the_date_is_not_counted() -> None:
    loan = on_day(promised(plan_loan()), 2)
    assert loan.dpd == 2
    kept = pay_first_instalment(loan, 3)  # paid on the promised date: current again
    assert (kept.dpd, kept.last_kept_promise, kept.broken_promises) == (0, PROMISED, 0)
    # The second instalment falls due and is missed: the old, kept promise is never judged again
    overdue_again = on_day(on_day(kept, 31), 35)
    assert overdue_again.dpd > 0
    assert (overdue_again.broken_promises, overdue_again.last_broken_promise) == (0, None)
    assert broken_promise(kept, overdue_again) is None


def test_a_loan_current_after_the_promised_date_kept_its_promise() -> None:
    # A promise made before the due date ("I will pay by the 1st") on a loan that is current then
    loan = on_day(promised(plan_loan(), DUE - timedelta(days=2)), -5)
    assert loan.last_kept_promise is None  # current, but the date is still ahead: not judged
    judged = on_day(loan, -1)
    assert (judged.last_kept_promise, judged.broken_promises) == (DUE - timedelta(days=2), 0)


def test_a_second_later_promise_is_counted_again() -> None:
    first = on_day(on_day(promised(cash_loan()), 3), 4)
    assert first.broken_promises == 1

    second_date = DUE + timedelta(days=10)
    renewed = first.with_changes(holds=Holds(promise_to_pay_until=second_date))
    within = on_day(renewed, 10)
    assert within.broken_promises == 1  # the new promise's date has not passed
    broken_again = on_day(within, 11)
    assert (broken_again.broken_promises, broken_again.last_broken_promise) == (2, second_date)
    assert broken_promise(within, broken_again) == second_date
    assert on_day(broken_again, 12).broken_promises == 2


def test_the_risk_band_rises_with_a_broken_promise() -> None:
    before = on_day(promised(cash_loan()), 3)
    counted = on_day(before, 4)
    # 4 DPD (10) + no instalment paid on time (20) + 32 days since disbursement (10) = 40: MEDIUM
    unbroken = score(counted.with_changes(broken_promises=0), DUE + timedelta(days=4))
    assert (unbroken.score, unbroken.band) == (40, "MEDIUM")
    # ... and the broken promise adds 15: HIGH, stored by the assessment that counted it
    assert ("broken_promises", 1, 15) in counted.risk_features
    assert (counted.risk_score, counted.risk_band) == (55, "HIGH")


@settings(max_examples=80, deadline=None)
@given(days=st.lists(st.integers(min_value=-5, max_value=179), min_size=1, max_size=12))
def test_any_sequence_of_assessments_counts_a_promise_at_most_once(days: list[int]) -> None:
    loan = promised(cash_loan())
    for day in sorted(days):
        loan = on_day(loan, day)
    assert loan.broken_promises == (1 if max(days) >= 4 else 0)


def test_judging_needs_a_promise() -> None:
    loan = cash_loan()
    assert judge_promise(loan, DUE + timedelta(days=9), 9) is loan


# -- unanswered contacts ---------------------------------------------------------------------------


def test_unanswered_calls_count_up_and_a_connected_call_resets() -> None:
    loan = on_day(cash_loan(), 5)
    for n, call in enumerate(("C-1", "C-2", "C-3"), start=1):
        loan = record_call(loan, call, connected=False)
        assert loan.unanswered_contacts == n
    assert score(loan, DUE + timedelta(days=5)).features[-1].value == 3
    reset = record_call(loan, "C-4", connected=True)
    assert (reset.unanswered_contacts, reset.applied_call_ids) == (0, ("C-1", "C-2", "C-3", "C-4"))


def test_a_call_id_already_counted_changes_nothing() -> None:
    loan = record_call(on_day(cash_loan(), 5), "C-1", connected=False)
    assert record_call(loan, "C-1", connected=False) is loan
    reset = record_call(loan, "C-2", connected=True)
    assert record_call(reset, "C-1", connected=False) is reset  # a late retry of a counted call


@pytest.mark.parametrize(
    ("loan", "connected"),
    [
        (cash_loan(), True),  # already 0
        (cash_loan().with_changes(status=LoanStatus.CLOSED, unanswered_contacts=2), False),
    ],
)
def test_nothing_to_write(loan: Loan, connected: bool) -> None:
    assert record_call(loan, "C-9", connected=connected) is loan


def test_the_loan_remembers_only_the_last_call_ids() -> None:
    loan = cash_loan()
    for n in range(RECENT_CALL_IDS + 5):
        loan = record_call(loan, f"C-{n}", connected=False)
    assert loan.unanswered_contacts == RECENT_CALL_IDS + 5
    assert loan.applied_call_ids == tuple(f"C-{n}" for n in range(5, RECENT_CALL_IDS + 5))


def test_the_next_assessment_scores_the_counter() -> None:
    loan = on_day(cash_loan(), 5)
    for call in ("C-1", "C-2", "C-3"):
        loan = record_call(loan, call, connected=False)
    assert ("unanswered_contacts", 0, 0) in loan.risk_features  # stored as of the last assessment
    rescored = on_day(loan, 31)
    assert ("unanswered_contacts", 3, 5) in rescored.risk_features


def test_counters_are_non_negative_integers() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        cash_loan().with_changes(unanswered_contacts=-1)
    with pytest.raises(ValueError, match="integer"):
        cash_loan().with_changes(broken_promises="1")


# -- the archive's promise records -------------------------------------------------------------------


def test_each_promise_is_recorded_made_then_kept_or_broken_once() -> None:
    loan = on_day(cash_loan(), 2)
    made = on_day(promised(loan), 2)
    assert promise_events(loan, made) == ((PromiseEvent.MADE, PROMISED),)
    assert promise_events(None, made) == ((PromiseEvent.MADE, PROMISED),)  # an INSERT with a promise
    assert promise_events(made, on_day(made, 3)) == ()  # the promised day: nothing judged yet
    broken = on_day(on_day(made, 3), 4)
    assert promise_events(made, broken) == ((PromiseEvent.BROKEN, PROMISED),)
    assert promise_events(broken, on_day(broken, 10)) == ()  # never again
    kept = pay_first_instalment(on_day(promised(on_day(plan_loan(), 2)), 2), 3)
    assert promise_events(on_day(promised(on_day(plan_loan(), 2)), 2), kept) == (
        (PromiseEvent.KEPT, PROMISED),
    )
    at = datetime(2026, 3, 5, 8, tzinfo=UTC)
    record = promise_record(broken, PromiseEvent.BROKEN, PROMISED, at)
    assert record == {
        "record_type": "promise_to_pay",
        "event": "broken",
        "promised_for": "2026-03-04",
        "loan_id": "L-9",
        "jurisdiction": "CN",
        "at": "2026-03-05T08:00:00+00:00",
    }
    assert promise_record_key("L-9", PromiseEvent.BROKEN, PROMISED, at) == (
        "promises/dt=2026-03-05/L-9/2026-03-04-broken.json"
    )


def test_a_missed_plan_instalment_is_not_recorded_as_a_broken_promise() -> None:
    # judge_plan sets last_broken_promise to the instalment's due date: not the promise's own date
    loan = promised(on_day(cash_loan(), 2))
    missed = loan.with_changes(broken_promises=1, last_broken_promise=DUE + timedelta(days=20))
    assert promise_events(loan, missed) == ()
