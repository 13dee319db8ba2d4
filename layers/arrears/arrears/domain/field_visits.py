"""Field visits as collectors report them (`FieldVisitReported`), checked against the pack in force.

A visit is a contact: it is judged at the instant it happened, on the rule pack in force then, and
archived as a contact record whatever the check finds. A breach is recorded with the rule that
failed (and counted, `FieldVisitViolations`), never silently accepted nor dropped.

Sources: CN, docs/architecture.md "Collection rules" (at least 2 collectors on a visit, every visit
recorded; the pack's `field_visit: {min_collectors, recording_required}`); every pack's contact hours
apply to a visit as to any timed contact (the local window the field-visit task states).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from arrears.domain.compliance import Window, format_windows, next_window_instant
from arrears.domain.rulepacks import RulePack
from arrears.domain.verdicts import FAIL, PASS, RulesChecked


class VisitOutcome(StrEnum):
    """How a visit ended, as the collectors report it."""

    MET_BORROWER = "met_borrower"
    PROMISE_TO_PAY = "promise_to_pay"
    PAID_ON_SITE = "paid_on_site"
    NOT_HOME = "not_home"
    REFUSED = "refused"
    ADDRESS_INVALID = "address_invalid"


@dataclass(frozen=True, slots=True)
class FieldVisit:
    """One visit: the field-visit action (`task_id`) it carried out, when, by whom (collector ids,
    never names), the recording's reference (None when there is none), and how it ended."""

    visit_id: str
    task_id: str
    visited_at: datetime
    collector_ids: tuple[str, ...]
    recording_ref: str | None
    outcome: VisitOutcome


def check_field_visit(
    visit: FieldVisit, pack: RulePack, timezone: str, windows: tuple[Window, ...]
) -> tuple[tuple[str, ...], RulesChecked]:
    """Every breach of `visit` (empty when lawful) and the rules checked, each PASS or FAIL.

    Unlike a gate, which stops at the first FAIL, a reported visit already happened: every rule is
    checked and every breach named. Rules: `contact_hours` (`windows`, local to `timezone`),
    `field_visit_collectors` (distinct collectors >= `pack.field_visit_min_collectors`),
    `field_visit_recording` (a recording reference when `pack.field_visit_recording_required`).
    """
    breaches: list[str] = []
    rules: list[tuple[str, str]] = []

    def judge(rule: str, ok: bool, why: str) -> None:
        rules.append((rule, PASS if ok else FAIL))
        if not ok:
            breaches.append(why)

    judge(
        "contact_hours",
        next_window_instant(visit.visited_at, timezone, windows) is None,
        f"visit outside the contact window {format_windows(windows)}",
    )
    needed = pack.field_visit_min_collectors or 1
    present = len(set(visit.collector_ids))
    judge(
        "field_visit_collectors",
        present >= needed,
        f"{present} collector(s) present, {pack.pack_id} requires at least {needed}",
    )
    if pack.field_visit_recording_required:
        judge("field_visit_recording", bool(visit.recording_ref), f"{pack.pack_id} requires a recording")
    return tuple(breaches), tuple(rules)
