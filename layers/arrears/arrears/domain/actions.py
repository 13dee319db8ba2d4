"""Planned contacts (actions), the outcome that settles each, and the record of every attempt (contacts).

One lifecycle (`ActionStatus`) for an action and for the contact records of its outcomes: an
action is planned PENDING (or DEFERRED, or SUPPRESSED with its contact record), and the dispatcher
moves it on once per outcome. The stored and archived values are the enum's values
(docs/contracts.md, the Actions table and the archive record's `status`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from arrears.domain.calendar import format_utc, parse_utc
from arrears.domain.delinquency import loan_dpd
from arrears.domain.loans import Loan
from arrears.domain.money import amount_due
from arrears.domain.strategy import Channel
from arrears.domain.verdicts import RulesChecked


class ActionStatus(StrEnum):
    """Where an action stands, and the status of the contact record of each outcome.

    PENDING: planned, not yet judged at send time (never on a contact record).
    DEFERRED: held until `not_before` (a pause, the contact window, a call limit).
    SENT: handed to its channel. SUPPRESSED: a rule forbade it. CANCELLED: what it was planned
    for is gone. FAILED: the channel refused it for good.
    """

    PENDING = "PENDING"
    DEFERRED = "DEFERRED"
    SENT = "SENT"
    SUPPRESSED = "SUPPRESSED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


OPEN_ACTION_STATUSES = frozenset({ActionStatus.PENDING, ActionStatus.DEFERRED})


def action_id_for(loan_id: str, step_id: str, collection_instalment: int) -> str:
    """Deterministic id: the same loan, step and instalment in collection always plan the same action.

    32 hex digits of SHA-256 of `<loan_id>|<step_id>|<collection_instalment>`; ids are stored, so
    the form never changes.
    """
    return hashlib.sha256(f"{loan_id}|{step_id}|{collection_instalment}".encode()).hexdigest()[:32]


# How long a call task handed to the dialer stays valid (its `deadline`); a withdrawal is sent only
# for calls handed off less than this long ago.
CALL_TASK_LIFETIME = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class StatedFigures:
    """What a contact states about the debt: `dpd` (days), `bucket` (`M1`...) and `amount_due_minor`
    (minor units of the action's currency), as of the instant the contact is made."""

    dpd: int
    bucket: str
    amount_due_minor: int


def figures_at(loan: Loan, on: date) -> StatedFigures:
    """The figures a contact made on the business date `on` states: the loan's DPD and what brings
    it current (`arrears.domain.money.amount_due`) that day, never the figures of the day the
    action was planned (a text deferred three days, or sent after a partial payment, states today's).

    The bucket is the one of the loan's last assessment: every bucket boundary is a milestone
    (`CollectionPlaybook.milestones_for`), so the sweep re-buckets the loan the day it crosses one
    (and a payment re-assesses it); the DPD is counted afresh, as a contact may be made days after
    the milestone that planned it.
    """
    return StatedFigures(dpd=loan_dpd(loan, on), bucket=loan.bucket, amount_due_minor=amount_due(loan, on))


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What an action stores of the outcome that settled it (`last_outcome`): enough to rebuild
    its contact record. `occurred_at` is an aware UTC instant; `rule_pack` the pack's `ref`."""

    status: ActionStatus
    occurred_at: datetime
    borrower_timezone: str
    rule_pack: str
    reason: str = ""
    message_sha256: str = ""
    rules_checked: RulesChecked = ()
    # The pack layer whose rule decided (`US-MA@2026.1`, `borrower` for preferred hours, "" if none)
    # and the zones the contact hours were checked in (address zone first, then the phones' zones).
    decided_by: str = ""
    zones_checked: tuple[str, ...] = ()
    # A SENT outcome: what the contact stated at its instant (None: an outcome that stated nothing,
    # or one stored before outcomes carried it; its record then shows the action's planned figures).
    stated: StatedFigures | None = None

    def __post_init__(self) -> None:
        # As stored: UTC, whole seconds (`format_utc`), so a record rebuilt from the item is equal.
        object.__setattr__(self, "occurred_at", parse_utc(format_utc(self.occurred_at)))


@dataclass(frozen=True, slots=True)
class Action:
    """A planned contact: one strategy step of one loan for one instalment in collection.

    Money in minor units of `currency`; `receipt` is the planner's decision receipt (stored as is).
    """

    action_id: str
    loan_id: str
    borrower_id: str
    jurisdiction: str
    channel: Channel
    step_id: str
    template_id: str
    collection_instalment: int  # the instalment the action was planned for (stored as `cycle`)
    status: ActionStatus
    planned_at: datetime
    not_before: datetime
    strategy_id: str
    strategy_version: str
    strategy_arm: str
    dpd: int
    bucket: str
    amount_due_minor: int
    currency: str
    receipt: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    version: int = 0
    last_outcome: ActionOutcome | None = None
    # Left DEFERRED and its last outcome's contact record may not be written yet: the action stays in
    # the deferred index until it is, so the next release completes it (nothing else would redeliver).
    record_pending: bool = False

    @property
    def planned_figures(self) -> StatedFigures:
        """The DPD, bucket and amount due on the day the action was planned (its decision receipt's)."""
        return StatedFigures(dpd=self.dpd, bucket=self.bucket, amount_due_minor=self.amount_due_minor)

    @property
    def stated_figures(self) -> StatedFigures:
        """What the action's send stated (its SENT outcome's figures), else its planned figures: what a
        call attempt or a visit reported after the send is recorded with."""
        stated = self.last_outcome.stated if self.last_outcome is not None else None
        return stated or self.planned_figures


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """One attempt and its outcome. Holds ids, never names, phones, e-mails or message bodies."""

    contact_id: str
    action_id: str
    loan_id: str
    borrower_id: str
    channel: Channel
    step: str
    status: ActionStatus
    occurred_at: datetime
    borrower_timezone: str
    borrower_local_time: str
    jurisdiction: str
    rule_pack: str
    strategy: str
    dpd: int
    bucket: str
    amount_due_minor: int
    currency: str
    reason: str
    template_id: str
    message_sha256: str
    rules_checked: RulesChecked
    decided_by: str = ""
    zones_checked: tuple[str, ...] = ()
    # A dialer's attempt or a field visit (docs/contracts.md, "The dialer contract"); else empty.
    task_id: str = ""
    attempt: int = 0  # the attempt's number on its call task (0 = not an attempt, or not numbered)
    result: str = ""  # `CallResult` of an attempt, `VisitOutcome` of a visit
    conversation: bool = False
    collector_ids: tuple[str, ...] = ()
    recording_ref: str = ""

    @property
    def contact_key(self) -> str:
        return f"{format_utc(self.occurred_at)}#{self.contact_id}"


def contact_for(action: Action, outcome: ActionOutcome) -> ContactRecord:
    """The contact record of `outcome`, the outcome that moved `action` to its current `version`.

    Each status change bumps the action's version exactly once (a conditional write), so
    (action id, version) names one outcome and the record's id is stable across retries.
    """
    contact_id = hashlib.sha256(
        f"{action.action_id}|{action.version}|{outcome.status.value}".encode()
    ).hexdigest()[:32]
    zone = ZoneInfo(outcome.borrower_timezone)
    local = outcome.occurred_at.astimezone(zone).replace(microsecond=0).isoformat()
    figures = outcome.stated or action.planned_figures
    return ContactRecord(
        contact_id=contact_id,
        action_id=action.action_id,
        loan_id=action.loan_id,
        borrower_id=action.borrower_id,
        channel=action.channel,
        step=action.step_id,
        status=outcome.status,
        occurred_at=outcome.occurred_at,
        borrower_timezone=outcome.borrower_timezone,
        borrower_local_time=local,
        jurisdiction=action.jurisdiction,
        rule_pack=outcome.rule_pack,
        strategy=f"{action.strategy_id}@{action.strategy_version}#{action.strategy_arm}",
        dpd=figures.dpd,
        bucket=figures.bucket,
        amount_due_minor=figures.amount_due_minor,
        currency=action.currency,
        reason=outcome.reason,
        template_id=action.template_id,
        message_sha256=outcome.message_sha256,
        rules_checked=outcome.rules_checked,
        decided_by=outcome.decided_by,
        zones_checked=outcome.zones_checked,
    )


def reported_contact(
    action: Action,
    *,
    report: str,
    channel: Channel,
    at: datetime,
    timezone: str,
    rule_pack: str,
    reason: str,
    rules_checked: RulesChecked,
    **fields: Any,
) -> ContactRecord:
    """The contact record of something reported after `action` was sent (a call attempt, a field
    visit): status SENT at `at`, its id fixed by `report` (e.g. "call-attempt|<call id>") so a retried
    report writes it once; `fields` are the report's own (`task_id`, `attempt`, `result`...)."""
    contact_id = hashlib.sha256(report.encode()).hexdigest()[:32]
    local = at.astimezone(ZoneInfo(timezone)).replace(microsecond=0).isoformat()
    figures = action.stated_figures
    return ContactRecord(
        contact_id=contact_id,
        action_id=action.action_id,
        loan_id=action.loan_id,
        borrower_id=action.borrower_id,
        channel=channel,
        step=action.step_id,
        status=ActionStatus.SENT,
        occurred_at=at,
        borrower_timezone=timezone,
        borrower_local_time=local,
        jurisdiction=action.jurisdiction,
        rule_pack=rule_pack,
        strategy=f"{action.strategy_id}@{action.strategy_version}#{action.strategy_arm}",
        dpd=figures.dpd,
        bucket=figures.bucket,
        amount_due_minor=figures.amount_due_minor,
        currency=action.currency,
        reason=reason,
        template_id=action.template_id,
        message_sha256="",
        rules_checked=rules_checked,
        **fields,
    )


def last_contact(action: Action) -> ContactRecord | None:
    """The contact record of `action`'s last outcome (None when it has none yet)."""
    if action.last_outcome is None:
        return None
    return contact_for(action, action.last_outcome)
