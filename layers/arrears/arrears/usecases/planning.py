"""The planner: turn a loan's change of state into planned actions, or cancel them on cure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from arrears.adapters.channels import TaskQueue
from arrears.adapters.dynamodb import ActionRepository, BorrowerRepository, ContactRepository
from arrears.config.policy import CollectionPolicy
from arrears.domain.actions import OPEN_ACTION_STATUSES, Action, ActionStatus, action_id_for
from arrears.domain.compliance import rule_pack_for
from arrears.domain.loans import Loan
from arrears.domain.penalties import amount_due
from arrears.domain.strategy import Channel, Step, Strategy, steps_crossed
from arrears.usecases.outcomes import settle


@dataclass
class PlanResult:
    planned: list[str] = field(default_factory=list)
    duplicates: int = 0
    cancelled: list[str] = field(default_factory=list)


def _receipt(loan: Loan, step: Step, strategy: Strategy, amount: int) -> dict[str, object]:
    pack = rule_pack_for(loan.jurisdiction)
    return {
        "strategy": {
            "id": strategy.strategy_id,
            "version": strategy.version,
            "arm": loan.strategy_arm,
        },
        "rule_pack": {"id": pack.pack_id, "version": pack.version},
        "step": {"id": step.step_id, "offset": step.offset, "channel": step.channel.value},
        "inputs": {
            "dpd": loan.dpd,
            "due_offset": loan.due_offset,
            "bucket": loan.bucket,
            "risk_band": loan.risk_band,
            "amount_due_minor": amount,
            "cycle": loan.cycle,
            "evaluated_on": loan.evaluated_on.isoformat() if loan.evaluated_on else None,
        },
        "rules_checked": [
            {"rule": "loan_open", "verdict": "PASS"},
            {"rule": "step_reached", "verdict": "PASS"},
            {"rule": "min_amount", "verdict": "PASS" if amount >= step.min_amount_minor else "FAIL"},
        ],
    }


def _needs_cancellation(before: Loan | None, after: Loan) -> bool:
    if not after.is_open:
        return True
    if before is None:
        return False
    return before.cycle != after.cycle or (before.dpd > 0 and after.dpd == 0)


def cancel_open_actions(
    after: Loan,
    at: datetime,
    *,
    actions: ActionRepository,
    contacts: ContactRepository,
    borrowers: BorrowerRepository,
    field_visits: TaskQueue,
    contact_ttl_days: int,
) -> list[str]:
    """Cancel what no longer applies: everything when the loan closed, else other cycles' actions."""
    cancelled: list[str] = []
    pack = rule_pack_for(after.jurisdiction)
    for action in actions.for_loan(after.loan_id):
        if after.is_open and action.cycle == after.cycle:
            continue
        if action.status in OPEN_ACTION_STATUSES:
            if settle(
                actions,
                contacts,
                action,
                ActionStatus.CANCELLED,
                at=at,
                borrower_timezone=pack.business_timezone,
                rule_pack=pack.ref,
                ttl_days=contact_ttl_days,
                reason="loan cured or closed before contact",
            ):
                cancelled.append(action.action_id)
        elif action.status is ActionStatus.SENT and action.channel is Channel.FIELD_VISIT:
            # The visit is already in a collector's queue: withdraw it on the same FIFO group, once.
            borrower = borrowers.get(action.borrower_id)
            field_visits.send(
                {
                    "type": "CANCEL_FIELD_VISIT",
                    "action_id": action.action_id,
                    "loan_id": action.loan_id,
                    "reason": "loan cured or closed",
                },
                group=borrower.region if borrower else "unknown",
                dedup_id=f"cancel-{action.action_id}",
            )
            cancelled.append(action.action_id)
    return cancelled


def plan_for_change(
    before: Loan | None,
    after: Loan,
    at: datetime,
    *,
    actions: ActionRepository,
    contacts: ContactRepository,
    borrowers: BorrowerRepository,
    field_visits: TaskQueue,
    policy: CollectionPolicy,
    contact_ttl_days: int,
) -> PlanResult:
    result = PlanResult()
    if _needs_cancellation(before, after):
        result.cancelled = cancel_open_actions(
            after,
            at,
            actions=actions,
            contacts=contacts,
            borrowers=borrowers,
            field_visits=field_visits,
            contact_ttl_days=contact_ttl_days,
        )
    if after.evaluated_on is None:
        return result
    amount = amount_due(after, after.evaluated_on)
    strategy = policy.strategy_for(after)
    for step in steps_crossed(strategy, before, after):
        if amount < step.min_amount_minor:
            continue
        action = Action(
            action_id=action_id_for(after.loan_id, step.step_id, after.cycle),
            loan_id=after.loan_id,
            borrower_id=after.borrower_id,
            jurisdiction=after.jurisdiction,
            channel=step.channel,
            step_id=step.step_id,
            template_id=step.template_id,
            cycle=after.cycle,
            status=ActionStatus.PENDING,
            planned_at=at,
            not_before=at,
            strategy_id=strategy.strategy_id,
            strategy_version=strategy.version,
            strategy_arm=after.strategy_arm,
            dpd=after.dpd,
            bucket=after.bucket,
            amount_due_minor=amount,
            currency=after.currency,
            receipt=_receipt(after, step, strategy, amount),
        )
        if actions.create(action):
            result.planned.append(action.action_id)
        else:
            result.duplicates += 1
    return result
