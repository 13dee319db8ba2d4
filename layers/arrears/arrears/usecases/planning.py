"""The planner: turn a loan's change of state into planned actions, or cancel them on cure.

For each strategy step the loan reached (for its arm and risk band) the planner decides, by the
rule pack in force that day and the loan's holds, whether to plan it (PENDING), hold it until a
pause ends (DEFERRED), or suppress it (SUPPRESSED, with its contact record): every decision is
written with its receipt, so an auditor can replay why a borrower was, or was not, contacted.
Each action is a conditional put keyed by hash(loan, step, instalment in collection): a replayed
record plans nothing.

Each AWS call of the planner (a read, the deterministic-id put, a conditional transition, a contact
record, a withdrawal) is idempotent and retried alone on a transient error
(`arrears.adapters.retrying.retry_transient`): one stream record makes some twenty calls, and a
record that needed all of them through in one attempt would not finish under a steady rate of
transient errors (each stream retry starting over). A put applied whose answer was lost is read back
by its retry as already there and completed like a replay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from arrears.adapters.call_ledger import CallLedgerRepository
from arrears.adapters.channels import TaskQueue
from arrears.adapters.dynamodb import ActionRepository, BorrowerRepository, ContactRepository
from arrears.adapters.retrying import retry_transient
from arrears.config.rulepacks import bundled_rule_packs, rule_pack_in_force
from arrears.domain.actions import (
    CALL_TASK_LIFETIME,
    OPEN_ACTION_STATUSES,
    Action,
    ActionOutcome,
    ActionStatus,
    action_id_for,
)
from arrears.domain.compliance import cancellation, contact_windows, is_stopped, next_window_instant
from arrears.domain.loans import Loan
from arrears.domain.penalties import amount_due
from arrears.domain.planning import BorrowerFacts, StepDecision, broken_promise, decide_step
from arrears.domain.playbook import CollectionPlaybook
from arrears.domain.risk import RiskScore, score
from arrears.domain.rulepacks import RulePack
from arrears.domain.strategy import Arm, Channel, Step, steps_crossed
from arrears.domain.verdicts import Verdict
from arrears.usecases.outcomes import ensure_recorded, settle


@dataclass
class PlanResult:
    planned: list[str] = field(default_factory=list)
    # Of `planned`: written DEFERRED to the opening of the borrower's contact window (no contact record).
    deferred_to_window: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # held until a promise or hardship pause ends
    suppressed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # step ids whose conditions did not hold
    duplicates: int = 0
    cancelled: list[str] = field(default_factory=list)


def risk_of(loan: Loan, on: date) -> tuple[str, dict[str, Any]]:
    """The loan's band, and the explanation the receipt carries (stored score, else computed now).

    Features are `name=value:points` (the reasons live in `arrears.domain.risk`, one per name)."""
    if loan.risk_score is not None:
        features = tuple(loan.risk_features)
        return loan.risk_band, {
            "score": loan.risk_score,
            "band": loan.risk_band,
            "source": "stored",
            "features": [f"{n}={v}:{p}" for n, v, p in features],
        }
    result: RiskScore = score(loan, on)
    return result.band, {
        "score": result.score,
        "band": result.band,
        "source": "computed",
        "features": [f"{f.name}={f.value}:{f.points}" for f in result.features],
    }


def receipt(
    loan: Loan,
    step: Step,
    offset: int,
    arm: Arm,
    pack: RulePack,
    decision: StepDecision,
    amount: int,
    risk: dict[str, Any],
    trigger: str,
) -> dict[str, Any]:
    strategy = arm.strategy
    # The branch taken for what the borrower said ("main" when none applies; arrears.domain.strategy).
    branch = strategy.for_loan(loan).branch_id
    return {
        "strategy": {
            "id": strategy.strategy_id,
            "version": strategy.version,
            "arm": arm.name,
            "branch": branch,
        },
        # The base pack and every layer that judged the step (`<id>@<version>`, base first).
        "rule_pack": {"id": pack.pack_id, "version": pack.version, "layers": list(pack.layers)},
        "step": {
            "id": step.step_id,
            "offset": offset,
            "base_offset": step.offset,
            "channel": step.channel.value,
            "template": step.template_id,
            "trigger": trigger,
        },
        "inputs": {
            "dpd": loan.dpd,
            "due_offset": loan.due_offset,
            "bucket": loan.bucket,
            "risk_band": risk["band"],
            "amount_due_minor": amount,
            "currency": loan.currency,
            "cycle": loan.collection_instalment,
            "evaluated_on": loan.evaluated_on.isoformat() if loan.evaluated_on else None,
        },
        "risk": risk,
        "decision": {
            "verdict": decision.verdict.value,
            "reason": decision.reason,
            "resume_on": decision.resume_on.isoformat() if decision.resume_on else None,
        },
        # Compact strings (as on contact records): every map member costs on the Actions stream.
        "rules_checked": [f"{rule}:{verdict}" for rule, verdict in decision.rules_checked],
    }


def _needs_cancellation(before: Loan | None, after: Loan) -> bool:
    if not after.is_open or is_stopped(after):
        return True
    if before is None:
        return False
    return before.collection_instalment != after.collection_instalment or (before.dpd > 0 and after.dpd == 0)


def cancel_open_actions(
    after: Loan,
    at: datetime,
    *,
    actions: ActionRepository,
    contacts: ContactRepository,
    borrowers: BorrowerRepository,
    field_visits: TaskQueue,
    call_tasks: TaskQueue,
    call_ledger: CallLedgerRepository,
    unclaimed: Callable[[str], Mapping[str, Any]] | None = None,
) -> list[str]:
    """Cancel what no longer applies: everything when the loan closed or a stopping hold (bankruptcy,
    death) was recorded, else the actions of other instalments. What was already handed off is
    withdrawn: a field visit in a collector's queue, a call task still within its deadline in the
    dialer's.

    `unclaimed(action_id)` (the send outbox's `SendOutbox.unclaimed`): the cancellation of an open
    action is one transaction with the condition that no send was claimed for it. An action whose
    send was decided and handed to its channel (its `SENT` transition still to come, lost to a fault,
    or a dispatcher claiming it this very moment) is not cancelled: the contact may have been made,
    and its dispatcher (or the redelivery) records it `SENT`. The dispatcher's claim is conditional on
    the action as it judged it (`ActionRepository.unchanged`), so whichever commits first wins and
    the other is refused: no send for an action cancelled, no cancellation of an action sent.
    """
    cancelled: list[str] = []
    # The record says which rules cancelled it, by the pack in force at `at`, in the borrower's zone.
    owner = retry_transient(partial(borrowers.get, after.borrower_id))
    pack = rule_pack_in_force(after.jurisdiction, at, address_state=owner.region if owner else "")
    zone = owner.timezone if owner is not None else pack.business_timezone
    stop = is_stopped(after)
    withdrawn = "collection stopped" if stop and after.is_open else "loan cured or closed"
    for action in retry_transient(partial(actions.for_loan, after.loan_id)):
        why = cancellation(after, action.collection_instalment)
        if why is None:
            continue
        reason, rules_checked = why
        if action.status in OPEN_ACTION_STATUSES:
            # Refused (False) when a send was claimed: decided and handed over, recorded SENT by its
            # dispatcher; or when another run settled it first.
            # A retry after an applied transition finds its own change (`ActionRepository.transition`).
            if retry_transient(
                partial(
                    settle,
                    actions,
                    contacts,
                    action,
                    ActionStatus.CANCELLED,
                    at=at,
                    borrower_timezone=zone,
                    rule_pack=pack.ref,
                    reason=reason,
                    rules_checked=rules_checked,
                    unless=unclaimed(action.action_id) if unclaimed is not None else None,
                )
            ):
                cancelled.append(action.action_id)
        elif action.status is ActionStatus.SENT and action.channel is Channel.FIELD_VISIT:
            # The visit is already in a collector's queue: withdraw it on the same FIFO group, once.
            retry_transient(
                partial(
                    field_visits.send,
                    {
                        "type": "CANCEL_FIELD_VISIT",
                        "action_id": action.action_id,
                        "loan_id": action.loan_id,
                        "reason": withdrawn,
                    },
                    group=owner.region if owner else "unknown",
                    dedup_id=f"cancel-{action.action_id}",
                )
            )
            cancelled.append(action.action_id)
        elif withdraw_call_task(action, at, call_tasks, withdrawn, call_ledger):
            cancelled.append(action.action_id)
    return cancelled


def withdraw_call_task(
    action: Action, at: datetime, call_tasks: TaskQueue, reason: str, call_ledger: CallLedgerRepository
) -> bool:
    """Tell the dialer to drop a call task it may still hold (sent less than its lifetime ago), and
    close it on the borrower's call ledger, so the borrower's other loans may open the next task at
    once instead of waiting for this one to expire (one open call task per borrower).

    The dialer deduplicates on `action_id` and ignores a withdrawal of a call it already made or
    dropped; sending one twice (a redelivered stream record) is harmless, and closing a task that is
    no longer open changes nothing. Attempts the dialer still reports for it count as ever.
    """
    if action.status is not ActionStatus.SENT or action.channel is not Channel.CALL_TASK:
        return False
    sent = action.last_outcome.occurred_at if action.last_outcome is not None else None
    if sent is None or sent + CALL_TASK_LIFETIME <= at:
        return False
    withdrawal = {
        "type": "CANCEL_CALL_TASK",
        "action_id": action.action_id,
        "loan_id": action.loan_id,
        "reason": reason,
    }
    retry_transient(partial(call_tasks.send, withdrawal))
    retry_transient(partial(call_ledger.close_call_task, action.borrower_id, action.action_id, at))
    return True


def calls_must_stop(before: Loan | None, after: Loan) -> str | None:
    """Why queued calls must stop now (a cease-contact request or a dispute newly recorded), else None."""
    if before is None or not after.is_open:
        return None
    if after.holds.cease_contact and not before.holds.cease_contact:
        return "borrower asked to cease contact"
    if after.holds.dispute_open and not before.holds.dispute_open:
        return "debt under dispute"
    return None


def _resume_instant(on: date, pack: RulePack) -> datetime:
    """The start of contact hours on `on` in the jurisdiction's business zone (the dispatcher's gate
    still applies the borrower's own zone and hours when the action comes due)."""
    local = datetime.combine(on, pack.contact_start, tzinfo=ZoneInfo(pack.business_timezone))
    return local.astimezone(ZoneInfo("UTC"))


_STATUS = {
    Verdict.PLAN: ActionStatus.PENDING,
    Verdict.DEFER: ActionStatus.DEFERRED,
    Verdict.SUPPRESS: ActionStatus.SUPPRESSED,
}


def plan_for_change(
    before: Loan | None,
    after: Loan,
    at: datetime,
    *,
    actions: ActionRepository,
    contacts: ContactRepository,
    borrowers: BorrowerRepository,
    field_visits: TaskQueue,
    call_tasks: TaskQueue,
    playbook: CollectionPlaybook,
    call_ledger: CallLedgerRepository,
    unclaimed: Callable[[str], Mapping[str, Any]] | None = None,
) -> PlanResult:
    """Plan the steps `after` reached since `before` (None: a new loan), and cancel what no longer applies.

    `at` is the change's business time (aware UTC): the planned actions' `planned_at`, and the
    earliest `not_before`. Steps are judged by the rule pack in force on `after.evaluated_on`.
    """
    result = PlanResult()
    if _needs_cancellation(before, after):
        result.cancelled = cancel_open_actions(
            after,
            at,
            actions=actions,
            contacts=contacts,
            borrowers=borrowers,
            field_visits=field_visits,
            call_tasks=call_tasks,
            call_ledger=call_ledger,
            unclaimed=unclaimed,
        )
    elif (why := calls_must_stop(before, after)) is not None:
        # The gate suppresses every later call; a call already in the dialer's queue is withdrawn.
        result.cancelled = [
            action.action_id
            for action in retry_transient(partial(actions.for_loan, after.loan_id))
            if withdraw_call_task(action, at, call_tasks, why, call_ledger)
        ]
    on = after.evaluated_on
    if on is None or not after.is_open or is_stopped(after):
        return result
    arm = playbook.arm_for(after)
    # The branch for what the borrower said (hardship, a dispute, a plan), else the main steps.
    strategy = arm.strategy.for_loan(after)
    band, risk = risk_of(after, on)
    band_before = None
    if before is not None and before.evaluated_on is not None:
        band_before, _ = risk_of(before, before.evaluated_on)
    todo: list[tuple[Step, str, str]] = [
        (step, step.step_id, "schedule") for step in steps_crossed(strategy, before, after, band, band_before)
    ]
    promised = broken_promise(before, after)
    if promised is not None and strategy.broken_promise_step is not None:
        escalation = strategy.broken_promise_step
        todo.append((escalation, f"{escalation.step_id}-{promised.isoformat()}", "broken_promise"))
    if not todo:
        return result

    amount = amount_due(after, on)
    borrower = retry_transient(partial(borrowers.get, after.borrower_id))
    # Judged like the dispatcher's gate: the base in force plus the overlays that bind this borrower
    # (their state, the lender's policy), so an overlay that forbids a channel stops it here too.
    pack = bundled_rule_packs().composed(after.jurisdiction, on, borrower.region if borrower else "")
    facts = (
        BorrowerFacts(borrower.region, borrower.opted_out_channels)
        if borrower is not None
        else BorrowerFacts()
    )
    zone = borrower.timezone if borrower is not None else pack.business_timezone
    for step, step_key, trigger in todo:
        decision = decide_step(
            step, loan=after, on=on, pack=pack, band=band, amount_minor=amount, borrower=facts
        )
        if decision.verdict is Verdict.SKIP:
            result.skipped.append(step_key)
            continue
        status = _STATUS[decision.verdict]
        not_before = at
        outcome: ActionOutcome | None = None
        reason = decision.reason
        if decision.verdict is Verdict.DEFER and decision.resume_on is not None:
            not_before = max(at, _resume_instant(decision.resume_on, pack))
        elif (
            decision.verdict is Verdict.PLAN and borrower is not None and step.channel in pack.timed_channels
        ):
            # Planned outside the borrower's contact window (the sweep runs at 00:30 in Shanghai):
            # schedule it for the window's start instead of sending it through the dispatcher only
            # to be deferred. Nothing was attempted, so no contact record; the dispatcher's gate
            # still judges it, on fresh state, when the 15-minute schedule picks it up.
            windows, _ = contact_windows(pack, borrower)
            opens = next_window_instant(at, borrower.timezone, windows)
            if opens is not None:
                status, not_before = ActionStatus.DEFERRED, opens
                reason = "planned outside contact hours: due when the borrower's contact window opens"
        if decision.verdict is not Verdict.PLAN:
            outcome = ActionOutcome(
                status,
                occurred_at=at,
                borrower_timezone=zone,
                rule_pack=pack.ref,
                reason=decision.reason,
                rules_checked=decision.rules_checked,
                decided_by=pack.decided_by(decision.rules_checked[-1][0]),
            )
        action = Action(
            action_id=action_id_for(after.loan_id, step_key, after.collection_instalment),
            loan_id=after.loan_id,
            borrower_id=after.borrower_id,
            jurisdiction=after.jurisdiction,
            channel=step.channel,
            step_id=step_key,
            template_id=step.template_id,
            collection_instalment=after.collection_instalment,
            status=status,
            planned_at=at,
            not_before=not_before,
            strategy_id=strategy.strategy_id,
            strategy_version=strategy.version,
            strategy_arm=arm.name,
            dpd=after.dpd,
            bucket=after.bucket,
            amount_due_minor=amount,
            currency=after.currency,
            receipt=receipt(after, step, step.offset_for(band), arm, pack, decision, amount, risk, trigger),
            reason=reason,
            last_outcome=outcome,
        )
        # A put applied whose answer was lost is refused on its retry: completed below like a replay.
        created = retry_transient(partial(actions.create, action))
        if not created:
            result.duplicates += 1
            # A replay of this change, or the step reached a second time (a band that moved its day
            # back): the stored action's own record is completed (idempotent: its id comes from the
            # action id and version), never a second record of the same outcome at another instant.
            # Read by its key, strongly consistent (the loan's index may not show a put just applied).
            stored = retry_transient(partial(actions.get, action.action_id))
            if stored is not None:
                retry_transient(partial(ensure_recorded, contacts, stored))
            continue
        if outcome is not None:
            # Idempotent (id from action id and version): a replay completes a run that died here.
            retry_transient(partial(ensure_recorded, contacts, action))
        {
            Verdict.PLAN: result.planned,
            Verdict.DEFER: result.deferred,
            Verdict.SUPPRESS: result.suppressed,
        }[decision.verdict].append(action.action_id)
        if decision.verdict is Verdict.PLAN and status is ActionStatus.DEFERRED:
            result.deferred_to_window.append(action.action_id)
    return result


__all__ = ["PlanResult", "cancel_open_actions", "plan_for_change", "receipt", "risk_of"]
