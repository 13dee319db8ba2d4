"""Recording holds: a `HoldChanged` event sets or lifts one hold on a loan (pure).

A hold is a borrower-side pause or stop the planner (`arrears.domain.planning`) and the dispatcher's
gate (`arrears.domain.compliance`) honour: a promise to pay or a hardship pause until a date, an open
dispute, a cease-contact request, a bankruptcy, a death. The lending core and the collector desk
record them as `HoldChanged` events (docs/contracts.md, "Events"; `arrears.events.bus` reads them
into a `HoldChange`); this module applies a change to the loan.

Each kind of hold is a last-writer-wins register ordered by the change's own time: the loan keeps,
per kind, the stamp (`occurred_at`, `request_id`) of the last change applied to it, and a change is
applied only if it comes after that stamp. So:

* a redelivered event (same `request_id`) changes nothing;
* an event older than the change in force (it arrived late, or out of order) changes nothing: a
  dispute lifted at 10:00 stays lifted when the 09:00 "dispute opened" arrives after it;
* two changes with the same `occurred_at` are ordered by `request_id`, so every delivery order ends
  in the same state;
* a change that leaves the hold as it was (cease contact asked twice) still advances the stamp, so an
  older "lift" arriving afterwards cannot undo it.

Kinds are independent: lifting a dispute never touches a promise to pay.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from arrears.domain.loans import HoldKind, Holds, HoldStamp, Loan

__all__ = [
    "HoldChange",
    "HoldChangeStatus",
    "HoldKind",
    "HoldOutcome",
    "InvalidHoldChange",
    "apply_hold_change",
    "stamp_of",
]


class InvalidHoldChange(ValueError):
    """A `HoldChanged` event that cannot be applied; the message names the field and the problem."""


class HoldChangeStatus(StrEnum):
    """What became of one hold change (the `outcome` the holds function answers)."""

    APPLIED = "applied"  # the change is in force (the hold may have been so already: `changed`)
    DUPLICATE = "duplicate"  # this request was applied before
    SUPERSEDED = "superseded"  # a later change of the same hold is in force
    LOAN_CLOSED = "loan_closed"  # the loan is no longer collected


@dataclass(frozen=True, slots=True)
class HoldChange:
    """One hold set (`active`) or lifted on one loan, at `occurred_at`, by request `request_id`."""

    request_id: str
    loan_id: str
    hold: HoldKind
    active: bool
    occurred_at: datetime
    until: date | None = None
    # Hardship only: the reason code the borrower gave (`HardshipReason` value), kept on the loan
    # (`Loan.hardship_reason`) so the strategy's hardship branch applies (arrears.domain.strategy).
    reason: str = ""

    def __post_init__(self) -> None:
        if self.reason and not (self.hold is HoldKind.HARDSHIP and self.active):
            raise InvalidHoldChange("reason: only a hardship being set has a reason")
        if self.occurred_at.tzinfo is None:
            raise InvalidHoldChange("occurred_at: must be an aware UTC time")
        if self.active and self.hold.dated and self.until is None:
            raise InvalidHoldChange(f"until: required to set {self.hold.value} (its last day, YYYY-MM-DD)")
        if self.until is not None and not (self.active and self.hold.dated):
            what = f"lifting {self.hold.value}" if self.hold.dated else self.hold.value
            raise InvalidHoldChange(
                f"until: {what} takes no date (only promise_to_pay, hardship and plan being set have one)"
            )

    @property
    def stamp(self) -> HoldStamp:
        return HoldStamp(self.hold, self.occurred_at, self.request_id)


@dataclass(frozen=True, slots=True)
class HoldOutcome:
    """The loan after a change (the same object unless `status` is APPLIED)."""

    loan: Loan
    status: HoldChangeStatus
    changed: bool = False  # APPLIED and the holds differ from before (else only the stamp moved)


def stamp_of(loan: Loan, hold: HoldKind) -> HoldStamp | None:
    """The last change applied to `hold` on the loan, if any was recorded through an event."""
    return next((stamp for stamp in loan.hold_stamps if stamp.hold is hold), None)


def _holds_with(holds: Holds, change: HoldChange) -> Holds:
    on = change.active
    match change.hold:
        case HoldKind.PROMISE_TO_PAY:
            return replace(holds, promise_to_pay_until=change.until if on else None)
        case HoldKind.HARDSHIP:
            return replace(holds, hardship_until=change.until if on else None)
        case HoldKind.DISPUTE:
            return replace(holds, dispute_open=on)
        case HoldKind.CEASE_CONTACT:
            return replace(holds, cease_contact=on)
        case HoldKind.BANKRUPTCY:
            return replace(holds, bankruptcy=on)
        case HoldKind.DECEASED:
            return replace(holds, deceased=on)
        case HoldKind.PLAN:
            return replace(holds, plan_until=change.until if on else None)


_KIND_ORDER = {kind: index for index, kind in enumerate(HoldKind)}


def apply_hold_change(loan: Loan, change: HoldChange, made_on: date) -> HoldOutcome:
    """The loan with `change` applied, if it is the latest change of its kind.

    `made_on` is the business date of `change.occurred_at` in the loan's jurisdiction: a promise or
    a hardship pause cannot end before the day it was agreed (`InvalidHoldChange`, field `until`).
    A closed loan is not collected: nothing is held on it, whatever the change.
    """
    if change.loan_id != loan.loan_id:
        raise ValueError(f"hold change for loan {change.loan_id} applied to loan {loan.loan_id}")
    if not loan.is_open:
        return HoldOutcome(loan, HoldChangeStatus.LOAN_CLOSED)
    if change.until is not None and change.until < made_on:
        raise InvalidHoldChange(
            f"until: {change.until.isoformat()} is before {made_on.isoformat()}, the day the "
            f"{change.hold.value} was recorded in the loan's jurisdiction"
        )
    last = stamp_of(loan, change.hold)
    if last is not None and last.request_id == change.request_id:
        return HoldOutcome(loan, HoldChangeStatus.DUPLICATE)
    if last is not None and change.stamp.order <= last.order:
        return HoldOutcome(loan, HoldChangeStatus.SUPERSEDED)
    holds = _holds_with(loan.holds, change)
    stamps = sorted(
        (*(s for s in loan.hold_stamps if s.hold is not change.hold), change.stamp),
        key=lambda stamp: _KIND_ORDER[stamp.hold],
    )
    updated = loan.with_changes(holds=holds, hold_stamps=tuple(stamps))
    if change.hold is HoldKind.HARDSHIP:
        # Set: the reason given (if any) replaces the one on record; lifted: the hardship is over.
        reason = (change.reason or loan.hardship_reason) if change.active else ""
        updated = updated.with_changes(hardship_reason=reason)
    changed = holds != loan.holds or updated.hardship_reason != loan.hardship_reason
    return HoldOutcome(updated, HoldChangeStatus.APPLIED, changed=changed)
