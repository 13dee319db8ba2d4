"""The two behaviour counters the risk score reads: broken promises and unanswered contacts.

Both live on the loan (`broken_promises`, `unanswered_contacts`) and change only here. Each rule is
idempotent by itself, so a re-assessment, a retried write or a redelivered event never counts twice:

* **A promise to pay is judged once.** The assessment judges `holds.promise_to_pay_until` as soon
  as it can tell: *broken* on the first assessment after the promised date that finds the loan still
  overdue (counted: `broken_promises` + 1, `last_broken_promise` = the date); *kept* when a payment
  brings the loan current on or before the date, or when the first assessment after it finds the
  loan current (`last_kept_promise` = the date, nothing counted). A promise whose date is either of
  the two is never judged again; a later promise (another date) is judged afresh.
* **Every promise leaves a record.** Made, kept or broken, each promise event a loan change makes
  (`promise_events`) is archived write-once under `promises/` (`promise_record`), so the
  promise-kept rate is measured from the archive alone (report.html), never from a model.
* **A call counts once.** The dialer's report of a call that did not connect adds one to
  `unanswered_contacts`; a connected call (a conversation included) sets it back to 0. The loan
  remembers the last `RECENT_CALL_IDS` call ids that changed it, and a report naming one of them
  changes nothing (the idempotency store in front of the dispatcher is the first guard).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from arrears.domain.loans import Loan

RECENT_CALL_IDS = 10


def judge_promise(loan: Loan, on: date, dpd: int) -> Loan:
    """The loan with its promise to pay judged on `on`, where `dpd` is today's days past due.

    `loan.dpd` is the state as of the previous assessment: a loan that was overdue then and is
    current now was brought current by a payment, which keeps a promise whose date has not passed.
    """
    promised = loan.holds.promise_to_pay_until
    if promised is None or promised in (loan.last_broken_promise, loan.last_kept_promise):
        return loan
    if dpd > 0:
        if on <= promised:
            return loan  # the promised date has not passed yet
        return loan.with_changes(broken_promises=loan.broken_promises + 1, last_broken_promise=promised)
    if on > promised or loan.dpd > 0:
        return loan.with_changes(last_kept_promise=promised)
    return loan  # current, and the date is still ahead: nothing to judge yet


PROMISES_PREFIX = "promises/"


class PromiseEvent(StrEnum):
    """What happened to a promise to pay, as the archive records it."""

    MADE = "made"  # the PROMISE_TO_PAY hold set with a date (the borrower's, an agent's, the dialer's)
    KEPT = "kept"  # judged kept (`judge_promise`)
    BROKEN = "broken"  # judged broken (`judge_promise`: counted in `broken_promises`)


def promise_events(before: Loan | None, after: Loan) -> tuple[tuple[PromiseEvent, date], ...]:
    """The promise events a loan change made, each with the promised date: a promise made (the
    PROMISE_TO_PAY hold set to a new date), kept or broken (`judge_promise`'s `last_kept_promise`,
    `last_broken_promise` newly set). A plan instalment missed also sets `last_broken_promise` (to
    its due date, `arrears.domain.plans`): it is a broken promise only when that date is the
    promise's own."""
    events: list[tuple[PromiseEvent, date]] = []
    promised = after.holds.promise_to_pay_until
    if promised is not None and (before is None or before.holds.promise_to_pay_until != promised):
        events.append((PromiseEvent.MADE, promised))
    kept = after.last_kept_promise
    if kept is not None and (before is None or before.last_kept_promise != kept):
        events.append((PromiseEvent.KEPT, kept))
    broken = after.last_broken_promise
    if broken is not None and broken == promised and (before is None or before.last_broken_promise != broken):
        events.append((PromiseEvent.BROKEN, broken))
    return tuple(events)


def promise_record_key(loan_id: str, event: PromiseEvent, promised: date, at: datetime) -> str:
    """`promises/dt=<day of the change>/<loan id>/<promised date>-<event>.json`: one object per event;
    a replayed change writes the same key and bytes."""
    return f"{PROMISES_PREFIX}dt={at.date().isoformat()}/{loan_id}/{promised.isoformat()}-{event.value}.json"


def promise_record(loan: Loan, event: PromiseEvent, promised: date, at: datetime) -> dict[str, Any]:
    """The write-once archive record of one promise event: ids, dates and codes, no personal data."""
    return {
        "record_type": "promise_to_pay",
        "event": event.value,
        "promised_for": promised.isoformat(),
        "loan_id": loan.loan_id,
        "jurisdiction": loan.jurisdiction,
        "at": at.isoformat(),
    }


def record_call(loan: Loan, call_id: str, *, connected: bool) -> Loan:
    """The loan after the dialer's report of one call; the same object when nothing changes.

    Nothing changes for a closed loan (its score no longer matters), for a call id already counted,
    and for a connected call when the count is already 0.
    """
    if not loan.is_open or call_id in loan.applied_call_ids:
        return loan
    count = 0 if connected else loan.unanswered_contacts + 1
    if count == loan.unanswered_contacts:
        return loan
    return loan.with_changes(
        unanswered_contacts=count,
        applied_call_ids=(*loan.applied_call_ids, call_id)[-RECENT_CALL_IDS:],
    )
