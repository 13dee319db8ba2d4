"""Assessing a loan on a business date: DPD, bucket, instalment in collection, charge-off, next milestone.

This is what the sweep runs for every loan whose milestone has arrived. `assess` is pure and
idempotent: assessing an already-assessed loan on the same date returns an equal loan, which the
sweep detects and does not write.
"""

from __future__ import annotations

from datetime import date

from arrears.domain.behaviour import judge_promise
from arrears.domain.delinquency import charge_off_day, collection_instalment_of, due_offset, loan_dpd
from arrears.domain.loans import Loan, LoanStatus
from arrears.domain.money import advance
from arrears.domain.plans import judge_plan
from arrears.domain.playbook import CollectionPlaybook
from arrears.domain.risk import rescore


def assessment_date(loan: Loan, on: date) -> date:
    """The date to assess `loan` at for an event of business date `on`: never before its last assessment.

    Events arrive late (a payment delivered after the night's sweep, a hold recorded yesterday): the
    event's own date still values it, but the loan's state stays as of the latest date known, so it
    never moves back (DPD falling, a milestone in the past) only because an event was slow.
    """
    return on if loan.evaluated_on is None else max(on, loan.evaluated_on)


def next_plan_review(loan: Loan, on: date) -> date | None:
    """A charged-off loan's next review: the first judge day of its active plan after `on` (the day
    after an instalment's grace ends, `RepaymentPlan.judge_days`); None for any other loan, or when
    no instalment is left to judge."""
    if loan.status is not LoanStatus.CHARGED_OFF or loan.plan is None:
        return None
    return next((day for day in loan.plan.judge_days() if day > on), None)


def plan_review(loan: Loan, on: date) -> Loan:
    """A loan no longer OPEN as it stands on `on`: its plan judged (`judge_plan`: an instalment the
    money received after the charge-off covers is kept, one not covered by its grace end is missed;
    the payment that repays a loan in full completes its plan) and its next review the plan's next
    judge day while the loan is charged off (`next_plan_review`), else none."""
    judged = judge_plan(loan, on)
    return judged.with_changes(next_review_on=next_plan_review(judged, on))


def assess(loan: Loan, on: date, playbook: CollectionPlaybook) -> Loan:
    """The loan as it stands on `on`. A loan no longer OPEN is reviewed only for its repayment plan
    (`plan_review`): a charged-off loan while its plan runs, else never again."""
    buckets = playbook.buckets
    if not loan.is_open:
        return plan_review(loan, on)
    dpd = loan_dpd(loan, on)
    # A promise to pay whose date has passed (or that a payment kept) is judged, and a broken one
    # counted, before the score below reads the counter.
    loan = judge_promise(loan, on, dpd)
    # So is a repayment plan's instalment (a missed one breaks the plan, counted like a broken
    # promise; a plan paid in full completes), which may lift the PLAN hold.
    loan = judge_plan(loan, on)
    if dpd == 0 and loan.hardship_reason:
        # Current again: a later delinquency starts on the main strategy, not the hardship branch.
        loan = loan.with_changes(hardship_reason="")
    charge_off = charge_off_day(loan)
    if charge_off is not None and charge_off <= on:
        # Charged off on its own day (the product's charge-off DPD), even when assessed later:
        # the money stops accruing that day (arrears.domain.money).
        charged = advance(loan, charge_off)
        return charged.with_changes(
            dpd=loan_dpd(charged, on),
            bucket=buckets.bucket_for(loan_dpd(charged, on)),
            due_offset=due_offset(loan, on),
            collection_instalment=collection_instalment_of(loan),
            evaluated_on=on,
            next_review_on=next_plan_review(charged, on),
        )
    assessed = loan.with_changes(
        dpd=dpd,
        bucket=buckets.bucket_for(dpd),
        due_offset=due_offset(loan, on),
        collection_instalment=collection_instalment_of(loan),
        evaluated_on=on,
        next_review_on=playbook.milestones_for(loan).next_after(loan, on),
    )
    # The behavioural risk score, its band and the features behind it travel with every assessment
    # the sweep or a payment writes, so the planner (and an auditor) read what the decision used.
    return rescore(assessed, on)


def collection_state_changed(before: Loan, after: Loan) -> bool:
    """Whether an assessment changed anything stored (the sweep writes only then).

    A promise or a plan instalment judged counts as a change: the judgement (and a broken promise's
    count, a lifted plan hold) must be stored, else the next assessment would judge it again.
    """
    return (
        before.status,
        before.dpd,
        before.bucket,
        before.due_offset,
        before.collection_instalment,
        before.next_review_on,
        before.penalty_exact,
        before.money_through,
        before.charged_off_on,
        before.broken_promises,
        before.last_broken_promise,
        before.last_kept_promise,
        before.plan,
        before.holds,
        before.hardship_reason,
    ) != (
        after.status,
        after.dpd,
        after.bucket,
        after.due_offset,
        after.collection_instalment,
        after.next_review_on,
        after.penalty_exact,
        after.money_through,
        after.charged_off_on,
        after.broken_promises,
        after.last_broken_promise,
        after.last_kept_promise,
        after.plan,
        after.holds,
        after.hardship_reason,
    )
