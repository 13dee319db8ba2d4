"""What the planner decides for one strategy step: plan it, defer it, suppress it, or skip it.

Pure: the loan, the step, the rule pack and a few facts about the borrower in; a decision with
every rule checked and its verdict out. The rules, in order:

- conditions of the step (bucket, risk band, amount threshold, covered region): a step whose
  conditions do not hold does not apply to this loan (SKIP, nothing is written);
- the pack's channel rules (field visits not used in this jurisdiction): SUPPRESS;
- `limitation_period`: a legal step, or a message that threatens suit, once the loan's claim is
  time-barred (`arrears.domain.limitation`): SUPPRESS;
- the hold rules shared with the dispatcher's gate (`arrears.domain.compliance.check_holds`):
  stop, cease contact, open dispute and channel opt-out SUPPRESS; hardship and a promise to pay
  DEFER to the day after they end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from arrears.domain.compliance import check_holds
from arrears.domain.limitation import LIMITATION_RULE, barred_reason, threatens_suit, time_barred
from arrears.domain.loans import Loan
from arrears.domain.rulepacks import RulePack
from arrears.domain.strategy import Channel, Step
from arrears.domain.verdicts import FAIL, PASS, RulesChecked, Verdict


@dataclass(frozen=True, slots=True)
class BorrowerFacts:
    """What the planner needs to know of the borrower: no PII."""

    region: str = "unknown"
    opted_out_channels: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class StepDecision:
    """The planner's verdict on one step: PLAN, DEFER, SUPPRESS or SKIP (`reason` empty for PLAN)."""

    verdict: Verdict
    rules_checked: RulesChecked
    reason: str = ""
    resume_on: date | None = None  # DEFER: the business date the step may go out


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
    """Judge `step` for `loan` on business date `on` (`amount_minor`: what is due, in minor units)."""
    checked: list[tuple[str, str]] = [("loan_open", PASS), ("step_reached", PASS)]

    def done(verdict: Verdict, rule: str, reason: str) -> StepDecision:
        checked.append((rule, FAIL))
        return StepDecision(verdict, tuple(checked), reason)

    if step.buckets and loan.bucket not in step.buckets:
        return done(Verdict.SKIP, "bucket", f"bucket {loan.bucket} not in {sorted(step.buckets)}")
    checked.append(("bucket", PASS))
    if not step.applies_to_band(band):
        return done(Verdict.SKIP, "risk_band", f"risk band {band} not in {sorted(step.risk_bands)}")
    checked.append(("risk_band", PASS))
    if amount_minor < step.min_amount_minor:
        return done(Verdict.SKIP, "min_amount", f"amount due below {step.min_amount_minor}")
    checked.append(("min_amount", PASS))
    if step.channel is Channel.FIELD_VISIT:
        if step.regions and borrower.region not in step.regions:
            return done(Verdict.SKIP, "region_covered", "borrower's region has no field collectors")
        checked.append(("region_covered", PASS))
        if not pack.field_visits_enabled:
            return done(
                Verdict.SUPPRESS, "field_visits_enabled", f"{pack.pack_id} rules do not use field visits"
            )
        checked.append(("field_visits_enabled", PASS))

    if pack.limitation is not None and threatens_suit(step.channel, step.template_id):
        if time_barred(loan, pack.limitation, on):
            return done(Verdict.SUPPRESS, LIMITATION_RULE, barred_reason(loan, pack.limitation))
        checked.append((LIMITATION_RULE, PASS))
    held = check_holds(
        channel=step.channel, loan=loan, pack=pack, opted_out_channels=borrower.opted_out_channels, on=on
    )
    rules = (*checked, *held.rules_checked)
    if held.verdict is None:
        return StepDecision(Verdict.PLAN, rules)
    resume = held.paused_until + timedelta(days=1) if held.paused_until is not None else None
    return StepDecision(held.verdict, rules, held.reason, resume)


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
