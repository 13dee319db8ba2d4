"""Assessing a loan on a business date: DPD, bucket, cycle, charge-off and its next milestone.

This is what the sweep runs for every loan whose milestone has arrived. `assess` is pure and
idempotent: assessing an already-assessed loan on the same date returns an equal loan, which the
sweep detects and does not write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from arrears.domain.behaviour import judge_promise
from arrears.domain.delinquency import BucketPolicy, cycle_of, due_offset, loan_dpd
from arrears.domain.loans import Loan, LoanStatus
from arrears.domain.penalties import crystallise
from arrears.domain.risk import rescore

if TYPE_CHECKING:
    from arrears.domain.policy import CollectionPolicy


@dataclass(frozen=True, slots=True)
class Milestones:
    """Offsets (days from the oldest unsettled due date) on which a loan must be looked at.

    The due day (0), every strategy step's offset (negative for pre-due reminders), every bucket
    boundary and the charge-off day. Between two milestones nothing a user can see changes.
    """

    offsets: tuple[int, ...]

    @classmethod
    def build(cls, buckets: BucketPolicy, step_offsets: tuple[int, ...]) -> Milestones:
        values = {0, buckets.charge_off_dpd, *buckets.boundaries, *step_offsets}
        return cls(tuple(sorted(v for v in values if v <= buckets.charge_off_dpd)))

    def next_after(self, loan: Loan, on: date) -> date | None:
        """The first milestone date strictly after `on`, or None when none remains."""
        oldest = loan.oldest_unsettled
        if oldest is None:
            return None
        for offset in self.offsets:
            when = oldest.due_on + timedelta(days=offset)
            if when > on:
                return when
        return None


def assessment_date(loan: Loan, on: date) -> date:
    """The date to assess `loan` at for an event of business date `on`: never before its last assessment.

    Events arrive late (a payment delivered after the night's sweep, a hold recorded yesterday): the
    event's own date still values it, but the loan's state stays as of the latest date known, so it
    never moves back (DPD falling, a milestone in the past) only because an event was slow.
    """
    return on if loan.evaluated_on is None else max(on, loan.evaluated_on)


def assess(loan: Loan, on: date, policy: CollectionPolicy) -> Loan:
    """The loan as it stands on `on`; closed loans leave the review index."""
    buckets = policy.buckets
    if not loan.is_open:
        return loan.with_changes(next_review_on=None)
    dpd = loan_dpd(loan, on)
    # A promise to pay whose date has passed (or that a payment kept) is judged, and a broken one
    # counted, before the score below reads the counter.
    loan = judge_promise(loan, on, dpd)
    if dpd >= buckets.charge_off_dpd:
        charged = crystallise(loan, on)
        return charged.with_changes(
            status=LoanStatus.CHARGED_OFF,
            dpd=dpd,
            bucket=buckets.bucket_for(dpd),
            due_offset=due_offset(loan, on),
            cycle=cycle_of(loan),
            evaluated_on=on,
            closed_on=on,
            next_review_on=None,
        )
    assessed = loan.with_changes(
        dpd=dpd,
        bucket=buckets.bucket_for(dpd),
        due_offset=due_offset(loan, on),
        cycle=cycle_of(loan),
        evaluated_on=on,
        next_review_on=policy.milestones_for(loan).next_after(loan, on),
    )
    # The behavioural risk score, its band and the features behind it travel with every assessment
    # the sweep or a payment writes, so the planner (and an auditor) read what the decision used.
    return rescore(assessed, on)


def collection_state_changed(before: Loan, after: Loan) -> bool:
    """Whether an assessment changed anything stored (the sweep writes only then).

    A promise judged counts as a change: the judgement (and a broken promise's count) must be
    stored, else the next assessment would judge it again.
    """
    return (
        before.status,
        before.dpd,
        before.bucket,
        before.due_offset,
        before.cycle,
        before.next_review_on,
        before.penalty_accrued_minor,
        before.penalty_through,
        before.broken_promises,
        before.last_broken_promise,
        before.last_kept_promise,
    ) != (
        after.status,
        after.dpd,
        after.bucket,
        after.due_offset,
        after.cycle,
        after.next_review_on,
        after.penalty_accrued_minor,
        after.penalty_through,
        after.broken_promises,
        after.last_broken_promise,
        after.last_kept_promise,
    )
