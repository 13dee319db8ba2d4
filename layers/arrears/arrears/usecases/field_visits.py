"""Collectors' reports of field visits (`FieldVisitReported`): checked against the pack, archived.

A report is applied once per visit id: the visit is judged at the instant it happened, on the rule
pack in force then (`check_field_visit`: contact hours, collectors present, recording), and written
as the contact record of the field-visit task, breaches named in its `reason` and `rules_checked`,
so the archive shows each visit and whether it kept the rules (docs/contracts.md, "The dialer contract").
"""

from __future__ import annotations

from dataclasses import dataclass

from arrears.config.rulepacks import rule_pack_in_force
from arrears.domain.actions import Action, ActionStatus, ContactRecord, reported_contact
from arrears.domain.compliance import contact_windows
from arrears.domain.field_visits import FieldVisit, check_field_visit
from arrears.domain.strategy import Channel
from arrears.domain.verdicts import RulesChecked
from arrears.usecases.call_outcomes import MAX_AHEAD
from arrears.usecases.dispatch import DispatchPorts


class RejectedVisit(ValueError):
    """A visit report that cannot be recorded as reported: an unknown field-visit task, a visit
    before the task was queued or in the future. Nothing was written; the event goes to the
    failure path (AsyncFailureQueue) with the reason for an operator."""


@dataclass(frozen=True)
class FieldVisitResult:
    """What one report did: `new` False for a visit id seen before; `breaches` empty when lawful."""

    new: bool
    loan_id: str | None = None
    jurisdiction: str = ""
    breaches: tuple[str, ...] = ()
    rules_checked: RulesChecked = ()


def visit_contact(
    action: Action,
    visit: FieldVisit,
    *,
    timezone: str,
    rule_pack: str,
    breaches: tuple[str, ...],
    rules_checked: RulesChecked,
) -> ContactRecord:
    """The contact record of one visit (id fixed by the visit id): collector ids, never names."""
    return reported_contact(
        action,
        report=f"field-visit|{visit.visit_id}",
        channel=Channel.FIELD_VISIT,
        at=visit.visited_at,
        timezone=timezone,
        rule_pack=rule_pack,
        reason="; ".join(breaches),
        rules_checked=rules_checked,
        task_id=visit.task_id,
        result=visit.outcome.value,
        collector_ids=tuple(sorted(set(visit.collector_ids))),
        recording_ref=visit.recording_ref or "",
    )


def report_field_visit(visit: FieldVisit, ports: DispatchPorts) -> FieldVisitResult:
    """Judge and archive one visit, once per visit id (`field-visit#<visit_id>`).

    Raises `RejectedVisit` (nothing written) for an unknown task or an impossible time. A visit
    that broke a rule is recorded all the same, with the breach (it happened; hiding it would not).
    """
    now = ports.clock.now()
    action = ports.actions.get(visit.task_id)
    if action is None or action.channel is not Channel.FIELD_VISIT:
        raise RejectedVisit(f"task_id {visit.task_id}: no such field-visit task")
    queued = action.last_outcome.occurred_at if action.last_outcome is not None else None
    if action.status is not ActionStatus.SENT or queued is None:
        raise RejectedVisit(f"task_id {visit.task_id}: the task was never handed to the collectors")
    if visit.visited_at < queued:
        raise RejectedVisit(f"visited_at is before the task was queued ({queued.isoformat()})")
    if visit.visited_at > now + MAX_AHEAD:
        raise RejectedVisit("visited_at is in the future")
    borrower = ports.borrowers.get(action.borrower_id)
    pack = rule_pack_in_force(action.jurisdiction, visit.visited_at, ports.rule_packs())
    if borrower is not None:
        timezone, windows = borrower.timezone, contact_windows(pack, borrower)[0]
    else:
        timezone, windows = pack.business_timezone, ((pack.contact_start, pack.contact_end),)
    breaches, rules = check_field_visit(visit, pack, timezone, windows)
    applied: list[FieldVisitResult] = []

    def apply() -> str:
        record = visit_contact(
            action, visit, timezone=timezone, rule_pack=pack.ref, breaches=breaches, rules_checked=rules
        )
        ports.contacts.record_report(record)
        applied.append(FieldVisitResult(True, action.loan_id, action.jurisdiction, breaches, rules))
        return f"field-visit:{visit.visit_id}"

    ports.once(f"field-visit#{visit.visit_id}", apply)
    return applied[0] if applied else FieldVisitResult(new=False)
