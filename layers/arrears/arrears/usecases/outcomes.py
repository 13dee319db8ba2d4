"""Settling an action: one conditional status change, then its contact record, exactly once.

The status change carries the outcome's facts (time, zone, rules, reason, message hash). The
contact record is rebuilt from them with an id fixed by (action id, version), so writing it is
idempotent, and a run that died between the two writes is completed by the next delivery of the
same action (`ensure_recorded`). No outcome is lost and none is recorded twice.
"""

from __future__ import annotations

from datetime import datetime

from arrears.adapters.dynamodb import ActionRepository, ContactRepository
from arrears.domain.actions import Action, ActionOutcome, ActionStatus, last_contact
from arrears.domain.verdicts import RulesChecked


def ensure_recorded(contacts: ContactRepository, action: Action) -> bool:
    """Write the contact record of `action`'s last outcome if it is not there yet."""
    contact = last_contact(action)
    if contact is None:
        return False
    return contacts.record(contact)


def settle(
    actions: ActionRepository,
    contacts: ContactRepository,
    action: Action,
    to: ActionStatus,
    *,
    at: datetime,
    borrower_timezone: str,
    rule_pack: str,
    reason: str = "",
    message_sha256: str = "",
    rules_checked: RulesChecked = (),
    not_before: datetime | None = None,
) -> bool:
    """Move `action` to `to` and record the contact; False when another run settled it first."""
    outcome = ActionOutcome(
        to,
        occurred_at=at,
        borrower_timezone=borrower_timezone,
        rule_pack=rule_pack,
        reason=reason,
        message_sha256=message_sha256,
        rules_checked=rules_checked,
    )
    stored = actions.transition(action, to, reason=reason, not_before=not_before, outcome=outcome)
    if stored is None:
        return False
    ensure_recorded(contacts, stored)
    return True
