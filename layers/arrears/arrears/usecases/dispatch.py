"""The dispatcher: gate a planned action on fresh state, send it once, record the outcome."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from arrears.adapters.call_ledger import CallLedgerRepository, LedgerContention
from arrears.adapters.channels import SmsSender, TaskQueue, TopicPublisher
from arrears.adapters.clock import Clock, WallClock
from arrears.adapters.container import Container
from arrears.adapters.dynamodb import (
    ActionRepository,
    BorrowerRepository,
    ContactRepository,
    LoanRepository,
)
from arrears.adapters.errors import error_code, is_permanent
from arrears.adapters.phone_zones import zones_of_number
from arrears.config.rulepacks import bundled_rule_packs, rule_pack_in_force
from arrears.domain.actions import CALL_TASK_LIFETIME, OPEN_ACTION_STATUSES, Action, ActionStatus
from arrears.domain.borrowers import Borrower
from arrears.domain.calendar import format_utc
from arrears.domain.call_limits import counted_channels
from arrears.domain.compliance import (
    END_OF_DAY,
    SendDecision,
    closes_everywhere,
    contact_windows,
    gate,
    next_window_instant,
    window_at,
    zone_windows_for,
)
from arrears.domain.loans import Loan
from arrears.domain.messages import DEFAULT_OPT_OUT_URL, RenderedMessage, render, template_ids
from arrears.domain.rulepacks import RulePack, RulePackHistory
from arrears.domain.strategy import Channel
from arrears.domain.tokens import borrower_token
from arrears.domain.verdicts import RulesChecked, Verdict
from arrears.usecases.outcomes import complete_record, settle

Once = Callable[[str, Callable[[], str]], str]
"""Run the send at most once per key (Powertools idempotency in Lambda); returns its message id."""


class TransientSendError(RuntimeError):
    """SNS/SQS throttled, were unavailable or refused for a reason that is not the contact's own:
    retry the record later (nothing was recorded). Only `is_permanent` errors end FAILED."""


@dataclass(frozen=True)
class DispatchPorts:
    loans: LoanRepository
    borrowers: BorrowerRepository
    actions: ActionRepository
    contacts: ContactRepository
    sms: SmsSender
    reminders: TopicPublisher
    field_visits: TaskQueue
    call_tasks: TaskQueue
    legal: TopicPublisher
    bureau: TopicPublisher
    call_ledger: CallLedgerRepository
    token_secret: Callable[[], bytes]
    once: Once
    opt_out_url: str = DEFAULT_OPT_OUT_URL
    # The instant each contact is judged, sent and recorded at (never the triggering record's time).
    clock: Clock = field(default_factory=WallClock)
    # Every version of every pack; each contact is judged by the one in force at its instant.
    rule_packs: Callable[[], RulePackHistory] = bundled_rule_packs
    # The zones a phone number implies (area code): the contact hours must hold in each of them.
    phone_zones: Callable[[str], tuple[str, ...]] = zones_of_number

    @classmethod
    def from_container(cls, container: Container, once: Once) -> DispatchPorts:
        """The ports of a deployed stack (the template deploys every channel and the call ledger)."""
        return cls(
            loans=container.loans,
            borrowers=container.borrowers,
            actions=container.actions,
            contacts=container.contacts,
            sms=container.sms,
            reminders=container.reminders,
            field_visits=container.field_visits,
            call_tasks=container.call_tasks,
            legal=container.legal,
            bureau=container.bureau,
            call_ledger=container.call_ledger,
            token_secret=container.token_secret.value,
            once=once,
            opt_out_url=container.settings.email_opt_out_url,
            clock=container.clock,
        )


SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class DispatchResult:
    """What one dispatch run did to an action.

    `status` is the status the run moved the action to, or None when it did nothing (not found,
    not open, not yet due, or settled by another run). `reason` says why, for all but SENT. `at` is
    the instant the action was judged at (the dispatcher's clock).
    """

    action_id: str
    status: ActionStatus | None
    channel: str
    reason: str = ""
    at: datetime | None = None

    @property
    def outcome(self) -> str:
        """The status as logs and the `Contacts` metric name it: its value, or `SKIPPED` for None."""
        return SKIPPED if self.status is None else self.status.value


def _defer(
    ports: DispatchPorts,
    action: Action,
    at: datetime,
    borrower_tz: str,
    pack: RulePack,
    decision: SendDecision,
    reason: str,
    not_before: datetime | None,
) -> DispatchResult:
    """Defer `action` to `not_before` (the gate's contact window, or the call limits' next room)."""
    _settle(
        ports, action, ActionStatus.DEFERRED, at, borrower_tz, pack, decision, reason, not_before=not_before
    )
    return DispatchResult(action.action_id, ActionStatus.DEFERRED, action.channel.value, reason)


def _settle(
    ports: DispatchPorts,
    action: Action,
    to: ActionStatus,
    at: datetime,
    borrower_tz: str,
    pack: RulePack,
    decision: SendDecision | None,
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
        decided_by=decision.decided_by if decision else "",
        zones_checked=decision.zones_checked if decision else (),
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
        opt_out_lines=pack.opt_out_wording(action.channel),
        opt_out_url=ports.opt_out_url,
    )


def _local_windows(windows: tuple[tuple[time, time], ...]) -> list[list[str]]:
    """`[["08:00", "10:00"], ["20:00", "24:00"]]`: local windows as a hand-off states them."""
    return [[f"{start:%H:%M}", "24:00" if end == END_OF_DAY else f"{end:%H:%M}"] for start, end in windows]


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
            "opt_out_included": "true" if pack.opt_out_wording(Channel.EMAIL) else "false",
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
            # When a visit is lawful, in the borrower's local time: the pack's contact hours narrowed
            # by the borrower's preferred hours (a visit is a contact; the collector plans the day).
            "timezone": borrower.timezone,
            "visit_windows_local": _local_windows(contact_windows(pack, borrower)[0]),
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
        calls = ports.call_tasks
        # The window the task is queued in: the pack's hours narrowed by the borrower's preference.
        start, end = window_at(at, borrower.timezone, contact_windows(pack, borrower)[0])
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
            "call_window_local": _local_windows(((start, end),))[0],
            # The window closes earlier where the borrower's phone is (a 212 number at a California
            # address): the dialer calls before this instant, lawful in every zone checked.
            "call_before": format_utc(
                closes_everywhere(at, zone_windows_for(pack, borrower, ports.phone_zones(borrower.phone)))
            ),
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
            ports.legal,
            "LEGAL_REFERRAL",
            action,
            token,
            {"step": action.step_id, "referred_at": format_utc(at)},
        )
    if action.channel is Channel.BUREAU:
        return _hand_off(
            ports,
            ports.bureau,
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


def _counted(action: Action, pack: RulePack) -> bool:
    """Whether the contact ledger counts this contact (a call under call caps, or a channel some
    frequency limit of the composed pack names)."""
    return action.channel.value in counted_channels(pack.call_limits, pack.contact_limits)


def _reserve_contact(
    ports: DispatchPorts, action: Action, borrower: Borrower, at: datetime, pack: RulePack
) -> tuple[bool, str, datetime | None, RulesChecked, str]:
    """Take a contact slot atomically (call caps for a call task, and every frequency limit of the
    composed pack naming the channel); (allowed, reason, resume at, rules checked, deciding layer)."""
    if not _counted(action, pack):
        return True, "", None, (), ""
    try:
        check = ports.call_ledger.reserve_call(
            action.borrower_id,
            action.action_id,
            at,
            pack.call_limits,
            borrower.timezone,
            contact_limits=pack.contact_limits,
            channel=action.channel.value,
            loan_id=action.loan_id,
        )
    except LedgerContention as error:
        raise TransientSendError(str(error)) from None
    if check.allowed:
        return True, "", None, check.rules_checked, ""
    retry_at = check.retry_at or at + timedelta(days=1)
    windows, _ = contact_windows(pack, borrower)
    resume = next_window_instant(retry_at, borrower.timezone, windows) or retry_at
    return False, check.reason, resume, check.rules_checked, pack.decided_by(check.rule)


def dispatch(action_id: str, ports: DispatchPorts) -> DispatchResult:
    """Judge, send and record one planned action at the instant `ports.clock` tells.

    The contact is judged (hours, holds, caps, the rule-pack version in force) and recorded at the
    moment it is really made, not at the time of the record or schedule that triggered this run: a
    stream record retried hours later, or replayed by an operator, is judged at its retry.
    """
    at = ports.clock.now()
    return replace(_dispatch(action_id, at, ports), at=at)


def _dispatch(action_id: str, at: datetime, ports: DispatchPorts) -> DispatchResult:
    action = ports.actions.get(action_id)
    if action is None:
        return DispatchResult(action_id, None, "", "action not found")
    # A redelivery (or the next release run, for a `record_pending` action) finishes what an
    # interrupted run began: the last outcome's contact record.
    complete_record(ports.actions, ports.contacts, action)
    if action.status not in OPEN_ACTION_STATUSES:
        return DispatchResult(action_id, None, action.channel.value, f"already {action.status.value}")
    if action.status is ActionStatus.DEFERRED and action.not_before > at:
        return DispatchResult(action_id, None, action.channel.value, "deferred until later")
    loan = ports.loans.get(action.loan_id)
    borrower = ports.borrowers.get(action.borrower_id)
    if loan is None or borrower is None:
        pack = rule_pack_in_force(action.jurisdiction, at, ports.rule_packs())
        reason = "loan not found" if loan is None else "borrower not found"
        _settle(ports, action, ActionStatus.FAILED, at, pack.business_timezone, pack, None, reason)
        return DispatchResult(action_id, ActionStatus.FAILED, action.channel.value, reason)
    # The base of the loan's governing law plus the overlays binding this borrower (address state),
    # each in the version in force at this instant.
    pack = rule_pack_in_force(action.jurisdiction, at, ports.rule_packs(), address_state=borrower.region)

    decision = gate(
        channel=action.channel,
        collection_instalment=action.collection_instalment,
        loan=loan,
        borrower=borrower,
        at=at,
        pack=pack,
        phone_zones=ports.phone_zones(borrower.phone),
    )
    if decision.verdict is Verdict.DEFER:
        return _defer(
            ports, action, at, borrower.timezone, pack, decision, decision.reason, decision.not_before
        )
    if decision.verdict in (Verdict.SUPPRESS, Verdict.CANCEL):
        status = ActionStatus.SUPPRESSED if decision.verdict is Verdict.SUPPRESS else ActionStatus.CANCELLED
        if not _settle(ports, action, status, at, borrower.timezone, pack, decision, decision.reason):
            return DispatchResult(action_id, None, action.channel.value, "settled by another run")
        return DispatchResult(action_id, status, action.channel.value, decision.reason)

    allowed, cap_reason, resume, cap_rules, cap_layer = _reserve_contact(ports, action, borrower, at, pack)
    decision = replace(decision, rules_checked=decision.rules_checked + cap_rules, decided_by=cap_layer)
    if not allowed:
        return _defer(ports, action, at, borrower.timezone, pack, decision, cap_reason, resume)

    try:
        digest = _send(ports, action, borrower, loan, at, pack)
    except ClientError as error:
        code = error_code(error) or "ClientError"
        if not is_permanent(error):
            raise TransientSendError(f"{action.channel.value} not sent, retry later ({code})") from None
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
        return DispatchResult(action_id, None, action.channel.value, "settled by another run")
    return DispatchResult(action_id, ActionStatus.SENT, action.channel.value)


def _failed(
    ports: DispatchPorts,
    action: Action,
    borrower: Borrower,
    at: datetime,
    pack: RulePack,
    decision: SendDecision,
    reason: str,
) -> DispatchResult:
    """A permanent failure: give back any call slot, record FAILED with the error class."""
    if _counted(action, pack):
        ports.call_ledger.release_call(action.borrower_id, action.action_id, at)
    _settle(ports, action, ActionStatus.FAILED, at, borrower.timezone, pack, decision, reason)
    return DispatchResult(
        action_id=action.action_id, status=ActionStatus.FAILED, channel=action.channel.value, reason=reason
    )
