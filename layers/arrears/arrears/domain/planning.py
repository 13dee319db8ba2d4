"""What the planner decides for one strategy step: plan it, defer it, suppress it, or skip it.

Pure: the loan, the step, the rule pack and a few facts about the borrower in; a decision with
every rule checked and its verdict out. The rules, in order:

- conditions of the step (bucket, risk band, amount threshold, covered region): a step whose
  conditions do not hold does not apply to this loan (SKIP, nothing is written);
- the pack's channel rules (field visits not used in this jurisdiction): SUPPRESS;
- stopping holds (bankruptcy, death): SUPPRESS everything;
- cease contact: SUPPRESS all but the notices the pack allows (legal remedy, bureau);
- open dispute: SUPPRESS collection contact;
- channel opt-out: SUPPRESS that channel;
- hardship (until a date): DEFER to the day after it ends;
- promise to pay (until a date): DEFER to the day after the promised date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from arrears.domain.loans import Loan
from arrears.domain.rulepacks import RulePack
from arrears.domain.strategy import Channel, Step


class StepVerdict(StrEnum):
    PLAN = "PLAN"
    DEFER = "DEFER"
    SUPPRESS = "SUPPRESS"
    SKIP = "SKIP"


@dataclass(frozen=True, slots=True)
class BorrowerFacts:
    """What the planner needs to know of the borrower: no PII."""

    region: str = "unknown"
    opted_out_channels: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class StepDecision:
    verdict: StepVerdict
    rules_checked: tuple[tuple[str, str], ...]
    reason: str = ""
    resume_on: date | None = None  # DEFER: the business date the step may go out


def is_stopped(loan: Loan) -> bool:
    """Bankruptcy or death: all collection stops and open actions are cancelled."""
    return loan.holds.bankruptcy or loan.holds.deceased


def decide_step(
    step: Step,
    *,
    loan: Loan,
    on: date,
    pack: RulePack,
    band: str,
    amount_minor: int,
    borrower: BorrowerFacts,
) -> StepDecision:
    checked: list[tuple[str, str]] = [("loan_open", "PASS"), ("step_reached", "PASS")]

    def done(verdict: StepVerdict, rule: str, reason: str, resume_on: date | None = None) -> StepDecision:
        checked.append((rule, "FAIL"))
        return StepDecision(verdict, tuple(checked), reason, resume_on)

    if step.buckets and loan.bucket not in step.buckets:
        return done(StepVerdict.SKIP, "bucket", f"bucket {loan.bucket} not in {sorted(step.buckets)}")
    checked.append(("bucket", "PASS"))
    if not step.applies_to_band(band):
        return done(StepVerdict.SKIP, "risk_band", f"risk band {band} not in {sorted(step.risk_bands)}")
    checked.append(("risk_band", "PASS"))
    if amount_minor < step.min_amount_minor:
        return done(StepVerdict.SKIP, "min_amount", f"amount due below {step.min_amount_minor}")
    checked.append(("min_amount", "PASS"))
    if step.channel is Channel.FIELD_VISIT:
        if step.regions and borrower.region not in step.regions:
            return done(StepVerdict.SKIP, "region_covered", "borrower's region has no field collectors")
        checked.append(("region_covered", "PASS"))
        if not pack.field_visits_enabled:
            return done(
                StepVerdict.SUPPRESS, "field_visits_enabled", f"{pack.pack_id} rules do not use field visits"
            )
        checked.append(("field_visits_enabled", "PASS"))

    holds = loan.holds
    if is_stopped(loan):
        return done(StepVerdict.SUPPRESS, "stop_hold", "bankruptcy or death recorded: all collection stopped")
    checked.append(("stop_hold", "PASS"))
    if holds.cease_contact and step.channel not in pack.cease_contact_allows:
        return done(StepVerdict.SUPPRESS, "cease_contact", "borrower asked to cease contact")
    checked.append(("cease_contact", "PASS"))
    if holds.dispute_open and step.channel not in pack.dispute_allows:
        return done(StepVerdict.SUPPRESS, "dispute_open", "debt under dispute: collection contact suppressed")
    checked.append(("dispute_open", "PASS"))
    if step.channel.value in borrower.opted_out_channels:
        return done(StepVerdict.SUPPRESS, "channel_opt_out", f"borrower opted out of {step.channel.value}")
    checked.append(("channel_opt_out", "PASS"))
    if holds.hardship_until is not None and holds.hardship_until >= on:
        resume = holds.hardship_until + timedelta(days=1)
        return done(StepVerdict.DEFER, "hardship", f"hardship pause until {holds.hardship_until}", resume)
    checked.append(("hardship", "PASS"))
    if holds.promise_to_pay_until is not None and holds.promise_to_pay_until >= on:
        resume = holds.promise_to_pay_until + timedelta(days=1)
        return done(
            StepVerdict.DEFER, "promise_to_pay", f"promise to pay until {holds.promise_to_pay_until}", resume
        )
    checked.append(("promise_to_pay", "PASS"))
    return StepDecision(StepVerdict.PLAN, tuple(checked))


def broken_promise(before: Loan | None, after: Loan) -> date | None:
    """The promised date of the promise this change counted as broken, else None.

    The assessment judges a promise once (`arrears.domain.behaviour.judge_promise`) and records the
    promised date in `last_broken_promise`; only the change that recorded it names it, so the
    escalation step (keyed by the promised date) is planned once, and a replayed record of that
    change meets the same conditional put. A kept promise is never named.
    """
    promised = after.last_broken_promise
    if promised is None or after.evaluated_on is None or not after.is_open:
        return None
    if before is not None and before.last_broken_promise == promised:
        return None
    return promised
