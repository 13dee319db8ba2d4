"""Holds from the lending core and the collector desk: apply, re-assess, write with optimistic locking.

The change is applied to the loan by the pure rule of `arrears.domain.holds` (last writer wins per
kind of hold, by the change's own time; a redelivered or older event changes nothing), the loan is
re-assessed on the business date so that the review index gets the day after a promise or a
hardship pause as a milestone, and the loan is written conditionally on its `version`. The write
puts a record on the Loans stream: the planner cancels open actions under a bankruptcy or a death,
and the dispatcher's gate re-reads the loan's holds before every send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from arrears.adapters.dynamodb import LoanChange, LoanUpdate
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.assessment import assess, assessment_date
from arrears.domain.business_time import loan_business_date
from arrears.domain.holds import HoldChange, HoldChangeStatus, HoldOutcome, apply_hold_change
from arrears.domain.loans import Loan
from arrears.domain.playbook import CollectionPlaybook


class UnknownLoan(LookupError):
    """A hold for a loan this system does not hold (yet): it must not be dropped (see `record_hold`)."""


class Loans(Protocol):
    def update(self, loan_id: str, change: LoanChange) -> LoanUpdate: ...


@dataclass(frozen=True)
class HoldResult:
    status: HoldChangeStatus
    changed: bool  # the loan's holds changed (APPLIED may only move the change's stamp)
    loan: Loan  # as stored after the change (or as read, when nothing was written)
    assessed_on: date | None  # the business date the loan was re-assessed on (None: not written)


def record_hold(change: HoldChange, *, loans: Loans, playbook: CollectionPlaybook) -> HoldResult:
    """Apply `change` to its loan, re-assess the loan and store it; on a concurrent write, re-read.

    The business date is that of `change.occurred_at` in the loan's jurisdiction, or the loan's last
    assessment date if that is later (an event that arrives late never moves the loan's state back).
    The loan is assessed once before the change as well: a promise to pay whose date has passed is
    judged (and a broken one counted) before a new promise or a lift can replace it.

    A loan that is not found raises `UnknownLoan`: the event then goes, after the asynchronous
    retries, to the failure queue (like a payment for an unknown loan). A hold that arrives before its
    loan was onboarded, or with a wrong id, is a cease-contact or a bankruptcy someone must still
    apply; dropping it would let collection start later as if it had never been asked for.
    """
    attempts: list[tuple[HoldOutcome, date]] = []  # (outcome, assessment date) of each attempt

    def hold(loan: Loan) -> Loan | None:
        made_on = loan_business_date(loan, change.occurred_at, rule_pack_for(loan.jurisdiction))
        on = assessment_date(loan, made_on)
        current = assess(loan, on, playbook) if loan.is_open else loan
        outcome = apply_hold_change(current, change, made_on)
        attempts.append((outcome, on))
        if outcome.status is not HoldChangeStatus.APPLIED:
            return None
        return assess(outcome.loan, on, playbook)

    update = loans.update(change.loan_id, hold)
    if update.loan is None:
        raise UnknownLoan(f"hold change {change.request_id}: loan {change.loan_id} not found")
    outcome, on = attempts[-1]
    if outcome.status is not HoldChangeStatus.APPLIED:
        return HoldResult(outcome.status, False, update.loan, None)
    return HoldResult(HoldChangeStatus.APPLIED, outcome.changed, update.loan, on)
