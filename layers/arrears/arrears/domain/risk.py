"""Behavioural risk score: points per feature, each with its reason, summed into a band.

Explainable by construction: a collector, a borrower or an auditor can read why a loan is HIGH
risk from the features stored beside the score. Inputs are the loan's own repayment behaviour
(instalments' due and settled dates, partial payments, the current DPD) and two counters other
parts of the system keep on the loan (`arrears.domain.behaviour`): `broken_promises`, counted by the
assessment once per promise not kept, and `unanswered_contacts`, the calls in a row that did not
connect, counted by the dispatcher from the dialer's `CallOutcome` reports. Promises to pay and
repayment plans count both ways: a broken promise and a missed plan instalment add to
`broken_promises`; each plan instalment kept, while the plan is in force, takes points off
(`plan_instalments_kept`, negative points; the total never goes below 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from arrears.domain.loans import Loan

LOW_BELOW = 20
HIGH_FROM = 50


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    value: int  # the observed value (ratios in percent, counts, days)
    points: int
    reason: str


@dataclass(frozen=True, slots=True)
class RiskScore:
    score: int
    band: str
    features: tuple[Feature, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "score": self.score,
            "band": self.band,
            "features": [
                {"name": f.name, "value": f.value, "points": f.points, "reason": f.reason}
                for f in self.features
            ],
        }


def band_for(score: int) -> str:
    if score < LOW_BELOW:
        return "LOW"
    return "MEDIUM" if score < HIGH_FROM else "HIGH"


def _tier(value: int, tiers: tuple[tuple[int, int], ...]) -> int:
    """Points of the highest tier whose threshold `value` reaches (tiers ascending)."""
    points = 0
    for threshold, tier_points in tiers:
        if value >= threshold:
            points = tier_points
    return points


def score(loan: Loan, on: date) -> RiskScore:
    """The loan's risk on `on`. Pure: the same loan and day always give the same score."""
    # Lateness counts from each instalment's last on-time day (its due date, or the next working day).
    due = [i for i in loan.instalments if i.effective_due < on]
    lateness = [
        ((i.settled_on if i.settled_on is not None else on) - i.effective_due).days
        for i in due
        if i.settled_on is None or i.settled_on > i.effective_due
    ]
    worst = max([0, loan.dpd, *lateness])
    features = [Feature("max_dpd", worst, _tier(worst, ((1, 10), (8, 20), (31, 35))), "worst days past due")]

    on_time = sum(1 for i in due if i.settled_on is not None and i.settled_on <= i.effective_due)
    if due:
        ratio = on_time * 100 // len(due)
        points = 20 if ratio < 50 else 10 if ratio < 80 else 0
        features.append(
            Feature("on_time_pct", ratio, points, f"{on_time} of {len(due)} instalments paid on time")
        )
    else:
        # A thin file is not a good record: an unknown borrower starts at MEDIUM, not LOW.
        features.append(Feature("on_time_pct", 100, LOW_BELOW, "no instalment due yet: no repayment record"))

    paid_days = [i.settled_on for i in loan.instalments if i.settled_on is not None]
    last = max(paid_days) if paid_days else loan.disbursed_on
    since = max(0, (on - last).days)
    overdue = loan.dpd > 0
    points = _tier(since, ((31, 10), (61, 20))) if overdue else 0
    features.append(Feature("days_since_payment", since, points, "days since the last settled instalment"))

    partial = sum(1 for i in due if not i.is_settled and 0 < i.outstanding < i.total_due)
    features.append(
        Feature("partial_payments", partial, min(15, 5 * partial), "instalments paid only in part")
    )

    features.append(
        Feature(
            "broken_promises",
            loan.broken_promises,
            min(30, 15 * loan.broken_promises),
            "promises to pay not kept",
        )
    )
    features.append(
        Feature(
            "unanswered_contacts",
            loan.unanswered_contacts,
            _tier(loan.unanswered_contacts, ((2, 5), (5, 15))),
            "contacts without a response",
        )
    )
    # A repayment plan being kept lowers the risk (a broken one is already a broken promise above):
    # each plan instalment kept takes 10 points off, at most 30, while the plan is in force (more than
    # the partial payments a plan is made of add).
    plan = loan.plan
    kept = (
        sum(1 for i in plan.instalments if i.outcome.value == "kept")
        if plan is not None and plan.is_active
        else 0
    )
    if plan is not None and plan.is_active:
        features.append(
            Feature("plan_instalments_kept", kept, -min(30, 10 * kept), "repayment plan instalments kept")
        )
    total = max(0, sum(f.points for f in features))
    return RiskScore(total, band_for(total), tuple(features))


def rescore(loan: Loan, on: date) -> Loan:
    """The loan with its score, band and features stored (for the sweep's assessment)."""
    result = score(loan, on)
    return loan.with_changes(
        risk_score=result.score,
        risk_band=result.band,
        risk_features=tuple((f.name, f.value, f.points) for f in result.features),
    )
