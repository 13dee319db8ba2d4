"""Repayment plans: what is overdue restructured into 2-6 instalments with their own schedule (pure).

A repayment plan (a "payment arrangement") takes the loan's **arrears** on the day it is agreed (the
amount due now, `arrears.domain.money.amount_due`, integer minor units) and splits it into `count`
plan instalments, `every_days` apart, the first one `every_days` after the agreement. The split is
exact: each instalment is `arrears // count`, the first `arrears % count` get one minor unit more, so
the instalments always add up to the arrears.

The lender's policy (`PlanPolicy`, per jurisdiction, each limit with its source: the lender's policy
id; data in `config/bundled/plans.yaml`, loaded by `arrears.config.plans`) bounds a plan:

* `min_instalments`..`max_instalments` instalments, none below `min_instalment_minor`;
* at most `max_days_between` days between instalments, the last at most `max_plan_days` after the
  agreement (a plan never extends past the policy);
* who may agree it (`approval_needed`): inside the auto-approval limits (`auto_max_minor` of arrears
  and `auto_max_instalments`) it is agreed at once (`AUTO`); inside the agent's limits an `agent`
  may agree it (`AGENT`); beyond them only a `supervisor` (`SUPERVISOR`).

While a plan is ACTIVE the loan carries the PLAN hold (`Holds.plan_until`, the last instalment's
due date plus the grace days): the planner and the dispatcher's gate defer escalation
(`arrears.domain.compliance.check_holds`). Payments are matched to plan instalments by the money the
loan has received since the agreement (`received_minor`), in instalment order; the loan's own
waterfall still applies the money. `judge_plan` (run by every assessment) then decides:

* an instalment covered by its due date plus `grace_days` is KEPT;
* one not covered by then is MISSED and the plan is BROKEN: counted like a broken promise
  (`broken_promises` + 1 and `last_broken_promise` = the instalment's due date, so the strategy's
  `broken_promise_step` fires once, `arrears.domain.planning.broken_promise`), the hold lifts and
  the strategy resumes;
* when the money received covers every instalment the plan is COMPLETED: the arrears of the day it
  was agreed are paid (the waterfall takes the oldest first), the hold lifts.

A plan outlives its loan's charge-off: the borrower who keeps paying keeps the plan, and the money
received after it (recoveries) counts as before; the sweep keeps reviewing a charged-off loan on its
plan's judge days alone (`arrears.domain.assessment`), so a missed instalment still breaks it. A loan
repaid in full completes its plan on the payment that closes it. (Before 2026-12-03 a plan stopped
being judged when its loan left OPEN: a plan kept after the charge-off stayed ACTIVE forever.)

`plan_events(before, after)` names what an assessment changed (an instalment kept or missed, the
plan broken or completed), and `plan_record` is the archive record of one such event: ids, dates,
amounts and codes, never the borrower's personal data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from arrears.domain.borrower_requests import RequestRefused
from arrears.domain.loans import Loan
from arrears.domain.plan_state import (
    Approval,
    InstalmentOutcome,
    PlanInstalment,
    PlanStatus,
    RepaymentPlan,
)

PLANS_PREFIX = "plans/"
_RANK = {Approval.AUTO: 0, Approval.AGENT: 1, Approval.SUPERVISOR: 2}

__all__ = [
    "Approval",
    "InstalmentOutcome",
    "PlanEvent",
    "PlanInstalment",
    "PlanOffer",
    "PlanPolicy",
    "PlanStatus",
    "RepaymentPlan",
    "approval_needed",
    "judge_plan",
    "judge_terms",
    "offers",
    "plan_events",
    "plan_record",
    "propose",
    "received_minor",
    "split",
    "start_plan",
]


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    """One jurisdiction's limits on repayment plans (amounts in minor units), each with its source."""

    jurisdiction: str
    min_instalments: int
    max_instalments: int
    min_instalment_minor: int
    max_days_between: int
    max_plan_days: int
    grace_days: int
    auto_max_minor: int
    auto_max_instalments: int
    agent_max_minor: int
    agent_max_instalments: int
    sources: dict[str, str]
    version: str = ""  # the version in force (config/bundled YAML)

    @property
    def ref(self) -> str:
        """`<jurisdiction>@<version>`: the version that judged, named in the archive records."""
        return f"{self.jurisdiction}@{self.version}"

    def __post_init__(self) -> None:
        if not 2 <= self.min_instalments <= self.max_instalments <= 6:
            raise ValueError(f"{self.jurisdiction}: plan instalments must be within 2..6")
        if self.max_days_between < 1 or self.max_plan_days < self.max_days_between:
            raise ValueError(f"{self.jurisdiction}: max_plan_days must be at least max_days_between")

    def allows(self, approval: Approval, granted: Approval) -> bool:
        """Whether `granted` authority is enough for a plan that needs `approval`."""
        return _RANK[granted] >= _RANK[approval]


def plan_id_for(loan_id: str, request_id: str) -> str:
    return hashlib.sha256(f"plan|{loan_id}|{request_id}".encode()).hexdigest()[:24]


def split(arrears_minor: int, count: int, agreed_on: date, every_days: int) -> tuple[PlanInstalment, ...]:
    """`count` instalments adding up to `arrears_minor` exactly, every `every_days` days after `agreed_on`.

    Each is `arrears // count`; the first `arrears % count` one minor unit more.
    """
    if count < 1 or every_days < 1 or arrears_minor < count:
        raise ValueError("split: need count >= 1, every_days >= 1 and at least one minor unit each")
    share, extra = divmod(arrears_minor, count)
    return tuple(
        PlanInstalment(seq, agreed_on + timedelta(days=every_days * seq), share + (1 if seq <= extra else 0))
        for seq in range(1, count + 1)
    )


def default_every_days(policy: PlanPolicy, count: int) -> int:
    """The widest spacing the policy allows for `count` instalments (the borrower's easiest plan)."""
    return min(policy.max_days_between, policy.max_plan_days // count)


def approval_needed(policy: PlanPolicy, arrears_minor: int, count: int) -> Approval:
    """The least authority that may agree a plan of `count` instalments over `arrears_minor`."""
    if arrears_minor <= policy.auto_max_minor and count <= policy.auto_max_instalments:
        return Approval.AUTO
    if arrears_minor <= policy.agent_max_minor and count <= policy.agent_max_instalments:
        return Approval.AGENT
    return Approval.SUPERVISOR


def judge_terms(policy: PlanPolicy, arrears_minor: int, count: int, every_days: int) -> None:
    """Raise `RequestRefused` (code, field, message citing the source) unless the policy allows a plan
    of `count` instalments `every_days` apart over `arrears_minor`."""
    src = policy.sources
    if arrears_minor <= 0:
        raise RequestRefused("nothing_due", "instalments", "nothing is overdue on this loan")
    if not policy.min_instalments <= count <= policy.max_instalments:
        raise RequestRefused(
            "plan_instalments_out_of_range",
            "instalments",
            f"a plan has {policy.min_instalments} to {policy.max_instalments} instalments "
            f"({src.get('max_instalments', '')})",
        )
    if arrears_minor // count < policy.min_instalment_minor:
        raise RequestRefused(
            "plan_instalment_too_small",
            "instalments",
            f"each instalment must be at least {policy.min_instalment_minor} minor units "
            f"({src.get('min_instalment_minor', '')})",
        )
    if not 1 <= every_days <= policy.max_days_between:
        raise RequestRefused(
            "plan_spacing_too_wide",
            "every_days",
            f"instalments are at most {policy.max_days_between} days apart "
            f"({src.get('max_days_between', '')})",
        )
    if every_days * count > policy.max_plan_days:
        raise RequestRefused(
            "plan_too_long",
            "every_days",
            f"a plan ends at most {policy.max_plan_days} days after it is agreed "
            f"({src.get('max_plan_days', '')})",
        )


@dataclass(frozen=True, slots=True)
class PlanOffer:
    instalments: tuple[PlanInstalment, ...]
    every_days: int
    approval: Approval

    def as_dict(self) -> dict[str, Any]:
        return {
            "instalments": len(self.instalments),
            "every_days": self.every_days,
            "approval": self.approval.value,
            "schedule": [
                {"due_on": i.due_on.isoformat(), "amount_minor": i.amount_minor} for i in self.instalments
            ],
        }


def offers(policy: PlanPolicy, arrears_minor: int, today: date) -> tuple[PlanOffer, ...]:
    """Every plan the policy allows over `arrears_minor` agreed on `today`: one per instalment count,
    at the widest spacing (`default_every_days`); empty when nothing is due or it is too small to split."""
    found: list[PlanOffer] = []
    for count in range(policy.min_instalments, policy.max_instalments + 1):
        every = default_every_days(policy, count)
        try:
            judge_terms(policy, arrears_minor, count, every)
        except RequestRefused:
            continue
        found.append(
            PlanOffer(
                split(arrears_minor, count, today, every),
                every,
                approval_needed(policy, arrears_minor, count),
            )
        )
    return tuple(found)


def propose(
    policy: PlanPolicy,
    *,
    plan_id: str,
    loan: Loan,
    arrears_minor: int,
    today: date,
    count: int,
    every_days: int | None,
) -> RepaymentPlan:
    """The plan of `count` instalments over `arrears_minor` agreed on `today` (not yet approved: its
    `approval` is the authority it needs). `RequestRefused` outside the policy."""
    every = every_days if every_days is not None else default_every_days(policy, count)
    judge_terms(policy, arrears_minor, count, every)
    return RepaymentPlan(
        plan_id=plan_id,
        agreed_on=today,
        currency=loan.currency,
        arrears_minor=arrears_minor,
        received_at_start_minor=received_minor(loan),
        instalments=split(arrears_minor, count, today, every),
        approval=approval_needed(policy, arrears_minor, count),
        grace_days=policy.grace_days,
        policy=policy.ref,
    )


def received_minor(loan: Loan) -> int:
    """Every minor unit the loan has received and applied: instalments' paid and prepaid amounts,
    penalty paid, money kept as overpaid, and recoveries after charge-off."""
    scheduled = sum(
        i.principal_paid + i.principal_prepaid + i.interest_paid + i.fee_paid for i in loan.instalments
    )
    return scheduled + loan.penalty_paid_minor + loan.overpaid_minor + loan.recovered_minor


def start_plan(loan: Loan, plan: RepaymentPlan) -> Loan:
    """The loan with `plan` in force (the PLAN hold itself is set by a `HoldChange`,
    `arrears.domain.holds`, until `plan.hold_until`)."""
    return loan.with_changes(plan=plan)


def judge_plan(loan: Loan, on: date) -> Loan:
    """The loan with its active plan judged on business date `on` (see the module docstring).

    Idempotent: a judged instalment is never judged again, an ended plan is left alone. Judged
    whatever the loan's status (OPEN, CHARGED_OFF, CLOSED: see the module docstring).
    """
    plan = loan.plan
    if plan is None or not plan.is_active:
        return loan
    paid = max(0, received_minor(loan) - plan.received_at_start_minor)
    covered = 0
    judged: list[PlanInstalment] = []
    missed: PlanInstalment | None = None
    for instalment in plan.instalments:
        covered += instalment.amount_minor
        outcome = instalment.outcome
        if outcome is InstalmentOutcome.DUE and missed is None:
            if paid >= covered:
                outcome = InstalmentOutcome.KEPT
            elif on > instalment.due_on + timedelta(days=plan.grace_days):
                outcome = InstalmentOutcome.MISSED
        current = replace(instalment, outcome=outcome)
        if outcome is InstalmentOutcome.MISSED and missed is None:
            missed = current
        judged.append(current)
    status, ended = PlanStatus.ACTIVE, None
    if missed is not None:
        status, ended = PlanStatus.BROKEN, on
    elif all(i.outcome is InstalmentOutcome.KEPT for i in judged):
        status, ended = PlanStatus.COMPLETED, on
    updated = replace(plan, instalments=tuple(judged), status=status, ended_on=ended)
    if updated == plan:
        return loan
    changes: dict[str, object] = {"plan": updated}
    if status is not PlanStatus.ACTIVE:
        changes["holds"] = replace(loan.holds, plan_until=None)
    if missed is not None:
        changes["broken_promises"] = loan.broken_promises + 1
        changes["last_broken_promise"] = missed.due_on
    return loan.with_changes(**changes)


class PlanEvent(StrEnum):
    AGREED = "agreed"
    INSTALMENT_KEPT = "instalment_kept"
    INSTALMENT_MISSED = "instalment_missed"
    BROKEN = "broken"
    COMPLETED = "completed"


def plan_events(before: Loan | None, after: Loan) -> tuple[tuple[PlanEvent, int], ...]:
    """What became of `after`'s plan since `before`: (event, instalment seq; 0 for the plan itself)."""
    plan = after.plan
    if plan is None:
        return ()
    old = before.plan if before is not None else None
    if old is not None and old.plan_id != plan.plan_id:
        old = None
    events: list[tuple[PlanEvent, int]] = []
    if old is None:
        events.append((PlanEvent.AGREED, 0))
    was = {i.seq: i.outcome for i in old.instalments} if old is not None else {}
    for instalment in plan.instalments:
        if instalment.outcome is InstalmentOutcome.DUE or was.get(instalment.seq) is instalment.outcome:
            continue
        kept = instalment.outcome is InstalmentOutcome.KEPT
        events.append((PlanEvent.INSTALMENT_KEPT if kept else PlanEvent.INSTALMENT_MISSED, instalment.seq))
    if plan.status is not PlanStatus.ACTIVE and (old is None or old.status is PlanStatus.ACTIVE):
        events.append((PlanEvent.BROKEN if plan.status is PlanStatus.BROKEN else PlanEvent.COMPLETED, 0))
    return tuple(events)


def plan_view(plan: RepaymentPlan) -> dict[str, Any]:
    """The plan as its borrower, a collector and the archive see it (amounts in minor units)."""
    return {
        "plan_id": plan.plan_id,
        "status": plan.status.value,
        "agreed_on": plan.agreed_on.isoformat(),
        "ended_on": plan.ended_on.isoformat() if plan.ended_on else None,
        "currency": plan.currency,
        "arrears_minor": plan.arrears_minor,
        "approval": plan.approval.value,
        "grace_days": plan.grace_days,
        "instalments": [
            {
                "seq": i.seq,
                "due_on": i.due_on.isoformat(),
                "amount_minor": i.amount_minor,
                "outcome": i.outcome.value,
            }
            for i in plan.instalments
        ],
    }


def plan_record_key(plan: RepaymentPlan, event: PlanEvent, seq: int, at: datetime) -> str:
    return f"{PLANS_PREFIX}dt={at.date().isoformat()}/{plan.plan_id}/{event.value}-{seq}.json"


def plan_record(
    loan: Loan,
    plan: RepaymentPlan,
    event: PlanEvent,
    seq: int,
    at: datetime,
    sources: dict[str, str],
    policy: str = "",
) -> dict[str, Any]:
    """The write-once archive record of one plan event (no personal data: ids, dates, amounts, codes),
    with the plan policy version (`<jurisdiction>@<version>`) that judged the plan when it was agreed."""
    return {
        "record_type": "repayment_plan",
        "event": event.value,
        "instalment": seq or None,
        "loan_id": loan.loan_id,
        "jurisdiction": loan.jurisdiction,
        "at": at.isoformat(),
        "plan": plan_view(plan),
        "sources": sources,
        **({"policy": policy} if policy else {}),
    }
