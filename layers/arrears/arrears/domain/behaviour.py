"""The two behaviour counters the risk score reads: broken promises and unanswered contacts.

Both live on the loan (`broken_promises`, `unanswered_contacts`) and change only here. Each rule is
idempotent by itself, so a re-assessment, a retried write or a redelivered event never counts twice:

* **A promise to pay is judged once.** The assessment judges `holds.promise_to_pay_until` as soon
  as it can tell: *broken* on the first assessment after the promised date that finds the loan still
  overdue (counted: `broken_promises` + 1, `last_broken_promise` = the date); *kept* when a payment
  brings the loan current on or before the date, or when the first assessment after it finds the
  loan current (`last_kept_promise` = the date, nothing counted). A promise whose date is either of
  the two is never judged again; a later promise (another date) is judged afresh.
* **A call counts once.** The dialer's report of a call that did not connect adds one to
  `unanswered_contacts`; a connected call (a conversation included) sets it back to 0. The loan
  remembers the last `RECENT_CALL_IDS` call ids that changed it, and a report naming one of them
  changes nothing (the idempotency store in front of the dispatcher is the first guard).
"""

from __future__ import annotations

from datetime import date

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
