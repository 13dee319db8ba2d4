"""The state of a repayment plan as the loan keeps it: its instalments and how each ended (pure).

Data only; what a plan is, how it is agreed and judged is `arrears.domain.plans` (this module exists so
that `arrears.domain.loans` can hold a plan without importing the rules that read loans).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class PlanStatus(StrEnum):
    ACTIVE = "active"
    BROKEN = "broken"
    COMPLETED = "completed"


class InstalmentOutcome(StrEnum):
    DUE = "due"  # not judged yet
    KEPT = "kept"  # covered by its due date plus the grace days
    MISSED = "missed"  # not covered by then: the plan broke


class Approval(StrEnum):
    """Who may agree a plan, in increasing authority (the least one a plan needs: `approval_needed`)."""

    AUTO = "auto"  # inside the auto-approval limits: the borrower's own request is agreed at once
    AGENT = "agent"  # a collector may negotiate it
    SUPERVISOR = "supervisor"  # beyond the agent's limits


@dataclass(frozen=True, slots=True)
class PlanInstalment:
    seq: int
    due_on: date
    amount_minor: int
    outcome: InstalmentOutcome = InstalmentOutcome.DUE

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or self.amount_minor <= 0:
            raise ValueError(f"plan instalment {self.seq}: amount_minor must be a positive integer")


@dataclass(frozen=True, slots=True)
class RepaymentPlan:
    """A plan on one loan: its instalments, the money the loan had received when it was agreed
    (`received_at_start_minor`, the base payments are matched from), who agreed it, its state, and the
    policy version that judged it (`policy`, `<jurisdiction>@<version>`: its archived records cite it;
    empty on a plan agreed before plans named it)."""

    plan_id: str
    agreed_on: date
    currency: str
    arrears_minor: int
    received_at_start_minor: int
    instalments: tuple[PlanInstalment, ...]
    approval: Approval
    grace_days: int
    status: PlanStatus = PlanStatus.ACTIVE
    ended_on: date | None = None
    policy: str = ""

    def __post_init__(self) -> None:
        if not self.instalments:
            raise ValueError(f"plan {self.plan_id}: no instalments")
        if sum(i.amount_minor for i in self.instalments) != self.arrears_minor:
            raise ValueError(f"plan {self.plan_id}: instalments do not add up to the arrears")
        dues = [i.due_on for i in self.instalments]
        if dues != sorted(dues) or dues[0] <= self.agreed_on:
            raise ValueError(f"plan {self.plan_id}: instalments must fall after the agreement, in order")

    @property
    def is_active(self) -> bool:
        return self.status is PlanStatus.ACTIVE

    @property
    def last_due(self) -> date:
        return self.instalments[-1].due_on

    @property
    def hold_until(self) -> date:
        """The last day the PLAN hold runs: the last instalment's due date plus the grace days."""
        return self.last_due + timedelta(days=self.grace_days)

    def judge_days(self) -> tuple[date, ...]:
        """The days an assessment must run to judge an instalment not yet judged (the day after its
        due date plus the grace days): the sweep's milestones while the plan is active."""
        if not self.is_active:
            return ()
        return tuple(
            i.due_on + timedelta(days=self.grace_days + 1)
            for i in self.instalments
            if i.outcome is InstalmentOutcome.DUE
        )
