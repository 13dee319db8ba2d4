"""Settling an action: one conditional status change, then its contact record, exactly once.

The status change carries the outcome's facts (time, zone, rules, reason, message hash). The
contact record is rebuilt from them with an id fixed by (action id, version), so writing it is
idempotent, and a run that died between the two writes is completed by the next delivery of the
same action (`ensure_recorded`). No outcome is lost and none is recorded twice.

An action released from DEFERRED by the 15-minute schedule has no next delivery of its own: its
status change keeps it in the deferred index with `record_pending` until its record is written
(`complete_record`), so the next release run finds it and completes the record.

Each of these writes is idempotent (the transition recognises its own change applied by an attempt
whose answer was lost; the record's id is fixed; dropping the marker twice is dropping it once), so
each is retried alone on a transient error (`arrears.adapters.retrying.retry_transient`): a settle
that met one fault no longer fails its whole record, to be judged again at its redelivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from arrears.adapters.dynamodb import ActionRepository, ContactRepository
from arrears.adapters.retrying import retry_transient
from arrears.domain.actions import Action, ActionOutcome, ActionStatus, StatedFigures, last_contact
from arrears.domain.verdicts import RulesChecked


def ensure_recorded(contacts: ContactRepository, action: Action) -> bool:
    """Write the contact record of `action`'s last outcome if it is not there yet."""
    contact = last_contact(action)
    if contact is None:
        return False
    return contacts.record(contact)


def complete_record(actions: ActionRepository, contacts: ContactRepository, action: Action) -> None:
    """Write the contact record of `action`'s last outcome, then drop its `record_pending` marker.

    The marker (an action released from DEFERRED keeps it, in the deferred index, until its record
    exists) goes only after the record is written: a run that dies in between leaves it for the next
    release run, which calls this again; the record's fixed id keeps it to one record.
    """
    retry_transient(partial(ensure_recorded, contacts, action))
    if action.record_pending:
        retry_transient(partial(actions.record_written, action))


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
    decided_by: str = "",
    zones_checked: tuple[str, ...] = (),
    unless: Mapping[str, Any] | None = None,
    stated: StatedFigures | None = None,
) -> bool:
    """Move `action` to `to` and record the contact; False when another run settled it first, or
    when `unless` (a condition on another item, written in one transaction with the transition: the
    send outbox's `SendOutbox.unclaimed`) failed. `stated`: what a send stated (its record's DPD,
    bucket and amount; None: the action's planned figures)."""
    outcome = ActionOutcome(
        to,
        occurred_at=at,
        borrower_timezone=borrower_timezone,
        rule_pack=rule_pack,
        reason=reason,
        message_sha256=message_sha256,
        rules_checked=rules_checked,
        decided_by=decided_by,
        zones_checked=zones_checked,
        stated=stated,
    )
    stored = retry_transient(
        partial(
            actions.transition,
            action,
            to,
            reason=reason,
            not_before=not_before,
            outcome=outcome,
            unless=unless,
        )
    )
    if stored is None:
        return False
    complete_record(actions, contacts, stored)
    return True
