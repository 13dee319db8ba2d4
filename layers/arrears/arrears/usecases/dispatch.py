"""The dispatcher: gate a planned action on fresh state, send it once, record the outcome."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

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
from arrears.adapters.gate_reads import GateReads, GateState
from arrears.adapters.items import outcome_from_item, outcome_to_item
from arrears.adapters.outbox import ClaimRefused, SendClaim, SendInProgress, SendUnconfirmed
from arrears.adapters.phone_zones import zones_of_number
from arrears.config.rulepacks import bundled_rule_packs, rule_pack_in_force
from arrears.domain.actions import (
    CALL_TASK_LIFETIME,
    OPEN_ACTION_STATUSES,
    Action,
    ActionOutcome,
    ActionStatus,
    StatedFigures,
    figures_at,
)
from arrears.domain.borrowers import Borrower
from arrears.domain.bureau import BUREAU_PRECONDITION_RULE, Communication, bureau_check
from arrears.domain.business_time import business_date, loan_business_date
from arrears.domain.calendar import format_utc
from arrears.domain.call_limits import Allowance, CallLedger, counted_channels
from arrears.domain.compliance import (
    CONTACT_POINT_RULE,
    CONTACT_POINTS,
    END_OF_DAY,
    ONE_CALL_TASK_RULE,
    SendDecision,
    after_validation_period,
    closes_everywhere,
    contact_windows,
    gate,
    missing_contact_point,
    next_window_instant,
    window_at,
    zone_windows_for,
)
from arrears.domain.delinquency import due_offset
from arrears.domain.loans import Loan
from arrears.domain.messages import RenderedMessage, needs_opt_out_url, render, template_ids
from arrears.domain.rulepacks import RulePack, RulePackHistory
from arrears.domain.strategy import Channel
from arrears.domain.tokens import borrower_token, is_pseudonym
from arrears.domain.validation_notice import NOTICE_WAITS, VALIDATION_PERIOD_RULE
from arrears.domain.verdicts import FAIL, PASS, RulesChecked, Verdict
from arrears.usecases.outcomes import complete_record, settle
from arrears.usecases.preferences import opt_out_link
from arrears.usecases.validation_notice import ensure_validation_notice, notice_channel, notice_key


class Once(Protocol):
    """Run the send at most once per key (`SendOutbox` in Lambda); returns its message id.

    `retry_safe`: the channel deduplicates a repeat itself (a FIFO queue's deduplication id), so a
    send whose answer was lost may be made again. `recorded`: the caller's own record of a confirmed
    send (the action's SENT transition), run right after it, in place of the outbox's completion.
    `decision`: stored with the claim (the SENT outcome as judged, and a deduplicated task's body), so
    a later run finishes the send as decided (`_resume`). `guard`: a condition written with the claim
    in one transaction (the action still as judged: `ActionRepository.unchanged`).
    Raises `SendUnconfirmed` for a send that may or may not have been made and will not be repeated,
    `SendInProgress` while another run holds the key, `ClaimRefused` when the guard failed.
    """

    def __call__(
        self,
        key: str,
        effect: Callable[[], str],
        *,
        retry_safe: bool = False,
        recorded: Callable[[], object] | None = None,
        decision: Mapping[str, Any] | None = None,
        guard: Mapping[str, Any] | None = None,
    ) -> str: ...


class UnconfirmedSend(RuntimeError):
    """The channel may or may not have the contact (`code`: why); `digest` is what was handed over."""

    def __init__(self, code: str, digest: str) -> None:
        super().__init__(f"unconfirmed: {code}")
        self.code = code
        self.digest = digest


@dataclass(frozen=True)
class Record:
    """How `_dispatch` records a send: `sent(digest)` records a confirmed send as SENT with the digest
    of what was sent; `outcome(digest)` is that SENT outcome as judged now (stored with the outbox
    claim, so a later run records the same one: `_resume`). `guard` is written with the claim: the
    action still at the status and version judged (`ActionRepository.unchanged`), so no send is
    claimed for an action another run (the planner's cancellation) settled meanwhile."""

    sent: Callable[[str], object]
    outcome: Callable[[str], ActionOutcome]
    guard: Mapping[str, Any] | None = None


def _once(
    ports: DispatchPorts,
    key: str,
    effect: Callable[[], str],
    digest: str,
    record: Record,
    *,
    retry_safe: bool = False,
    body: dict[str, Any] | None = None,
) -> str:
    """Hand the contact over through the outbox, recording it SENT right after a confirmed send (the
    action's transition is the outbox's completion); returns `digest` (the SHA-256 of what was sent).

    The claim carries the decision: the SENT outcome judged now and, for a deduplicated task
    (`retry_safe`), its `body` (a task carries no personal data), which a later run resends."""
    decision: dict[str, Any] = {"outcome": outcome_to_item(record.outcome(digest))}
    if body is not None:
        decision["body"] = body
    try:
        ports.once(
            key,
            effect,
            retry_safe=retry_safe,
            recorded=lambda: record.sent(digest),
            decision=decision,
            guard=record.guard,
        )
    except SendUnconfirmed as unconfirmed:
        raise UnconfirmedSend(unconfirmed.code, digest) from None
    except SendInProgress as busy:
        raise TransientSendError(str(busy)) from None
    return digest


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
    # The action, its loan and its borrower in one BatchGetItem (adapters/gate_reads.py).
    gate_reads: GateReads
    # The signed unsubscribe link of a message (borrower id, channel, send instant -> URL:
    # arrears.usecases.preferences.opt_out_link); None = no link can be made (a message whose pack
    # words its opt-out line with {opt_out_url} then fails rather than go out without one).
    opt_out_link: Callable[[str, Channel, datetime], str] | None = None
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
            gate_reads=container.gate_reads,
            opt_out_link=unsubscribe_links(container),
            clock=container.clock,
        )


def unsubscribe_links(container: Container) -> Callable[[str, Channel, datetime], str] | None:
    """The signed-link maker of a deployed dispatcher; None when the stack gives it no link secret."""
    settings = container.settings
    if not settings.opt_out_link_secret_arn or not settings.email_opt_out_url:
        return None

    def link(borrower_id: str, channel: Channel, now: datetime) -> str:
        return opt_out_link(
            borrower_id,
            channel,
            now=now,
            base_url=settings.email_opt_out_url,
            ttl=timedelta(days=settings.opt_out_link_ttl_days),
            token_secret=container.token_secret.value,
            link_secret=container.opt_out_link_secret.value,
        )

    return link


SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class DispatchResult:
    """What one dispatch run did to an action.

    `status` is the status the run moved the action to, or None when it did nothing (not found,
    not open, not yet due, or settled by another run). `reason` says why, for all but SENT. `at` is
    the instant the action was judged at (the dispatcher's clock; for a send an earlier run decided,
    `_resume`, the instant of its outbox claim).
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
    stated: StatedFigures | None = None,
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
        stated=stated,
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
    record: Record,
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
    return _once(ports, action.action_id, lambda: topic.publish(body, attributes), _digest(body), record)


def _message(
    action: Action,
    borrower: Borrower,
    loan: Loan,
    at: datetime,
    pack: RulePack,
    ports: DispatchPorts,
    stated: StatedFigures,
) -> RenderedMessage:
    """The text or e-mail of `action` made at `at`: its figures (`stated`), the days to the due date
    and the opt-out link all as of that instant."""
    known = template_ids()
    if action.channel is Channel.EMAIL:
        template_id = action.template_id if action.template_id.startswith("email_") else "email_overdue"
    else:
        template_id = action.template_id if action.template_id in known else "sms_overdue"
    # Days to the due date at the instant the message is made, not at the last assessment.
    offset = due_offset(loan, business_date(at, pack))
    due_in = -offset if offset is not None and offset < 0 else 0
    wording = pack.opt_out_wording(action.channel)
    url = ""
    if needs_opt_out_url(wording):
        if ports.opt_out_link is None:
            raise ValueError(f"{pack.pack_id} words its opt-out line with a link and none can be made")
        url = ports.opt_out_link(action.borrower_id, action.channel, at)
    precondition = pack.bureau_precondition
    return render(
        template_id,
        borrower.language,
        loan_id=action.loan_id,
        dpd=stated.dpd,
        amount_minor=stated.amount_due_minor,
        currency=action.currency,
        due_in=due_in,
        notice_lines=precondition.lines_for(action.channel, template_id) if precondition else None,
        opt_out_lines=wording,
        opt_out_url=url,
    )


def _local_windows(windows: tuple[tuple[time, time], ...]) -> list[list[str]]:
    """`[["08:00", "10:00"], ["20:00", "24:00"]]`: local windows as a hand-off states them."""
    return [[f"{start:%H:%M}", "24:00" if end == END_OF_DAY else f"{end:%H:%M}"] for start, end in windows]


def call_task_message(
    action: Action,
    borrower: Borrower,
    at: datetime,
    pack: RulePack,
    token: str,
    allowance: Allowance,
    call_before: datetime,
    stated: StatedFigures,
) -> dict[str, Any]:
    """The call task handed to the dialer (`CallTask` in `arrears.events.dialer`, docs/contracts.md).

    The task id is the action's id; it states what remains allowed (attempts and connected calls
    left today, None = no such limit), when it expires, the borrower's contact window in local
    time, and the debt's figures as of `at` (`stated`). The dialer resolves the number from the
    Borrowers table by id (never in the queue) and reports every attempt as a `CallAttempted` event.
    """
    windows, _ = contact_windows(pack, borrower)
    start, end = window_at(at, borrower.timezone, windows)
    return {
        "type": "CALL_TASK",
        "task_id": action.action_id,
        "action_id": action.action_id,
        "loan_ids": [action.loan_id],
        "loan_id": action.loan_id,
        "borrower_id": action.borrower_id,
        "borrower_token": token,
        "jurisdiction": action.jurisdiction,
        "rule_pack": pack.ref,
        "language": borrower.language,
        "timezone": borrower.timezone,
        "call_window_local": _local_windows(((start, end),))[0],
        # The window closes earlier where the borrower's phone is: no attempt at or after this instant.
        "call_before": format_utc(call_before),
        "attempts_left_today": allowance.attempts_left_today,
        "connected_left_today": allowance.connected_left_today,
        "amount_due_minor": stated.amount_due_minor,
        "currency": action.currency,
        "dpd": stated.dpd,
        "bucket": stated.bucket,
        "script_template": action.template_id,
        "queued_at": format_utc(at),
        "expires_at": format_utc(allowance.expires_at),
        "deadline": format_utc(allowance.expires_at),
    }


def _send(
    ports: DispatchPorts,
    action: Action,
    borrower: Borrower,
    loan: Loan,
    at: datetime,
    pack: RulePack,
    record: Record,
    stated: StatedFigures,
    allowance: Allowance | None = None,
) -> str:
    """Perform the channel effect once; returns the SHA-256 of what was sent (never the body itself).
    `record` records a confirmed send at once (the outbox writes no completion of its own then);
    `stated` is what every channel states about the debt (DPD, bucket, amount due at `at`).

    Hand-off bodies carry only what their recipient needs (docs/contracts.md, "Hand-offs"): never a
    name, phone, e-mail or address, except the SMS/e-mail to the debtor themself. The borrower has
    the channel's contact point (`missing_contact_point` was judged before).
    """
    if action.channel is Channel.SMS:
        message = _message(action, borrower, loan, at, pack, ports, stated)
        return _once(
            ports,
            action.action_id,
            lambda: ports.sms.send(borrower.phone, message.body),
            message.sha256,
            record,
        )
    if action.channel is Channel.EMAIL:
        message = _message(action, borrower, loan, at, pack, ports, stated)
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
        return _once(
            ports,
            action.action_id,
            lambda: ports.reminders.publish(payload, attributes),
            message.sha256,
            record,
        )
    token = borrower_token(ports.token_secret(), action.borrower_id)
    if action.channel is Channel.FIELD_VISIT:
        task: dict[str, Any] = {
            "type": "FIELD_VISIT",
            "action_id": action.action_id,
            "loan_id": action.loan_id,
            "borrower_token": token,
            "jurisdiction": action.jurisdiction,
            "region": borrower.region,
            "amount_due_minor": stated.amount_due_minor,
            "currency": action.currency,
            "dpd": stated.dpd,
            "bucket": stated.bucket,
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
        # FIFO with the action id as deduplication id: a send whose answer was lost is made again.
        return _once(
            ports,
            action.action_id,
            lambda: _send_field_visit(ports, action, task),
            _digest(task),
            record,
            retry_safe=True,
            body=task,
        )
    if action.channel is Channel.CALL_TASK:
        if allowance is None:
            raise ValueError("call task sent without an open task")
        # The window closes earlier where the borrower's phone is (a 212 number at a California
        # address): the dialer calls before this instant, lawful in every zone checked.
        call_before = closes_everywhere(
            at, zone_windows_for(pack, borrower, ports.phone_zones(borrower.phone))
        )
        call = call_task_message(action, borrower, at, pack, token, allowance, call_before, stated)
        return _once(ports, action.action_id, lambda: ports.call_tasks.send(call), _digest(call), record)
    if action.channel is Channel.LEGAL:
        return _hand_off(
            ports,
            ports.legal,
            "LEGAL_REFERRAL",
            action,
            token,
            {"step": action.step_id, "referred_at": format_utc(at)},
            record,
        )
    if action.channel is Channel.BUREAU:
        return _hand_off(
            ports,
            ports.bureau,
            "BUREAU_REPORT",
            action,
            token,
            {
                "amount_due_minor": stated.amount_due_minor,
                "currency": action.currency,
                "dpd": stated.dpd,
                "bucket": stated.bucket,
                "as_of": format_utc(at),
            },
            record,
        )
    raise ValueError(f"channel {action.channel.value} is not dispatchable")


def _send_field_visit(ports: DispatchPorts, action: Action, task: Mapping[str, Any]) -> str:
    """Queue a field-visit task (FIFO: grouped by the borrower's region, deduplicated by the action id,
    so a resend of the same task within SQS's interval is dropped)."""
    return ports.field_visits.send(
        dict(task), group=str(task.get("region") or "unknown"), dedup_id=action.action_id
    )


def _window_end(at: datetime, tz_name: str, end: time) -> datetime:
    """The instant the local window that holds `at` closes (`END_OF_DAY` = the next local midnight)."""
    zone = ZoneInfo(tz_name)
    day = at.astimezone(zone).date()
    if end == END_OF_DAY:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class CallTaskOpening:
    """The call task `_open_call_task` opened (`allowance`), or why not and when to try again."""

    allowed: bool
    reason: str = ""
    resume: datetime | None = None
    rules_checked: RulesChecked = ()
    allowance: Allowance | None = None
    decided_by: str = ""  # the pack layer whose limit stopped it


def _open_call_task(
    ports: DispatchPorts,
    action: Action,
    borrower: Borrower,
    at: datetime,
    pack: RulePack,
    ledger: CallLedger | None = None,
) -> CallTaskOpening:
    """Open the borrower's one call task for `action`, atomically, if the limits allow a call now.

    A borrower has at most one open task (docs/contracts.md, "The dialer contract"): a call for
    another of their loans waits (DEFERRED) until that task expires. Any other channel passes.
    """
    if action.channel is not Channel.CALL_TASK:
        return CallTaskOpening(True)
    windows, _ = contact_windows(pack, borrower)
    _, end = window_at(at, borrower.timezone, windows)
    call_before = closes_everywhere(at, zone_windows_for(pack, borrower, ports.phone_zones(borrower.phone)))
    until = min(_window_end(at, borrower.timezone, end), call_before, at + CALL_TASK_LIFETIME)
    try:
        opening = ports.call_ledger.open_call_task(
            action.borrower_id,
            action.action_id,
            at,
            pack.call_limits,
            borrower.timezone,
            until,
            contact_limits=pack.contact_limits,
            loan_id=action.loan_id,
            read=ledger,
        )
    except LedgerContention as error:
        raise TransientSendError(str(error)) from None
    if opening.opened:
        return CallTaskOpening(
            True,
            rules_checked=(*opening.check.rules_checked, (ONE_CALL_TASK_RULE, PASS)),
            allowance=opening.allowance,
        )
    layer = ""
    if opening.busy_with is not None:
        retry_at = opening.busy_with.expires_at
        reason = "another call task is open for this borrower"
        rules: RulesChecked = ((ONE_CALL_TASK_RULE, FAIL),)
    else:
        retry_at = opening.check.retry_at or at + timedelta(days=1)
        reason = opening.check.reason
        rules = opening.check.rules_checked
        layer = pack.decided_by(opening.check.rule)
    resume = next_window_instant(retry_at, borrower.timezone, windows) or retry_at
    return CallTaskOpening(False, reason, resume, rules, decided_by=layer)


def _counted(action: Action, pack: RulePack) -> bool:
    """Whether the contact ledger counts this contact (a call under call caps, or a channel some
    frequency limit of the composed pack names)."""
    return action.channel.value in counted_channels(pack.call_limits, pack.contact_limits)


Slot = tuple[bool, str, datetime | None, RulesChecked, str]
"""A contact slot taken or refused: (allowed, reason, resume at, rules checked, deciding layer)."""


def _reserve_contact(
    ports: DispatchPorts, action: Action, borrower: Borrower, at: datetime, pack: RulePack
) -> Slot:
    """Take a contact slot atomically (call caps for a call task, and every frequency limit of the
    composed pack naming the channel). A call task is not counted here: it opens the borrower's call
    task (`_open_call_task`) and its attempts count when the dialer reports them."""
    if action.channel is Channel.CALL_TASK or not _counted(action, pack):
        return True, "", None, (), ""
    return _take_slot(ports, borrower, at, pack, action.action_id, action.channel, action.loan_id)


def _notice_first(
    ports: DispatchPorts,
    action: Action,
    borrower: Borrower,
    loan: Loan,
    at: datetime,
    pack: RulePack,
    decision: SendDecision,
) -> DispatchResult:
    """A step held for the validation period (a legal referral) on a debt no notice was ever sent
    for (`SendDecision.notice_first`): the consumer never had the notice nor a period to dispute in
    (12 CFR 1006.34(a)(1); 1006.38(b)). The notice goes now, by post (`notice_delivery`), and the
    step waits until the business day after its period. Delivered again while it waits, the step
    that sent it rewrites the notice's record (`ensure_validation_notice`) and waits again."""
    allowed, reason, resume, rules, layer = _reserve_notice(
        ports, action, borrower, loan, at, pack, ahead=True
    )
    if not allowed:  # a limit that counts the notice's channel has no room: both wait
        decision = replace(decision, rules_checked=decision.rules_checked + rules, decided_by=layer)
        return _defer(ports, action, at, borrower.timezone, pack, decision, reason, resume)
    try:
        stored = _validation_notice(ports, action, borrower, loan, at, pack, rules, ahead=True)
    except ValueError as error:
        return _failed(ports, action, borrower, at, pack, decision, str(error))
    except (ClientError, BotoCoreError) as error:
        raise TransientSendError(
            f"validation notice not sent, retry later ({type(error).__name__})"
        ) from None
    ends = stored.validation_period_ends if stored is not None else None
    not_before = decision.not_before or (after_validation_period(ends, pack, at) if ends else None)
    return _defer(ports, action, at, borrower.timezone, pack, decision, decision.reason, not_before)


def _reserve_notice(
    ports: DispatchPorts,
    action: Action,
    borrower: Borrower,
    loan: Loan,
    at: datetime,
    pack: RulePack,
    *,
    ahead: bool = False,
) -> Slot:
    """The validation notice `action` carries is a communication too: under a frequency limit of the
    composed pack naming its channel (Washington's weekly limit counts e-mails, RCW 19.16.250) it
    takes a slot of its own, once per loan (`notice_key`); refused, the reason says so."""
    channel = notice_channel(action, borrower, loan, pack, ahead=ahead)
    limits = tuple(limit.rule for limit in pack.contact_limits if channel and channel.value in limit.channels)
    if channel is None or not limits:
        return True, "", None, (), ""
    allowed, reason, resume, rules, layer = _take_slot(
        ports, borrower, at, pack, notice_key(loan.loan_id), channel, loan.loan_id
    )
    if allowed:  # named by the limits that counted it (a retry finding its slot held checks none)
        return True, "", None, tuple((rule, PASS) for rule in limits), ""
    return False, f"{NOTICE_WAITS}{reason}", resume, rules, layer


def _take_slot(
    ports: DispatchPorts,
    borrower: Borrower,
    at: datetime,
    pack: RulePack,
    attempt_id: str,
    channel: Channel,
    loan_id: str,
) -> Slot:
    """One slot on `channel` for `attempt_id` in the borrower's contact ledger (idempotent per id);
    refused, the resume instant is the limit's next room inside a contact window."""
    try:
        check = ports.call_ledger.reserve_call(
            borrower.borrower_id,
            attempt_id,
            at,
            pack.call_limits,
            borrower.timezone,
            contact_limits=pack.contact_limits,
            channel=channel.value,
            loan_id=loan_id,
        )
    except LedgerContention as error:
        raise TransientSendError(str(error)) from None
    if check.allowed:
        return True, "", None, check.rules_checked, ""
    retry_at = check.retry_at or at + timedelta(days=1)
    windows, _ = contact_windows(pack, borrower)
    resume = next_window_instant(retry_at, borrower.timezone, windows) or retry_at
    return False, check.reason, resume, check.rules_checked, pack.decided_by(check.rule)


def dispatch(
    action_id: str,
    ports: DispatchPorts,
    *,
    loan_id: str | None = None,
    borrower_id: str | None = None,
    channel: str | None = None,
) -> DispatchResult:
    """Judge, send and record one planned action at the instant `ports.clock` tells.

    The contact is judged (hours, holds, caps, the rule-pack version in force) and recorded at the
    moment it is really made, not at the time of the record or schedule that triggered this run: a
    stream record retried hours later, or replayed by an operator, is judged at its retry.
    `loan_id` and `borrower_id` (the action's, from its stream record) let one request read the
    action, the loan and the borrower (`GateReads`); the state itself is always read afresh. With
    `channel` `CALL_TASK`, the same request reads the borrower's call ledger the task opens on.
    """
    at = ports.clock.now()
    with_ledger = channel == Channel.CALL_TASK.value
    state = _follow_erasure(
        ports, ports.gate_reads.read(action_id, loan_id, borrower_id, with_ledger=with_ledger)
    )
    result = _dispatch(action_id, at, ports, state)
    return result if result.at is not None else replace(result, at=at)


def _follow_erasure(ports: DispatchPorts, state: GateState) -> GateState:
    """The state to judge: `state`, unless the action carries a borrower id its loan no longer does
    because the borrower was erased since (`arrears.usecases.erasure`: the loan now carries their
    pseudonym). Such an action was planned from a loan image older than the erasure (a stream batch
    retried or redriven after it); left as it is, it would be judged "borrower not found" and its
    record would bring the erased id back into the Actions and Contacts tables. The loan's actions
    under that id follow the loan to the pseudonym, as the erasure moves them, and the state is read
    again under it (the tombstone: opted out of every channel that reaches the person)."""
    action, loan = state.action, state.loan
    if action is None or loan is None or action.borrower_id == loan.borrower_id:
        return state
    if not is_pseudonym(loan.borrower_id):
        return state
    ports.actions.pseudonymise_borrower(action.loan_id, action.borrower_id, loan.borrower_id)
    return ports.gate_reads.read(
        action.action_id, loan.loan_id, loan.borrower_id, with_ledger=state.ledger is not None
    )


class _NotRecorded(Exception):
    """The SENT transition after a confirmed send raised (its error is the cause): not a send error."""


def _dispatch(action_id: str, at: datetime, ports: DispatchPorts, state: GateState) -> DispatchResult:
    action = state.action
    if action is None:
        return DispatchResult(action_id, None, "", "action not found")
    # A redelivery (or the next release run, for a `record_pending` action) finishes what an
    # interrupted run began: the last outcome's contact record.
    complete_record(ports.actions, ports.contacts, action)
    if action.status not in OPEN_ACTION_STATUSES:
        return DispatchResult(action_id, None, action.channel.value, f"already {action.status.value}")
    decided = _decided(state.claim)
    if decided is not None:
        # An earlier run judged this contact and handed it to the outbox: finish that decision, at
        # its instant, whatever the gate would say now (the send may have been made).
        return _resume(ports, action, decided, state.claim)
    if action.status is ActionStatus.DEFERRED and action.not_before > at:
        return DispatchResult(action_id, None, action.channel.value, "deferred until later")
    loan, borrower = state.loan, state.borrower
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
        template_id=action.template_id,
    )
    if decision.verdict is Verdict.DEFER:
        if decision.notice_first or (
            loan.validation_notice_action == action.action_id
            and (VALIDATION_PERIOD_RULE, FAIL) in decision.rules_checked
        ):
            return _notice_first(ports, action, borrower, loan, at, pack, decision)
        return _defer(
            ports, action, at, borrower.timezone, pack, decision, decision.reason, decision.not_before
        )
    if decision.verdict in (Verdict.SUPPRESS, Verdict.CANCEL):
        status = ActionStatus.SUPPRESSED if decision.verdict is Verdict.SUPPRESS else ActionStatus.CANCELLED
        if not _settle(ports, action, status, at, borrower.timezone, pack, decision, decision.reason):
            return DispatchResult(action_id, None, action.channel.value, "settled by another run")
        return DispatchResult(action_id, status, action.channel.value, decision.reason)

    if action.channel in CONTACT_POINTS:
        # No phone or e-mail on file: the step is skipped (SUPPRESSED), not sent to fail (the
        # send-failure alarm counts the channel's refusals, not gaps in the lending core's data).
        missing = missing_contact_point(action.channel, borrower)
        decision = replace(
            decision, rules_checked=(*decision.rules_checked, (CONTACT_POINT_RULE, FAIL if missing else PASS))
        )
        if missing:
            if not _settle(
                ports, action, ActionStatus.SUPPRESSED, at, borrower.timezone, pack, decision, missing
            ):
                return DispatchResult(action_id, None, action.channel.value, "settled by another run")
            return DispatchResult(action_id, ActionStatus.SUPPRESSED, action.channel.value, missing)

    if action.channel is Channel.BUREAU and pack.bureau_precondition is not None:
        history = Communication.of(ports.actions.for_loan(loan.loan_id))
        told = bureau_check(pack.bureau_precondition, history, at)
        checked = (*decision.rules_checked, (BUREAU_PRECONDITION_RULE, PASS if told.allowed else FAIL))
        decision = replace(decision, rules_checked=checked)
        if not told.allowed:
            # The base pack sets the precondition (no overlay changes it).
            decision = replace(decision, decided_by=pack.decided_by(BUREAU_PRECONDITION_RULE))
            return _defer(ports, action, at, borrower.timezone, pack, decision, told.reason, told.not_before)

    allowed, cap_reason, resume, cap_rules, cap_layer = _reserve_contact(ports, action, borrower, at, pack)
    opening = _open_call_task(ports, action, borrower, at, pack, state.ledger)
    decision = replace(
        decision,
        rules_checked=decision.rules_checked + cap_rules + opening.rules_checked,
        decided_by=cap_layer or opening.decided_by,
    )
    if not allowed:
        return _defer(ports, action, at, borrower.timezone, pack, decision, cap_reason, resume)
    if not opening.allowed:
        return _defer(ports, action, at, borrower.timezone, pack, decision, opening.reason, opening.resume)
    notice_allowed, notice_reason, notice_resume, notice_rules, notice_layer = _reserve_notice(
        ports, action, borrower, loan, at, pack
    )
    if not notice_allowed:
        _give_back(ports, action, at, pack)  # the communication waits with its notice
        decision = replace(
            decision, rules_checked=decision.rules_checked + notice_rules, decided_by=notice_layer
        )
        return _defer(ports, action, at, borrower.timezone, pack, decision, notice_reason, notice_resume)

    # What the contact states about the debt, as of now (not the day it was planned): its message,
    # its task or hand-off, and its record all carry these figures.
    stated = figures_at(loan, loan_business_date(loan, at, pack))
    settled: list[bool] = []

    def record_sent(digest: str, reason: str = "") -> bool:
        settled.append(
            _settle(
                ports,
                action,
                ActionStatus.SENT,
                at,
                borrower.timezone,
                pack,
                decision,
                reason,
                digest,
                stated=stated,
            )
        )
        return settled[-1]

    def record_confirmed(digest: str) -> bool:
        try:
            return record_sent(digest)
        except Exception as error:
            raise _NotRecorded from error

    def sent_outcome(digest: str) -> ActionOutcome:
        return ActionOutcome(
            ActionStatus.SENT,
            occurred_at=at,
            borrower_timezone=borrower.timezone,
            rule_pack=pack.ref,
            message_sha256=digest,
            rules_checked=decision.rules_checked,
            decided_by=decision.decided_by,
            zones_checked=decision.zones_checked,
            stated=stated,
        )

    try:
        _validation_notice(ports, action, borrower, loan, at, pack, notice_rules)
        record = Record(record_confirmed, sent_outcome, ports.actions.unchanged(action))
        digest = _send(ports, action, borrower, loan, at, pack, record, stated, opening.allowance)
    except ClaimRefused:
        # Settled by another run (the planner's cancellation on a cure) after our read: nothing was
        # claimed or sent; the contact slot or call task taken for it is given back.
        _give_back(ports, action, at, pack)
        return DispatchResult(action_id, None, action.channel.value, "settled by another run")
    except _NotRecorded as failed:
        # Sent, and the outbox completed its claim: the next run replays the send and records it.
        raise failed.__cause__ or failed from None
    except UnconfirmedSend as unconfirmed:
        # Made or not, it will not be made again: recorded as a contact (it counts for the caps),
        # with why it is unconfirmed (docs/reliability.md, "the window that remains").
        digest = unconfirmed.digest
        record_sent(digest, str(unconfirmed))
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
    if not settled:
        # A send made by an earlier run (the outbox replayed its message id): recorded now.
        record_sent(digest)
    if not settled[-1]:
        # Another run settled it between our read and our write; the send itself ran once.
        return DispatchResult(action_id, None, action.channel.value, "settled by another run")
    return DispatchResult(action_id, ActionStatus.SENT, action.channel.value)


def _decided(claim: SendClaim | None) -> ActionOutcome | None:
    """The SENT outcome an earlier run decided and stored with its outbox claim (None: no claim, or
    one that carries no decision: a claim written before claims carried one)."""
    if claim is None or not claim.decision:
        return None
    try:
        outcome = outcome_from_item(claim.decision.get("outcome"))
    except (KeyError, TypeError, ValueError):
        return None
    return outcome if outcome is not None and outcome.status is ActionStatus.SENT else None


class _Undecided(RuntimeError):
    """The claim was given back (nothing sent) between the read and the outbox: judge again."""


def _resume(
    ports: DispatchPorts, action: Action, decided: ActionOutcome, claim: SendClaim | None
) -> DispatchResult:
    """Finish a send an earlier run decided (its outbox claim): record it SENT with the claim's
    outcome (its instant, digest, rule pack and rules checked), never judged again.

    The outbox answers as for any repeat: the first send's message id (confirmed), `SendUnconfirmed`
    (its holder died or its answer was lost: recorded SENT "unconfirmed", never sent again),
    `SendInProgress` while the holder may still be sending (transient: retried). A deduplicated task
    whose holder died within SQS's interval is resent from the claim's own body. Raises
    `TransientSendError` when the claim was given back meanwhile (the retry judges it afresh).
    """
    body = claim.decision.get("body") if claim is not None and claim.decision else None
    retry_safe = action.channel is Channel.FIELD_VISIT and isinstance(body, Mapping)

    def effect() -> str:
        if retry_safe and isinstance(body, Mapping):
            return _send_field_visit(ports, action, body)
        raise _Undecided(f"{action.action_id}: the send's claim was given back; judged again on retry")

    settled: list[bool] = []

    def record(reason: str = "") -> bool:
        settled.append(
            settle(
                ports.actions,
                ports.contacts,
                action,
                ActionStatus.SENT,
                at=decided.occurred_at,
                borrower_timezone=decided.borrower_timezone,
                rule_pack=decided.rule_pack,
                reason=reason,
                message_sha256=decided.message_sha256,
                rules_checked=decided.rules_checked,
                decided_by=decided.decided_by,
                zones_checked=decided.zones_checked,
                stated=decided.stated,
            )
        )
        return settled[-1]

    try:
        ports.once(
            action.action_id,
            effect,
            retry_safe=retry_safe,
            recorded=record,
            decision=claim.decision if claim is not None else None,
        )
    except SendUnconfirmed as unconfirmed:
        record(str(UnconfirmedSend(unconfirmed.code, decided.message_sha256)))
    except SendInProgress as busy:
        raise TransientSendError(str(busy)) from None
    except _Undecided as undecided:
        raise TransientSendError(str(undecided)) from None
    if not settled:
        record()  # the first run's confirmed send (its message id replayed): recorded now
    if not settled[-1]:
        return DispatchResult(action.action_id, None, action.channel.value, "settled by another run")
    # Judged at the claim's instant, not this run's.
    return DispatchResult(action.action_id, ActionStatus.SENT, action.channel.value, at=decided.occurred_at)


def _validation_notice(
    ports: DispatchPorts,
    action: Action,
    borrower: Borrower,
    loan: Loan,
    at: datetime,
    pack: RulePack,
    counted: RulesChecked = (),
    *,
    ahead: bool = False,
) -> Loan | None:
    """The Reg F validation notice, sent once with the loan's first communication or ahead of a
    step held for its period (`arrears.usecases.validation_notice`; `counted`: the limits its own
    slot passed); the loan with its notice (None: `action` needs none). Another run holding its
    send is a transient error."""
    try:
        return ensure_validation_notice(
            action,
            borrower,
            loan,
            at,
            pack,
            loans=ports.loans,
            contacts=ports.contacts,
            reminders=ports.reminders,
            once=ports.once,
            opt_out_link=ports.opt_out_link,
            counted=counted,
            ahead=ahead,
        )
    except SendInProgress as busy:
        raise TransientSendError(str(busy)) from None


def _failed(
    ports: DispatchPorts,
    action: Action,
    borrower: Borrower,
    at: datetime,
    pack: RulePack,
    decision: SendDecision,
    reason: str,
) -> DispatchResult:
    """A permanent failure: close the call task that was never queued, give back any reserved
    contact slot, record FAILED with the error class."""
    _give_back(ports, action, at, pack)
    _settle(ports, action, ActionStatus.FAILED, at, borrower.timezone, pack, decision, reason)
    return DispatchResult(
        action_id=action.action_id, status=ActionStatus.FAILED, channel=action.channel.value, reason=reason
    )


def _give_back(ports: DispatchPorts, action: Action, at: datetime, pack: RulePack) -> None:
    """Nothing was sent: close the call task opened for it, or give back its reserved contact slot."""
    if action.channel is Channel.CALL_TASK:
        ports.call_ledger.close_call_task(action.borrower_id, action.action_id, at)
    elif _counted(action, pack):
        ports.call_ledger.release_call(action.borrower_id, action.action_id, at)
