"""The dispatcher: gate a planned action on fresh state, send it once, record the outcome."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from arrears.adapters.caps import CapContention, ContactCapRepository
from arrears.adapters.channels import SmsSender, TaskQueue, TopicPublisher
from arrears.adapters.container import Container
from arrears.adapters.dynamodb import (
    ActionRepository,
    BorrowerRepository,
    ContactRepository,
    LoanRepository,
    VersionConflict,
)
from arrears.domain.actions import CALL_TASK_LIFETIME, OPEN_ACTION_STATUSES, Action, ActionStatus
from arrears.domain.behaviour import record_call
from arrears.domain.borrowers import Borrower
from arrears.domain.calendar import format_utc
from arrears.domain.compliance import (
    Decision,
    RulePack,
    Verdict,
    contact_window,
    gate,
    next_contact_instant,
    rule_pack_for,
)
from arrears.domain.loans import Loan
from arrears.domain.messages import DEFAULT_OPT_OUT_URL, RenderedMessage, render, template_ids
from arrears.domain.strategy import Channel
from arrears.domain.tokens import borrower_token
from arrears.usecases.outcomes import ensure_recorded, settle

Once = Callable[[str, Callable[[], str]], str]
"""Run the send at most once per key (Powertools idempotency in Lambda); returns its message id."""

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "KMSThrottlingException",
        "ServiceUnavailable",
        "InternalError",
    }
)


class Outcome(StrEnum):
    SENT = "SENT"
    DEFERRED = "DEFERRED"
    SUPPRESSED = "SUPPRESSED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class TransientSendError(RuntimeError):
    """SNS/SQS throttled or were unavailable: retry the record later (nothing was recorded)."""


@dataclass(frozen=True)
class DispatchPorts:
    loans: LoanRepository
    borrowers: BorrowerRepository
    actions: ActionRepository
    contacts: ContactRepository
    sms: SmsSender
    reminders: TopicPublisher
    field_visits: TaskQueue
    token_secret: Callable[[], bytes]
    once: Once
    # Issue 5 ports; None = not deployed, and an action on that channel fails with a clear reason.
    caps: ContactCapRepository | None = None
    call_tasks: TaskQueue | None = None
    legal: TopicPublisher | None = None
    bureau: TopicPublisher | None = None
    opt_out_url: str = DEFAULT_OPT_OUT_URL

    @classmethod
    def from_container(cls, container: Container, once: Once) -> DispatchPorts:
        """The ports of a deployed stack: a channel whose resource is not configured stays None."""
        settings = container.settings
        return cls(
            loans=container.loans,
            borrowers=container.borrowers,
            actions=container.actions,
            contacts=container.contacts,
            sms=container.sms,
            reminders=container.reminders,
            field_visits=container.field_visits,
            token_secret=container.token_secret.value,
            once=once,
            caps=container.contact_caps if settings.contact_caps_table else None,
            call_tasks=container.call_tasks if settings.call_task_queue_url else None,
            legal=container.legal if settings.legal_topic_arn else None,
            bureau=container.bureau if settings.bureau_topic_arn else None,
            opt_out_url=settings.email_opt_out_url,
        )


@dataclass(frozen=True)
class DispatchResult:
    action_id: str
    outcome: Outcome
    channel: str
    reason: str = ""


def _defer(
    ports: DispatchPorts,
    action: Action,
    at: datetime,
    borrower_tz: str,
    pack: RulePack,
    decision: Decision,
    reason: str,
    not_before: datetime | None,
) -> DispatchResult:
    """Defer `action` to `not_before` (the gate's contact window, or the call caps' next room)."""
    _settle(
        ports, action, ActionStatus.DEFERRED, at, borrower_tz, pack, decision, reason, not_before=not_before
    )
    return DispatchResult(action.action_id, Outcome.DEFERRED, action.channel.value, reason)


def _settle(
    ports: DispatchPorts,
    action: Action,
    to: ActionStatus,
    at: datetime,
    borrower_tz: str,
    pack: RulePack,
    decision: Decision | None,
    reason: str = "",
    message_sha256: str = "",
    not_before: datetime | None = None,
) -> bool:
    return settle(
        ports.actions,
        ports.contacts,
        action,
        to,
        at=at,
        borrower_timezone=borrower_tz,
        rule_pack=pack.ref,
        reason=reason,
        message_sha256=message_sha256,
        rules_checked=decision.rules_checked if decision else (),
        not_before=not_before,
    )


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _hand_off(
    ports: DispatchPorts,
    topic: TopicPublisher,
    kind: str,
    action: Action,
    token: str,
    details: dict[str, Any],
) -> str:
    """Publish a legal or bureau hand-off, once: ids, the borrower token and `details`, never PII."""
    body = {
        "type": kind,
        "action_id": action.action_id,
        "loan_id": action.loan_id,
        "borrower_token": token,
        "jurisdiction": action.jurisdiction,
        **details,
    }
    attributes = {"type": kind, "jurisdiction": action.jurisdiction}
    ports.once(action.action_id, lambda: topic.publish(body, attributes))
    return _digest(body)


def _require[T](port: T | None, what: str) -> T:
    if port is None:
        raise ValueError(f"{what} is not configured")
    return port


def _message(
    action: Action, borrower: Borrower, loan: Loan, pack: RulePack, ports: DispatchPorts
) -> RenderedMessage:
    known = template_ids()
    if action.channel is Channel.EMAIL:
        template_id = action.template_id if action.template_id.startswith("email_") else "email_overdue"
    else:
        template_id = action.template_id if action.template_id in known else "sms_overdue"
    due_in = -loan.due_offset if loan.due_offset is not None and loan.due_offset < 0 else 0
    return render(
        template_id,
        borrower.language,
        loan_id=action.loan_id,
        dpd=action.dpd,
        amount_minor=action.amount_due_minor,
        currency=action.currency,
        due_in=due_in,
        opt_out=action.channel is Channel.EMAIL and pack.email_opt_out_required,
        opt_out_url=ports.opt_out_url,
    )


def _send(
    ports: DispatchPorts, action: Action, borrower: Borrower, loan: Loan, at: datetime, pack: RulePack
) -> str:
    """Perform the channel effect once; returns the SHA-256 of what was sent (never the body itself).

    Hand-off bodies carry only what their recipient needs (docs/contracts.md, "Hand-offs"): never a
    name, phone, e-mail or address, except the SMS/e-mail to the debtor themself.
    """
    if action.channel is Channel.SMS:
        message = _message(action, borrower, loan, pack, ports)
        if not borrower.phone:
            raise ValueError("borrower has no phone number on file")
        ports.once(action.action_id, lambda: ports.sms.send(borrower.phone, message.body))
        return message.sha256
    if action.channel is Channel.EMAIL:
        message = _message(action, borrower, loan, pack, ports)
        if not borrower.email:
            raise ValueError("borrower has no e-mail address on file")
        payload = {
            "to": borrower.email,
            "language": message.language,
            "body": message.body,
            "action_id": action.action_id,
        }
        attributes = {
            "channel": "EMAIL",
            "template_id": message.template_id,
            "language": message.language,
            "jurisdiction": action.jurisdiction,
            "opt_out_included": "true" if pack.email_opt_out_required else "false",
        }
        ports.once(action.action_id, lambda: ports.reminders.publish(payload, attributes))
        return message.sha256
    token = borrower_token(ports.token_secret(), action.borrower_id)
    if action.channel is Channel.FIELD_VISIT:
        queue = ports.field_visits
        task: dict[str, Any] = {
            "type": "FIELD_VISIT",
            "action_id": action.action_id,
            "loan_id": action.loan_id,
            "borrower_token": token,
            "jurisdiction": action.jurisdiction,
            "region": borrower.region,
            "amount_due_minor": action.amount_due_minor,
            "currency": action.currency,
            "dpd": action.dpd,
            "bucket": action.bucket,
            "deadline": format_utc(at + timedelta(days=7)),
            "requirements": {
                "min_collectors": pack.field_visit_min_collectors or 1,
                "recording_required": pack.field_visit_recording_required,
            },
        }
        ports.once(
            action.action_id,
            lambda: queue.send(task, group=borrower.region or "unknown", dedup_id=action.action_id),
        )
        return _digest(task)
    if action.channel is Channel.CALL_TASK:
        calls = _require(ports.call_tasks, "call task queue")
        start, end, _ = contact_window(pack, borrower)
        call: dict[str, Any] = {
            "type": "CALL_TASK",
            "action_id": action.action_id,
            "loan_id": action.loan_id,
            # The dialer resolves the number from the Borrowers table by id (never in the queue) and
            # reports the call back as a CallOutcome for the caps.
            "borrower_id": action.borrower_id,
            "borrower_token": token,
            "jurisdiction": action.jurisdiction,
            "rule_pack": pack.ref,
            "language": borrower.language,
            "timezone": borrower.timezone,
            "call_window_local": [f"{start:%H:%M}", f"{end:%H:%M}"],
            "amount_due_minor": action.amount_due_minor,
            "currency": action.currency,
            "dpd": action.dpd,
            "bucket": action.bucket,
            "script_template": action.template_id,
            "queued_at": format_utc(at),
            "deadline": format_utc(at + CALL_TASK_LIFETIME),
        }
        ports.once(action.action_id, lambda: calls.send(call))
        return _digest(call)
    if action.channel is Channel.LEGAL:
        return _hand_off(
            ports,
            _require(ports.legal, "legal topic"),
            "LEGAL_REFERRAL",
            action,
            token,
            {"step": action.step_id, "referred_at": format_utc(at)},
        )
    if action.channel is Channel.BUREAU:
        return _hand_off(
            ports,
            _require(ports.bureau, "bureau topic"),
            "BUREAU_REPORT",
            action,
            token,
            {
                "amount_due_minor": action.amount_due_minor,
                "currency": action.currency,
                "dpd": action.dpd,
                "bucket": action.bucket,
                "as_of": format_utc(at),
            },
        )
    raise ValueError(f"channel {action.channel.value} is not dispatchable")


def _reserve_call(
    ports: DispatchPorts, action: Action, borrower: Borrower, at: datetime, pack: RulePack
) -> tuple[bool, str, datetime | None, tuple[tuple[str, str], ...]]:
    """Take a call-attempt slot atomically; (allowed, reason, resume at, rules checked)."""
    caps = pack.call_caps
    if action.channel is not Channel.CALL_TASK or not any(
        value is not None
        for value in (
            caps.connected_per_day,
            caps.attempts_per_day_per_number,
            caps.attempts_per_7_days,
            caps.quiet_days_after_conversation,
        )
    ):
        return True, "", None, ()
    repository = _require(ports.caps, "contact caps table")
    try:
        check = repository.reserve_call(action.borrower_id, action.action_id, at, caps, borrower.timezone)
    except CapContention as error:
        raise TransientSendError(str(error)) from None
    if check.allowed:
        return True, "", None, check.rules_checked
    retry_at = check.retry_at or at + timedelta(days=1)
    start, end, _ = contact_window(pack, borrower)
    resume = next_contact_instant(retry_at, borrower.timezone, start, end) or retry_at
    return False, check.reason, resume, check.rules_checked


def dispatch(action_id: str, at: datetime, ports: DispatchPorts) -> DispatchResult:
    action = ports.actions.get(action_id)
    if action is None:
        return DispatchResult(action_id, Outcome.SKIPPED, "", "action not found")
    # A redelivery finishes what an interrupted run began: the last outcome's contact record.
    ensure_recorded(ports.contacts, action)
    if action.status not in OPEN_ACTION_STATUSES:
        return DispatchResult(
            action_id, Outcome.SKIPPED, action.channel.value, f"already {action.status.value}"
        )
    if action.status is ActionStatus.DEFERRED and action.not_before > at:
        return DispatchResult(action_id, Outcome.SKIPPED, action.channel.value, "deferred until later")
    pack = rule_pack_for(action.jurisdiction)
    loan = ports.loans.get(action.loan_id)
    borrower = ports.borrowers.get(action.borrower_id)
    if loan is None or borrower is None:
        reason = "loan not found" if loan is None else "borrower not found"
        _settle(ports, action, ActionStatus.FAILED, at, pack.business_timezone, pack, None, reason)
        return DispatchResult(action_id, Outcome.FAILED, action.channel.value, reason)

    decision = gate(
        channel=action.channel, cycle=action.cycle, loan=loan, borrower=borrower, at=at, pack=pack
    )
    if decision.verdict is Verdict.DEFER:
        return _defer(
            ports, action, at, borrower.timezone, pack, decision, decision.reason, decision.not_before
        )
    if decision.verdict in (Verdict.SUPPRESS, Verdict.CANCEL):
        status, outcome = (
            (ActionStatus.SUPPRESSED, Outcome.SUPPRESSED)
            if decision.verdict is Verdict.SUPPRESS
            else (ActionStatus.CANCELLED, Outcome.CANCELLED)
        )
        if not _settle(ports, action, status, at, borrower.timezone, pack, decision, decision.reason):
            return DispatchResult(action_id, Outcome.SKIPPED, action.channel.value, "settled by another run")
        return DispatchResult(action_id, outcome, action.channel.value, decision.reason)

    allowed, cap_reason, resume, cap_rules = _reserve_call(ports, action, borrower, at, pack)
    decision = Decision(decision.verdict, decision.reason, decision.rules_checked + cap_rules)
    if not allowed:
        return _defer(ports, action, at, borrower.timezone, pack, decision, cap_reason, resume)

    try:
        digest = _send(ports, action, borrower, loan, at, pack)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "ClientError")
        if code in THROTTLING_CODES:
            raise TransientSendError(f"{action.channel.value} throttled ({code})") from None
        return _failed(
            ports, action, borrower, at, pack, decision, f"{action.channel.value} rejected: {code}"
        )
    except BotoCoreError as error:
        # Connection/timeout: the effect may or may not have happened; retry the record (the
        # idempotency record was released, FIFO dedup and the consumers' action_id dedup absorb a repeat).
        raise TransientSendError(f"{action.channel.value} unreachable ({type(error).__name__})") from None
    except ValueError as error:
        return _failed(ports, action, borrower, at, pack, decision, str(error))
    if not _settle(ports, action, ActionStatus.SENT, at, borrower.timezone, pack, decision, "", digest):
        # Another run settled it between our read and our write; the send itself ran once.
        return DispatchResult(action_id, Outcome.SKIPPED, action.channel.value, "settled by another run")
    return DispatchResult(action_id, Outcome.SENT, action.channel.value)


def _failed(
    ports: DispatchPorts,
    action: Action,
    borrower: Borrower,
    at: datetime,
    pack: RulePack,
    decision: Decision,
    reason: str,
) -> DispatchResult:
    """A permanent failure: give back any call slot, record FAILED with the error class."""
    if action.channel is Channel.CALL_TASK and ports.caps is not None:
        ports.caps.release_call(action.borrower_id, action.action_id, at)
    _settle(ports, action, ActionStatus.FAILED, at, borrower.timezone, pack, decision, reason)
    return DispatchResult(
        action_id=action.action_id, outcome=Outcome.FAILED, channel=action.channel.value, reason=reason
    )


@dataclass(frozen=True, slots=True)
class CallOutcomeReport:
    """The dialer's report of one call (`CallOutcome` on LoanEventsBus, source `arrears.dialer`)."""

    call_id: str
    action_id: str
    borrower_id: str
    occurred_at: datetime
    connected: bool
    conversation: bool


@dataclass(frozen=True)
class CallOutcomeResult:
    """What one report did: `new` is False for a call id seen before (then nothing else happened)."""

    new: bool
    loan_id: str | None = None  # the loan of the action, when it was found
    unanswered_contacts: int | None = None  # the loan's counter after the report
    loan_changed: bool = False


MAX_LOAN_CONFLICT_RETRIES = 5


def _count_on_loan(report: CallOutcomeReport, ports: DispatchPorts) -> CallOutcomeResult:
    """Apply the call to the loan of its action: `unanswered_contacts` + 1, or 0 once connected.

    A conditional write on the loan's `version`: a payment or the sweep writing the loan in between
    makes it fail, and the loan is re-read and the call applied again to the fresh state. The write
    is idempotent by itself (the loan remembers the call ids it counted). Only the counter changes,
    never the stored risk score: the planner sees no new step in it (docs/decisions.md).
    """
    action = ports.actions.get(report.action_id)
    if action is None or action.borrower_id != report.borrower_id:
        return CallOutcomeResult(new=True)  # not one of our calls to this borrower: caps only
    for _ in range(MAX_LOAN_CONFLICT_RETRIES):
        loan = ports.loans.get(action.loan_id)
        if loan is None:
            return CallOutcomeResult(new=True)
        updated = record_call(loan, report.call_id, connected=report.connected)
        if updated == loan:
            return CallOutcomeResult(True, loan.loan_id, loan.unanswered_contacts, loan_changed=False)
        try:
            stored = ports.loans.save(updated)
        except VersionConflict:
            continue
        return CallOutcomeResult(True, stored.loan_id, stored.unanswered_contacts, loan_changed=True)
    raise VersionConflict(
        f"loan {action.loan_id}: still conflicting after {MAX_LOAN_CONFLICT_RETRIES} re-reads"
    )


def report_call_outcome(report: CallOutcomeReport, ports: DispatchPorts) -> CallOutcomeResult:
    """Apply a dialer report once per call id: the loan's `unanswered_contacts`, then the call caps.

    Both run inside one idempotency record (`call-outcome#<call_id>`), so a redelivered report
    changes nothing. If either write fails the record is released and the whole report is retried:
    the loan write goes first because it is idempotent by itself (a retry after it succeeded finds
    the call id on the loan), the ledger write last.
    """
    caps = _require(ports.caps, "contact caps table")
    applied: list[CallOutcomeResult] = []

    def apply() -> str:
        result = _count_on_loan(report, ports)
        caps.record_call_outcome(
            report.borrower_id,
            report.occurred_at,
            connected=report.connected,
            conversation=report.conversation,
        )
        applied.append(result)
        return f"call-outcome:{report.call_id}"

    ports.once(f"call-outcome#{report.call_id}", apply)
    return applied[0] if applied else CallOutcomeResult(new=False)
