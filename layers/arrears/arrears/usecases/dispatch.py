"""The dispatcher: gate a planned action on fresh state, send it once, record the outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from botocore.exceptions import ClientError

from arrears.adapters.channels import SmsSender, TaskQueue, TopicPublisher
from arrears.adapters.dynamodb import ActionRepository, BorrowerRepository, ContactRepository, LoanRepository
from arrears.domain.actions import OPEN_ACTION_STATUSES, Action, ActionStatus
from arrears.domain.borrowers import Borrower
from arrears.domain.calendar import format_utc
from arrears.domain.compliance import Decision, RulePack, Verdict, gate, rule_pack_for
from arrears.domain.messages import render
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
    contact_ttl_days: int


@dataclass(frozen=True)
class DispatchResult:
    action_id: str
    outcome: Outcome
    channel: str
    reason: str = ""


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
        ttl_days=ports.contact_ttl_days,
        reason=reason,
        message_sha256=message_sha256,
        rules_checked=decision.rules_checked if decision else (),
        not_before=not_before,
    )


def _send(ports: DispatchPorts, action: Action, borrower: Borrower, at: datetime, pack: RulePack) -> str:
    """Perform the channel effect; returns the SHA-256 of what was sent (never the body itself)."""
    if action.channel in (Channel.SMS, Channel.EMAIL):
        message = render(
            action.template_id if action.channel is Channel.SMS else "email_overdue",
            borrower.language,
            loan_id=action.loan_id,
            dpd=action.dpd,
            amount_minor=action.amount_due_minor,
            currency=action.currency,
        )
        if action.channel is Channel.SMS:
            if not borrower.phone:
                raise ValueError("borrower has no phone number on file")
            ports.once(action.action_id, lambda: ports.sms.send(borrower.phone, message.body))
        else:
            if not borrower.email:
                raise ValueError("borrower has no e-mail address on file")
            payload = {
                "to": borrower.email,
                "language": message.language,
                "body": message.body,
                "action_id": action.action_id,
            }
            ports.once(
                action.action_id,
                lambda: ports.reminders.publish(
                    payload, {"channel": "EMAIL", "template_id": message.template_id}
                ),
            )
        return message.sha256
    if action.channel is Channel.FIELD_VISIT:
        task = {
            "type": "FIELD_VISIT",
            "action_id": action.action_id,
            "loan_id": action.loan_id,
            "borrower_token": borrower_token(ports.token_secret(), action.borrower_id),
            "region": borrower.region,
            "amount_due_minor": action.amount_due_minor,
            "currency": action.currency,
            "dpd": action.dpd,
            "deadline": format_utc(at + timedelta(days=7)),
            "requirements": {
                "min_collectors": pack.field_visit_min_collectors or 1,
                "recording_required": pack.field_visit_recording_required,
            },
        }
        ports.once(
            action.action_id,
            lambda: ports.field_visits.send(
                task, group=borrower.region or "unknown", dedup_id=action.action_id
            ),
        )
        return ""
    raise ValueError(f"channel {action.channel.value} is not dispatchable yet")


def dispatch(action_id: str, at: datetime, ports: DispatchPorts) -> DispatchResult:
    action = ports.actions.get(action_id)
    if action is None:
        return DispatchResult(action_id, Outcome.SKIPPED, "", "action not found")
    # A redelivery finishes what an interrupted run began: the last outcome's contact record.
    ensure_recorded(ports.contacts, action, ports.contact_ttl_days)
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
        _settle(
            ports,
            action,
            ActionStatus.DEFERRED,
            at,
            borrower.timezone,
            pack,
            decision,
            decision.reason,
            not_before=decision.not_before,
        )
        return DispatchResult(action_id, Outcome.DEFERRED, action.channel.value, decision.reason)
    if decision.verdict in (Verdict.SUPPRESS, Verdict.CANCEL):
        status, outcome = (
            (ActionStatus.SUPPRESSED, Outcome.SUPPRESSED)
            if decision.verdict is Verdict.SUPPRESS
            else (ActionStatus.CANCELLED, Outcome.CANCELLED)
        )
        _settle(ports, action, status, at, borrower.timezone, pack, decision, decision.reason)
        return DispatchResult(action_id, outcome, action.channel.value, decision.reason)

    try:
        digest = _send(ports, action, borrower, at, pack)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "ClientError")
        if code in THROTTLING_CODES:
            raise TransientSendError(f"{action.channel.value} throttled ({code})") from None
        reason = f"{action.channel.value} rejected: {code}"
        _settle(ports, action, ActionStatus.FAILED, at, borrower.timezone, pack, decision, reason)
        return DispatchResult(action_id, Outcome.FAILED, action.channel.value, reason)
    except ValueError as error:
        reason = str(error)
        _settle(ports, action, ActionStatus.FAILED, at, borrower.timezone, pack, decision, reason)
        return DispatchResult(action_id, Outcome.FAILED, action.channel.value, reason)
    _settle(ports, action, ActionStatus.SENT, at, borrower.timezone, pack, decision, "", digest)
    return DispatchResult(action_id, Outcome.SENT, action.channel.value)
