"""Repayment plans through the API: a borrower asks, a collector negotiates, a supervisor decides.

* `request_plan` (borrower): the plan the borrower asks for (instalments, spacing) is judged by the
  jurisdiction's cited policy (`arrears.domain.plans`, `arrears.config.plans`); inside the
  auto-approval limits it is agreed at once, else it is queued for a supervisor (the request is
  stored with `plan_status="queued"`).
* `negotiate_plan` (staff): an `agent` agrees a plan inside the agent's limits; beyond them only a
  `supervisor` may (`NeedsSupervisor`, answered 403), or the agent refers it to one (`refer`: queued
  like a borrower's request beyond the auto limits).
* `decide_plan_request` (supervisor): approves (the plan is agreed over the arrears of the day of the
  decision) or declines a queued request, once (a second decision is `AlreadyDecided`, 409). An
  approval the loan no longer allows (paid meanwhile, another plan agreed) is refused with the
  policy's code and the request recorded `lapsed`.
* `loan_plans`: the loan's plan (active or how it ended) and the offers the policy allows today.

Agreeing a plan (`agree_plan`) is one conditional write of the loan (`LoanRepository.update`): the
loan is assessed on the business date, the plan attached and the PLAN hold set through the hold rule
(`arrears.domain.holds.apply_hold_change`, stamped with the request id), then assessed again. The plan
id derives from the loan and the request id, so a retry finds its plan and writes nothing.

Which policy version: a plan is judged by the version in force on the business date it is agreed (for
a queued request, the supervisor's decision day) and keeps its name (`RepaymentPlan.policy`), which
every archived plan record cites; the request's own record cites the version of the day it was made.

Every request is stored and archived once like the borrower's other requests
(`arrears.usecases.borrower_requests`); the plan's own records (agreed, each instalment kept or
missed, broken, completed) are archived by the planner from the Loans stream (`archive_plan_events`),
the one place that sees every change of the loan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.retrying import retry_transient
from arrears.config.plans import plan_policy, plan_policy_named
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.assessment import assess, assessment_date
from arrears.domain.borrower_requests import RequestKind, RequestRefused
from arrears.domain.business_time import loan_business_date
from arrears.domain.holds import HoldChange, HoldChangeStatus, HoldKind, apply_hold_change
from arrears.domain.loans import Loan
from arrears.domain.money import amount_due
from arrears.domain.plans import (
    Approval,
    PlanPolicy,
    RepaymentPlan,
    offers,
    plan_events,
    plan_id_for,
    plan_record,
    plan_record_key,
    plan_view,
    propose,
    start_plan,
)
from arrears.usecases.borrower_requests import (
    BorrowerApiPorts,
    IdempotencyKeyReused,
    NotYours,
    RequestOutcome,
    _store_and_archive,
    first_made,
    owned_loan,
)

QUEUED, APPROVED, DECLINED = "queued", "approved", "declined"


class NeedsSupervisor(PermissionError):
    """A plan beyond the agent's limits: only a supervisor may agree it (403, code `needs_supervisor`)."""


class AlreadyDecided(ValueError):
    """A plan request that is not queued (decided before, or agreed at once): 409."""


class PlanActive(RequestRefused):
    """A plan is already in force on the loan (409, code `plan_active`)."""

    def __init__(self) -> None:
        super().__init__("plan_active", "loan_id", "a repayment plan is already in force on this loan")


@dataclass(frozen=True, slots=True)
class PlanTerms:
    instalments: int
    every_days: int | None = None  # None: the widest spacing the policy allows


def _today(loan: Loan, at: datetime) -> date:
    return loan_business_date(loan, at, rule_pack_for(loan.jurisdiction))


def agree_plan(
    ports: BorrowerApiPorts, loan_id: str, rid: str, terms: PlanTerms, at: datetime, approval: Approval
) -> RepaymentPlan:
    """Attach the plan of `terms` over today's arrears to the loan and set its PLAN hold (idempotent by
    `rid`); `RequestRefused` outside the policy, `PlanActive` when another plan is in force."""
    plan_id = plan_id_for(loan_id, rid)
    agreed: list[RepaymentPlan] = []

    def change(loan: Loan) -> Loan | None:
        agreed.clear()
        if loan.plan is not None and loan.plan.plan_id == plan_id:
            agreed.append(loan.plan)
            return None  # a retry: agreed before
        if loan.plan_active:
            raise PlanActive
        made_on = _today(loan, at)
        on = assessment_date(loan, made_on)
        current = assess(loan, on, ports.playbook())
        policy = plan_policy(loan.jurisdiction, made_on)
        plan = propose(
            policy,
            plan_id=plan_id,
            loan=current,
            arrears_minor=amount_due(current, on),
            today=on,
            count=terms.instalments,
            every_days=terms.every_days,
        )
        plan = RepaymentPlan(**{**_fields(plan), "approval": approval})
        hold = HoldChange(rid, loan_id, HoldKind.PLAN, True, at, plan.hold_until)
        outcome = apply_hold_change(start_plan(current, plan), hold, made_on)
        if outcome.status is not HoldChangeStatus.APPLIED:
            raise RequestRefused("plan_hold_superseded", "loan_id", "a later plan change is on record")
        agreed.append(plan)
        return assess(outcome.loan, on, ports.playbook())

    update = ports.loans.update(loan_id, change)
    if update.loan is None or not agreed:
        raise NotYours("no such loan")
    return agreed[-1]


def _fields(plan: RepaymentPlan) -> dict[str, Any]:
    return {name: getattr(plan, name) for name in RepaymentPlan.__slots__}


def _arrears(ports: BorrowerApiPorts, loan: Loan, at: datetime) -> tuple[PlanPolicy, int, date]:
    made_on = _today(loan, at)
    today = assessment_date(loan, made_on)
    current = assess(loan, today, ports.playbook()) if loan.is_open else loan
    return plan_policy(loan.jurisdiction, made_on), amount_due(current, today), today


def _judge(ports: BorrowerApiPorts, loan: Loan, terms: PlanTerms, at: datetime) -> Approval:
    """The authority the plan needs; `RequestRefused` outside the policy or when a plan is in force."""
    if loan.plan_active:
        raise PlanActive
    policy, arrears, today = _arrears(ports, loan, at)
    plan = propose(
        policy,
        plan_id="judge",
        loan=loan,
        arrears_minor=arrears,
        today=today,
        count=terms.instalments,
        every_days=terms.every_days,
    )
    return plan.approval


def _details(terms: PlanTerms, loan: Loan) -> dict[str, Any]:
    return {"instalments": terms.instalments, "every_days": terms.every_days, "currency": loan.currency}


def request_plan(
    ports: BorrowerApiPorts, borrower_id: str, loan_id: str, rid: str, terms: PlanTerms, at: datetime
) -> RequestOutcome:
    """A borrower's plan request: agreed at once inside the auto limits (`status` active), else queued."""
    loan = owned_loan(ports, borrower_id, loan_id)
    stored, at = first_made(ports.requests, rid, at)
    if stored is None:
        needed = _judge(ports, loan, terms, at)
        status = APPROVED if needed is Approval.AUTO else QUEUED
    else:
        status = str(stored.get("plan_status", QUEUED))
    policy = plan_policy(loan.jurisdiction, _today(loan, at))
    details = {**_details(terms, loan), "decision": "auto" if status == APPROVED else QUEUED}
    created, details = _store_and_archive(
        ports,
        RequestKind.PLAN,
        rid,
        borrower_id=borrower_id,
        loan=loan,
        jurisdiction=loan.jurisdiction,
        at=at,
        details=details,
        policy=policy,
        extra={"plan_status": status},
        stored=stored,
    )
    if details.get("decision") != "auto":
        stored = ports.requests.get(rid) or {}
        return RequestOutcome(rid, created, {**details, "status": str(stored.get("plan_status", QUEUED))})
    plan = agree_plan(ports, loan_id, rid, terms, at, Approval.AUTO)
    return RequestOutcome(rid, created, {**details, "status": plan.status.value, "plan_id": plan.plan_id})


def negotiate_plan(
    ports: BorrowerApiPorts,
    staff_id: str,
    is_supervisor: bool,
    loan_id: str,
    rid: str,
    terms: PlanTerms,
    at: datetime,
    *,
    refer: bool = False,
) -> RequestOutcome:
    """A plan a collector agreed with the borrower on a call: inside the agent's limits, or any plan the
    policy allows for a supervisor. Beyond the agent's limits: `NeedsSupervisor`, or with `refer` the
    request is queued for a supervisor (`status` queued, decided by `decide_plan_request`)."""
    loan = ports.loans.get(loan_id)
    if loan is None:
        raise NotYours("no such loan")
    granted = Approval.SUPERVISOR if is_supervisor else Approval.AGENT
    decision = granted.value
    stored, at = first_made(ports.requests, rid, at)
    if stored is None:
        needed = _judge(ports, loan, terms, at)
        if not plan_policy(loan.jurisdiction, _today(loan, at)).allows(needed, granted):
            if not refer:
                raise NeedsSupervisor("this plan is beyond the agent's limits: a supervisor must agree it")
            decision = QUEUED
    created, details = _store_and_archive(
        ports,
        RequestKind.PLAN,
        rid,
        borrower_id=loan.borrower_id,
        loan=loan,
        jurisdiction=loan.jurisdiction,
        at=at,
        details={**_details(terms, loan), "decision": decision},
        policy=plan_policy(loan.jurisdiction, _today(loan, at)),
        extra={"plan_status": QUEUED if decision == QUEUED else APPROVED, "staff_id": staff_id},
        stored=stored,
    )
    if details.get("decision") == QUEUED:  # referred to a supervisor (now, or by the request retried)
        stored = ports.requests.get(rid) or {}
        return RequestOutcome(rid, created, {**details, "status": str(stored.get("plan_status", QUEUED))})
    plan = agree_plan(ports, loan_id, rid, terms, at, granted)
    return RequestOutcome(rid, created, {**details, "status": plan.status.value, "plan_id": plan.plan_id})


def decide_plan_request(
    ports: BorrowerApiPorts, staff_id: str, request_id: str, *, approve: bool, at: datetime
) -> RequestOutcome:
    """A supervisor's decision on a queued plan request: approved (the plan is agreed over the arrears
    of today) or declined. Deciding twice the same way answers the same (a retry agrees the plan as
    of the first decision's instant); the other way is `AlreadyDecided`."""
    stored = ports.requests.get(request_id)
    if stored is None or stored.get("kind") != RequestKind.PLAN.value or not stored.get("loan_id"):
        raise NotYours("no such plan request")
    wanted = APPROVED if approve else DECLINED
    status = str(stored.get("plan_status", ""))
    loan_id = str(stored["loan_id"])
    details = dict(stored.get("details") or {})
    terms = PlanTerms(int(details["instalments"]), details.get("every_days"))
    if status == QUEUED:
        if not ports.requests.decide_plan(request_id, wanted, staff_id, at):
            return decide_plan_request(ports, staff_id, request_id, approve=approve, at=at)
        status, created = wanted, True
    elif status != wanted or stored.get("decided_by") is None:
        raise AlreadyDecided(f"this plan request is {status} already")
    else:  # the decision retried: the plan is agreed as of the decision, as a retried request is
        created, at = False, datetime.fromisoformat(str(stored.get("decided_at") or at.isoformat()))
    answer: dict[str, Any] = {"status": status, "loan_id": loan_id}
    if status == APPROVED:
        try:
            plan = agree_plan(ports, loan_id, request_id, terms, at, Approval.SUPERVISOR)
        except RequestRefused as refused:
            # Approved, but the loan changed while the request waited (paid: `nothing_due`; another
            # plan agreed: `plan_active`): the request lapses, recorded with why, and is not retried.
            ports.requests.lapse_plan(request_id, refused.code)
            raise
        answer.update(plan_id=plan.plan_id, plan_status=plan.status.value)
    return RequestOutcome(request_id, created, answer)


def loan_plans(ports: BorrowerApiPorts, borrower_id: str, loan_id: str, at: datetime) -> dict[str, Any]:
    """The loan's plan (None when it never had one) and the plans the policy offers today."""
    loan = owned_loan(ports, borrower_id, loan_id)
    policy, arrears, today = _arrears(ports, loan, at)
    return {
        "loan_id": loan.loan_id,
        "as_of": today.isoformat(),
        "arrears_minor": arrears,
        "plan": plan_view(loan.plan) if loan.plan is not None else None,
        "offers": []
        if loan.plan_active or not loan.is_open
        else [o.as_dict() for o in offers(policy, arrears, today)],
    }


def archive_plan_events(before: Loan | None, after: Loan, at: datetime, store: ArchiveStore) -> int:
    """Archive one write-once record per plan event a loan change made (agreed, an instalment kept or
    missed, broken, completed); returns how many. The key and the bytes depend on the change only, so
    a replayed stream record writes the same objects again (an identical locked version)."""
    plan = after.plan
    if plan is None:
        return 0
    events = plan_events(before, after)
    # The version that judged the plan (a plan agreed before plans named it: the one of its day).
    named = plan.policy
    policy = plan_policy_named(named) if named else plan_policy(after.jurisdiction, plan.agreed_on)
    years = rule_pack_for(after.jurisdiction).retention_years
    for event, seq in events:
        record = plan_record(after, plan, event, seq, at, policy.sources, policy.ref)
        # Retried alone (the same key and bytes): a transient error does not restart the whole record.
        retry_transient(
            partial(
                store.put,
                plan_record_key(plan, event, seq, at),
                json.dumps(record, sort_keys=True).encode(),
                content_type="application/json",
                retain_until=store.retain_until(at.date(), years),
            )
        )
    return len(events)


__all__ = [
    "AlreadyDecided",
    "IdempotencyKeyReused",
    "NeedsSupervisor",
    "PlanActive",
    "PlanTerms",
    "agree_plan",
    "archive_plan_events",
    "decide_plan_request",
    "loan_plans",
    "negotiate_plan",
    "request_plan",
]
