"""The facts a credit bureau needs about a loan, kept on its history (outside the loan item).

`CreditFacts` is what a bureau file reads besides the loan itself: the date of first delinquency
(DOFD), the charge-off amount, the dispute and plan states, and, for CN, the five-level loan
classification with the date it last changed. `advance_facts` moves them on from one loan version to
the next (the planner applies it to every change from the Loans stream); `month_end` is the
month-end status snapshot a reporting cycle writes once per (loan, period).

Rules and their sources:

* **DOFD** (US): FCRA section 623(a)(5), 15 U.S.C. 1681s-2(a)(5): the furnisher reports "the month and
  year of the commencement of the delinquency on the account that immediately preceded" the
  collection or charge-off, and it is the start of the 7-year reporting period (section 605(c)). Here: the
  first day past due of the instalment in arrears (`arrears_anchor`) when the loan first becomes
  delinquent. It is never moved by a later partial payment (the waterfall may settle the oldest
  instalment and lower the DPD), a payment plan, a sale or a charge-off; it is cleared only when
  the loan is brought fully current with no plan in force (a cure: a later delinquency is a new
  one), and kept once the loan is closed or charged off.
* **Dispute** (FCRA section 623(a)(3)): OPEN while the loan's dispute hold is set; RESOLVED from the day it
  is lifted (Metro 2 compliance condition codes XB / XH: `arrears.domain.metro2`).
* **Plan**: a payment plan in force on the loan (a hold kind `plan` where the loan carries one;
  a loan with no plan field has no plan).
* **CN five-level classification**: 商业银行金融资产风险分类办法 (NFRA/CBIRC and PBOC Order 2023 No. 1),
  the articles defining the five classes (正常, 关注, 次级, 可疑, 损失) and the overdue floors: any
  overdue asset at least special mention (关注), more than 90 days past due at least substandard
  (次级), more than 270 days at least doubtful (可疑), more than 360 days loss (损失). Here the class
  is the floor set by the DPD (a lender's judgement may grade lower, never higher); a charged-off
  loan is loss; a loan repaid in full is normal.

Pure: no clock, no I/O. Money in integer minor units of the loan's currency.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from arrears.domain.delinquency import arrears_anchor, loan_dpd
from arrears.domain.loans import Loan, LoanStatus
from arrears.domain.money import balance, penalty_outstanding

CN_CLASSIFICATION_SOURCE = (
    "商业银行金融资产风险分类办法 (NFRA/CBIRC-PBOC Order 2023 No. 1), five-class definitions"
)
DOFD_SOURCE = "FCRA 623(a)(5), 15 U.S.C. 1681s-2(a)(5)"


class DisputeState(StrEnum):
    NONE = "NONE"
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class LoanClass(StrEnum):
    """The CN five-level classification, best first (the value is the class's Chinese name)."""

    NORMAL = "正常"
    SPECIAL_MENTION = "关注"
    SUBSTANDARD = "次级"
    DOUBTFUL = "可疑"
    LOSS = "损失"


CN_CLASS_FLOORS: tuple[tuple[int, LoanClass], ...] = (
    (361, LoanClass.LOSS),
    (271, LoanClass.DOUBTFUL),
    (91, LoanClass.SUBSTANDARD),
    (1, LoanClass.SPECIAL_MENTION),
)
"""(lowest DPD, class): the overdue floors of the 2023 measures (more than 360 / 270 / 90 days, any)."""


def cn_classification(loan: Loan, dpd: int) -> LoanClass:
    """The five-level class at `dpd` days past due (charged off: loss; repaid: normal)."""
    if loan.status is LoanStatus.CHARGED_OFF:
        return LoanClass.LOSS
    if loan.status is LoanStatus.CLOSED:
        return LoanClass.NORMAL
    return next((cls for low, cls in CN_CLASS_FLOORS if dpd >= low), LoanClass.NORMAL)


def cn_repayment_status(loan: Loan, dpd: int) -> str:
    """The CN repayment status code: N (not overdue), 1-7 by 30-day band of DPD (7: 181 days or
    more), C (settled: repaid in full). A charged-off loan keeps the band it was charged off in."""
    if loan.status is LoanStatus.CLOSED:
        return "C"
    if dpd <= 0:
        return "N"
    return str(min(7, (dpd - 1) // 30 + 1))


def plan_in_force(loan: Loan) -> bool:
    """Whether a payment plan is in force on the loan: its `plan_active` where the loan model has
    one, else a plan hold (`plan_until`, a date, or a `plan` flag); False when it has neither."""
    if getattr(loan, "plan_active", False):
        return True
    holds = loan.holds
    for name in ("plan_until", "plan", "plan_id"):
        value = getattr(holds, name, None)
        if value:
            return True
    return False


@dataclass(frozen=True, slots=True)
class CreditFacts:
    """The bureau facts of one loan as of loan `version` (0: none applied yet).

    `dofd`: date of first delinquency (None: not delinquent). `charge_off_minor`: the balance
    charged off (0: not charged off), on `charged_off_on`. `dispute` and the business date it last
    changed; `plan` and the date it last changed; `cn_class` and `cn_class_since`, the date it last
    changed; `month_high_dpd`: the highest DPD seen in `month_high_period` ("YYYY-MM").
    `jurisdiction`: the loan's (which bureau it goes to). `cn_opened`: the CN new-account record
    was written (`arrears.domain.cn_credit`).
    """

    loan_id: str
    version: int = 0
    jurisdiction: str = ""
    dofd: date | None = None
    charge_off_minor: int = 0
    charged_off_on: date | None = None
    dispute: DisputeState = DisputeState.NONE
    dispute_changed_on: date | None = None
    plan: bool = False
    plan_changed_on: date | None = None
    cn_class: LoanClass = LoanClass.NORMAL
    cn_class_since: date | None = None
    month_high_period: str = ""
    month_high_dpd: int = 0
    cn_opened: bool = False


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def first_day_past_due(loan: Loan) -> date | None:
    """The first day the instalment in arrears was past due (the day after its last on-time day)."""
    anchor = arrears_anchor(loan)
    return None if anchor is None else anchor.effective_due + timedelta(days=1)


def advance_facts(prior: CreditFacts | None, loan: Loan, before: Loan | None = None) -> CreditFacts:
    """The facts after `loan` (a new version of it; `before`, the version it replaced, when known):
    see the module's rules. The month's highest DPD counts the DPD `before` had on the day of the
    change (a payment that cures a loan 45 days past due was made at 45). Idempotent: the same loan
    version applied twice gives the same facts."""
    facts = prior or CreditFacts(loan.loan_id)
    on = loan.evaluated_on or loan.disbursed_on
    dpd = loan.dpd if loan.evaluated_on is not None else loan_dpd(loan, on)
    plan = plan_in_force(loan)
    dofd = facts.dofd
    if dpd > 0 and dofd is None:
        dofd = first_day_past_due(loan)
    elif loan.status is LoanStatus.OPEN and dpd == 0 and not plan:
        dofd = None  # brought fully current: a cure, a later delinquency is a new one
    charge_off = facts.charge_off_minor
    charged_on = facts.charged_off_on
    if loan.status is LoanStatus.CHARGED_OFF and not charge_off:
        charged_on = loan.charged_off_on or on
        charge_off = balance(loan, charged_on)
    dispute, dispute_on = facts.dispute, facts.dispute_changed_on
    if loan.holds.dispute_open and dispute is not DisputeState.OPEN:
        dispute, dispute_on = DisputeState.OPEN, on
    elif not loan.holds.dispute_open and dispute is DisputeState.OPEN:
        dispute, dispute_on = DisputeState.RESOLVED, on
    plan_on = on if plan != facts.plan else facts.plan_changed_on
    cls = cn_classification(loan, dpd)
    cls_since = on if cls != facts.cn_class or facts.cn_class_since is None else facts.cn_class_since
    period = period_of(on)
    seen = dpd
    if before is not None and before.status is LoanStatus.OPEN and before.evaluated_on is not None:
        seen = max(seen, loan_dpd(before, max(on, before.evaluated_on)))
    high = max(seen, facts.month_high_dpd) if period == facts.month_high_period else seen
    return replace(
        facts,
        version=max(loan.version, facts.version),
        jurisdiction=loan.jurisdiction,
        dofd=dofd,
        charge_off_minor=charge_off,
        charged_off_on=charged_on,
        dispute=dispute,
        dispute_changed_on=dispute_on,
        plan=plan,
        plan_changed_on=plan_on,
        cn_class=cls,
        cn_class_since=cls_since,
        month_high_period=period,
        month_high_dpd=high,
    )


def paid_total(loan: Loan) -> int:
    """Everything the borrower has paid on the loan (schedule, penalty, recoveries after charge-off)."""
    scheduled = sum(i.principal_paid + i.interest_paid + i.fee_paid for i in loan.instalments)
    return scheduled + loan.penalty_paid_minor + loan.recovered_minor


def amount_past_due(loan: Loan, on: date) -> int:
    """What is past due on `on`: instalments whose last on-time day has passed, and the penalty;
    a charged-off loan's whole balance; 0 for a closed loan."""
    if loan.status is LoanStatus.CLOSED:
        return 0
    if loan.status is LoanStatus.CHARGED_OFF:
        return balance(loan, on)
    late = sum(i.outstanding for i in loan.instalments if i.effective_due < on)
    return late + penalty_outstanding(loan, on) if late else 0


@dataclass(frozen=True, slots=True)
class MonthEnd:
    """A loan's status at the end of a reporting period ("YYYY-MM"), as reported that cycle.

    `dpd` at the period's last day, `highest_dpd` seen in the period, `amount_past_due_minor`,
    `balance_minor`, `paid_total_minor` (all paid so far: the cycle's payment is the difference with
    the previous snapshot), `last_payment_on`, `status` (the loan's status), `dofd`, `dispute`,
    `plan`, `cn_class`.
    """

    period: str
    as_of: date
    dpd: int
    highest_dpd: int
    amount_past_due_minor: int
    balance_minor: int
    paid_total_minor: int
    last_payment_on: date | None
    status: str
    dofd: date | None
    dispute: DisputeState
    plan: bool
    cn_class: LoanClass


def month_end(loan: Loan, facts: CreditFacts, as_of: date) -> MonthEnd:
    """The snapshot of `loan` at the end of the period holding `as_of` (its last day)."""
    dpd = loan_dpd(loan, as_of) if loan.status is not LoanStatus.CLOSED else 0
    period = period_of(as_of)
    high = max(dpd, facts.month_high_dpd) if facts.month_high_period == period else dpd
    owed = 0 if loan.status is LoanStatus.CLOSED else balance(loan, as_of)
    return MonthEnd(
        period=period,
        as_of=as_of,
        dpd=dpd,
        highest_dpd=high,
        amount_past_due_minor=amount_past_due(loan, as_of),
        balance_minor=owed,
        paid_total_minor=paid_total(loan),
        last_payment_on=loan.last_value_date,
        status=loan.status.value,
        dofd=facts.dofd,
        dispute=facts.dispute,
        plan=facts.plan,
        cn_class=cn_classification(loan, dpd),
    )


__all__ = [
    "CN_CLASSIFICATION_SOURCE",
    "CN_CLASS_FLOORS",
    "DOFD_SOURCE",
    "CreditFacts",
    "DisputeState",
    "LoanClass",
    "MonthEnd",
    "advance_facts",
    "amount_past_due",
    "cn_classification",
    "cn_repayment_status",
    "first_day_past_due",
    "month_end",
    "paid_total",
    "period_of",
    "plan_in_force",
]
