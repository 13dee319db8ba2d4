"""The dialer's reports: every attempt (`CallAttempted`) counted, judged, archived; `CallOutcome` folded in.

An attempt is applied once per call id (one idempotency record around the writes, each idempotent
by itself): first to the loan of the task (`unanswered_contacts` + 1, or 0 on a right-party
contact), then to the borrower's call ledger (attempts, connected calls, conversations across all
their loans; the task closed when the dialer is done or nothing more is allowed), then as a contact
record judged at the attempt's instant on the rule pack in force then (the archive's proof of the
caps). docs/contracts.md, "The dialer contract".

`CallOutcome` (the earlier contract: one report per call, `connected` and `conversation` only) is
folded into the same path: it is an attempt of the task named by its `action_id`, unnumbered,
`connected_borrower` when connected else `no_answer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from arrears.config.rulepacks import rule_pack_in_force
from arrears.domain.actions import Action, ActionStatus, ContactRecord, reported_contact
from arrears.domain.behaviour import record_call
from arrears.domain.call_attempts import CallAttempt, CallResult, judge_attempt
from arrears.domain.call_limits import KEEP_FOR, CallLedger, allowance
from arrears.domain.compliance import contact_windows, zone_windows_for
from arrears.domain.loans import Loan
from arrears.domain.strategy import Channel
from arrears.domain.verdicts import RulesChecked
from arrears.usecases.dispatch import DispatchPorts

MAX_AHEAD = timedelta(minutes=5)
"""How far an attempt's `started_at` may be ahead of the handler's clock (the dialer's clock skew)."""


class RejectedAttempt(ValueError):
    """An attempt that cannot be counted as reported: an unknown task, a start before the task was
    queued, in the future, or older than the ledger keeps. Nothing was written; the event goes to
    the failure path (AsyncFailureQueue) with the reason for an operator."""


@dataclass(frozen=True, slots=True)
class CallOutcomeReport:
    """The dialer's report of one call (`CallOutcome` on LoanEventsBus, source `arrears.dialer`)."""

    call_id: str
    action_id: str
    borrower_id: str
    occurred_at: datetime
    connected: bool
    conversation: bool

    def attempt(self) -> CallAttempt:
        """The same call under the dialer contract: an unnumbered attempt of the task `action_id`."""
        result = (
            CallResult.CONNECTED_BORROWER if self.connected or self.conversation else CallResult.NO_ANSWER
        )
        return CallAttempt(self.call_id, self.action_id, None, self.occurred_at, result, self.conversation)


@dataclass(frozen=True)
class CallOutcomeResult:
    """What one report did: `new` is False for a call id seen before (then nothing else happened).

    `breach` is empty for a lawful attempt, else the rule it broke (it is counted and archived all
    the same); `task_closed` whether it closed the borrower's open task.
    """

    new: bool
    loan_id: str | None = None  # the loan of the task
    unanswered_contacts: int | None = None  # the loan's counter after the report
    loan_changed: bool = False
    task_closed: bool = False
    breach: str = ""
    rules_checked: RulesChecked = ()


def _count_on_loan(action: Action, attempt: CallAttempt, ports: DispatchPorts) -> tuple[Loan | None, bool]:
    """Apply the attempt to the task's loan: `unanswered_contacts` + 1, or 0 on a right-party contact.

    A conditional write on the loan's `version` (`LoanRepository.update`), re-read and re-applied
    when a payment or the sweep wrote the loan in between; idempotent by itself (the loan remembers
    the call ids it counted). Only the counter changes, never the stored risk score (docs/decisions.md).
    Raises `VersionConflict` when the loan kept changing.
    """

    def count(loan: Loan) -> Loan | None:
        counted = record_call(
            loan, attempt.call_id, connected=attempt.result.right_party or attempt.conversation
        )
        return None if counted == loan else counted

    update = ports.loans.update(action.loan_id, count)
    return update.loan, update.written


def _task_of(attempt: CallAttempt, ports: DispatchPorts, now: datetime) -> Action:
    """The call task's action, or `RejectedAttempt` naming why the attempt cannot be counted."""
    action = ports.actions.get(attempt.task_id)
    if action is None or action.channel is not Channel.CALL_TASK:
        raise RejectedAttempt(f"task_id {attempt.task_id}: no such call task")
    queued = action.last_outcome.occurred_at if action.last_outcome is not None else None
    if action.status is not ActionStatus.SENT or queued is None:
        raise RejectedAttempt(f"task_id {attempt.task_id}: the task was never handed to the dialer")
    if attempt.started_at < queued:
        raise RejectedAttempt(f"started_at is before the task was queued ({queued.isoformat()})")
    if attempt.started_at > now + MAX_AHEAD:
        raise RejectedAttempt("started_at is in the future")
    if attempt.started_at < now - KEEP_FOR:
        raise RejectedAttempt(f"started_at is older than the call ledger keeps ({KEEP_FOR.days} days)")
    return action


def attempt_contact(
    action: Action,
    attempt: CallAttempt,
    *,
    timezone: str,
    rule_pack: str,
    breach: str,
    rules_checked: RulesChecked,
    zones_checked: tuple[str, ...] = (),
) -> ContactRecord:
    """The contact record of one attempt: the task's action, the attempt's facts and its judgement.

    Its id is fixed by the call id, so a retried report writes it once. Status SENT (the call was
    made); `reason` names the breach of an unlawful attempt, `rules_checked` the rules judged.
    """
    return reported_contact(
        action,
        report=f"call-attempt|{attempt.call_id}",
        channel=Channel.CALL_TASK,
        at=attempt.started_at,
        timezone=timezone,
        rule_pack=rule_pack,
        reason=breach,
        rules_checked=rules_checked,
        task_id=attempt.task_id,
        attempt=attempt.attempt or 0,
        result=attempt.result.value,
        conversation=attempt.conversation,
        collector_ids=attempt.staff_ids,
        zones_checked=zones_checked,
    )


def _holds_task(ledger: CallLedger, task_id: str) -> bool:
    return ledger.open_task is not None and ledger.open_task.task_id == task_id


def report_call_attempt(attempt: CallAttempt, ports: DispatchPorts) -> CallOutcomeResult:
    """Count, judge and archive one attempt, once per call id (`call-attempt#<call_id>`).

    The writes, in order, each idempotent by itself so a retry after a partial run completes it:
    the loan's counter, the call ledger (the attempt counted; the task closed when the dialer says
    it is done, the result ends it, a conversation was held or no attempt is left today), the
    contact record. Raises `RejectedAttempt` (nothing written), `VersionConflict` when the loan
    kept changing, `LedgerContention` when the ledger did.
    """
    now = ports.clock.now()
    action = _task_of(attempt, ports, now)
    borrower = ports.borrowers.get(action.borrower_id)
    # Judged by the layers binding this borrower (their address state's overlay), as the task was.
    pack = rule_pack_in_force(
        action.jurisdiction,
        attempt.started_at,
        ports.rule_packs(),
        address_state=borrower.region if borrower is not None else None,
    )
    timezone = borrower.timezone if borrower is not None else pack.business_timezone
    windows = (
        contact_windows(pack, borrower)[0]
        if borrower is not None
        else ((pack.contact_start, pack.contact_end),)
    )
    limits, contact_limits = pack.call_limits, pack.contact_limits
    # Every zone the borrower may be in (address first, then their phone's): the hours hold in each.
    zones = (
        zone_windows_for(pack, borrower, ports.phone_zones(borrower.phone)) if borrower is not None else ()
    )
    applied: list[CallOutcomeResult] = []

    def close(counted: CallLedger) -> str | None:
        task = counted.open_task
        if task is None or task.task_id != attempt.task_id:
            return None
        left = allowance(
            counted,
            limits,
            attempt.started_at,
            timezone,
            task.expires_at,
            contact_limits=contact_limits,
            loan_id=action.loan_id,
        )
        done = attempt.task_done or attempt.result.ends_task or attempt.conversation or left.exhausted
        return task.task_id if done else None

    def apply() -> str:
        loan, loan_changed = _count_on_loan(action, attempt, ports)
        read, written = ports.call_ledger.record_attempt(
            action.borrower_id,
            attempt.call_id,
            attempt.started_at,
            connected=attempt.connected,
            conversation=attempt.conversation,
            close=close,
            loan_id=action.loan_id,
        )
        before = read.before(attempt.started_at, attempt.call_id)
        breach, rules = judge_attempt(
            before,
            limits,
            attempt,
            timezone,
            windows,
            contact_limits=contact_limits,
            loan_id=action.loan_id,
            other_zones=zones[1:],
        )
        ports.contacts.record_report(
            attempt_contact(
                action,
                attempt,
                timezone=timezone,
                rule_pack=pack.ref,
                breach=breach,
                rules_checked=rules,
                zones_checked=tuple(zone for zone, _ in zones),
            )
        )
        closed = _holds_task(read, attempt.task_id) and not _holds_task(written, attempt.task_id)
        applied.append(
            CallOutcomeResult(
                True,
                action.loan_id,
                loan.unanswered_contacts if loan is not None else None,
                loan_changed,
                task_closed=closed,
                breach=breach,
                rules_checked=rules,
            )
        )
        return f"call-attempt:{attempt.call_id}"

    ports.once(f"call-attempt#{attempt.call_id}", apply)
    return applied[0] if applied else CallOutcomeResult(new=False)


def report_call_outcome(report: CallOutcomeReport, ports: DispatchPorts) -> CallOutcomeResult:
    """A legacy `CallOutcome`: applied as the attempt `report.attempt()` (`report_call_attempt`)."""
    return report_call_attempt(report.attempt(), ports)
