"""Planned contacts (actions) and the record of every attempt (contacts)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from arrears.domain.calendar import format_utc, parse_utc
from arrears.domain.strategy import Channel


class ActionStatus(StrEnum):
    PENDING = "PENDING"
    DEFERRED = "DEFERRED"
    SENT = "SENT"
    SUPPRESSED = "SUPPRESSED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


OPEN_ACTION_STATUSES = frozenset({ActionStatus.PENDING, ActionStatus.DEFERRED})


class ContactStatus(StrEnum):
    SENT = "SENT"
    DEFERRED = "DEFERRED"
    SUPPRESSED = "SUPPRESSED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"


def action_id_for(loan_id: str, step_id: str, cycle: int) -> str:
    """Deterministic id: the same loan, step and cycle always plan the same action."""
    return hashlib.sha256(f"{loan_id}|{step_id}|{cycle}".encode()).hexdigest()[:32]


# How long a call task handed to the dialer stays valid (its `deadline`); a withdrawal is sent only
# for calls handed off less than this long ago.
CALL_TASK_LIFETIME = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Action:
    action_id: str
    loan_id: str
    borrower_id: str
    jurisdiction: str
    channel: Channel
    step_id: str
    template_id: str
    cycle: int
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
    last_outcome: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """One attempt and its outcome. Holds ids, never names, phones, e-mails or message bodies."""

    contact_id: str
    action_id: str
    loan_id: str
    borrower_id: str
    channel: Channel
    step: str
    status: ContactStatus
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
    rules_checked: tuple[tuple[str, str], ...]

    @property
    def contact_key(self) -> str:
        return f"{format_utc(self.occurred_at)}#{self.contact_id}"


def contact_for(
    action: Action,
    *,
    status: ContactStatus,
    occurred_at: datetime,
    borrower_timezone: str,
    rule_pack: str,
    reason: str = "",
    message_sha256: str = "",
    rules_checked: tuple[tuple[str, str], ...] = (),
) -> ContactRecord:
    """The contact record of the outcome that moved `action` to its current `version`.

    Each status change bumps the action's version exactly once (a conditional write), so
    (action id, version) names one outcome and the record's id is stable across retries.
    """
    contact_id = hashlib.sha256(f"{action.action_id}|{action.version}|{status.value}".encode()).hexdigest()[
        :32
    ]
    local = occurred_at.astimezone(ZoneInfo(borrower_timezone)).replace(microsecond=0).isoformat()
    return ContactRecord(
        contact_id=contact_id,
        action_id=action.action_id,
        loan_id=action.loan_id,
        borrower_id=action.borrower_id,
        channel=action.channel,
        step=action.step_id,
        status=status,
        occurred_at=occurred_at,
        borrower_timezone=borrower_timezone,
        borrower_local_time=local,
        jurisdiction=action.jurisdiction,
        rule_pack=rule_pack,
        strategy=f"{action.strategy_id}@{action.strategy_version}#{action.strategy_arm}",
        dpd=action.dpd,
        bucket=action.bucket,
        amount_due_minor=action.amount_due_minor,
        currency=action.currency,
        reason=reason,
        template_id=action.template_id,
        message_sha256=message_sha256,
        rules_checked=rules_checked,
    )


def outcome_of(
    status: ContactStatus,
    *,
    occurred_at: datetime,
    borrower_timezone: str,
    rule_pack: str,
    reason: str = "",
    message_sha256: str = "",
    rules_checked: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """What an action stores of the outcome that settled it: enough to rebuild its contact record."""
    return {
        "status": status.value,
        "occurred_at": format_utc(occurred_at),
        "borrower_timezone": borrower_timezone,
        "rule_pack": rule_pack,
        "reason": reason,
        "message_sha256": message_sha256,
        "rules_checked": [[rule, verdict] for rule, verdict in rules_checked],
    }


def contact_from_outcome(action: Action) -> ContactRecord | None:
    """The contact record of `action`'s last outcome (None when it has none yet)."""
    outcome = action.last_outcome
    if not outcome:
        return None
    return contact_for(
        action,
        status=ContactStatus(outcome["status"]),
        occurred_at=parse_utc(str(outcome["occurred_at"])),
        borrower_timezone=str(outcome["borrower_timezone"]),
        rule_pack=str(outcome["rule_pack"]),
        reason=str(outcome.get("reason", "")),
        message_sha256=str(outcome.get("message_sha256", "")),
        rules_checked=tuple((str(r), str(v)) for r, v in outcome.get("rules_checked", [])),
    )
