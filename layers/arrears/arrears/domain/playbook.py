"""The collection playbook: delinquency buckets, charge-off, and the strategies per jurisdiction.

One playbook is one document (`arrears/config/bundled/strategies.yaml`, or its SSM override; read by
`arrears.config.playbook`). `strategy_for(loan)` and `milestones_for(loan)` are the two questions the
sweep and the planner ask of it; strategies per jurisdiction, champion/challenger arms and risk
bands all answer through them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from arrears.domain.delinquency import DelinquencyBuckets, arrears_anchor
from arrears.domain.loans import Loan
from arrears.domain.strategy import Arm, Strategy, StrategySet, single
from arrears.domain.terms import DEFAULT_PRODUCT, LoanTerms


@dataclass(frozen=True, slots=True)
class Milestones:
    """Offsets (days from the arrears anchor's last on-time day) on which a loan must be looked at.

    The due day (0), every strategy step's offset (negative for pre-due reminders), every bucket
    boundary and the charge-off day (the loan's product's). Between two milestones nothing a user
    can see changes.
    """

    offsets: tuple[int, ...]

    @classmethod
    def build(
        cls, buckets: DelinquencyBuckets, step_offsets: tuple[int, ...], charge_off_dpd: int | None = None
    ) -> Milestones:
        charge_off = buckets.charge_off_dpd if charge_off_dpd is None else charge_off_dpd
        values = {0, charge_off, *buckets.boundaries, *step_offsets}
        return cls(tuple(sorted(v for v in values if v <= charge_off)))

    def next_after(self, loan: Loan, on: date) -> date | None:
        """The first milestone date strictly after `on`, or None when none remains."""
        anchor = arrears_anchor(loan)
        if anchor is None:
            return None
        for offset in self.offsets:
            when = anchor.effective_due + timedelta(days=offset)
            if when > on:
                return when
        return None


@dataclass(frozen=True, slots=True)
class CollectionPlaybook:
    """Everything the collection of a loan follows, besides the law (the rule packs).

    `buckets`: the delinquency buckets by DPD and the charge-off DPD. `strategy`: the strategy of a
    jurisdiction the playbook names nothing for. `by_jurisdiction`: one strategy per jurisdiction;
    `arms_by_jurisdiction`: champion/challenger arms per jurisdiction (these win over the former).
    """

    buckets: DelinquencyBuckets
    strategy: Strategy
    by_jurisdiction: Mapping[str, Strategy] = field(default_factory=dict)
    arms_by_jurisdiction: Mapping[str, StrategySet] = field(default_factory=dict)
    # Product terms by product id (`products` in the document); any other id gets the defaults with
    # the document's charge-off age.
    products: Mapping[str, LoanTerms] = field(default_factory=dict)

    def terms_for(self, product: str) -> LoanTerms:
        """The terms a loan of `product` is registered under."""
        known = self.products.get(product)
        if known is not None:
            return known
        fallback = self.products.get(DEFAULT_PRODUCT)
        if fallback is not None:
            return replace(fallback, product=product)
        return LoanTerms(product=product, charge_off_dpd=self.buckets.charge_off_dpd)

    @property
    def jurisdictions(self) -> tuple[str, ...]:
        """The jurisdictions the playbook names a strategy (or a set of arms) for, sorted."""
        return tuple(sorted({*self.by_jurisdiction, *self.arms_by_jurisdiction}))

    def strategy_set_for(self, jurisdiction: str) -> StrategySet:
        arms = self.arms_by_jurisdiction.get(jurisdiction)
        if arms is not None:
            return arms
        return single(self.by_jurisdiction.get(jurisdiction, self.strategy))

    def assign_arm(self, loan: Loan) -> Arm:
        """The arm a loan is registered into: a stable hash of its **borrower** id split with the
        weights of its jurisdiction's set (`StrategySet.arm_for`). The borrower is the unit of
        randomisation, so every loan of one borrower in one jurisdiction shares an arm and the
        per-borrower rules (a weekly contact count, one open call task, a complaint) cannot couple
        the arms. Called once, at registration; the loan carries the result as `strategy_arm`."""
        return self.strategy_set_for(loan.jurisdiction).arm_for(loan.borrower_id)

    def arm_for(self, loan: Loan) -> Arm:
        """The arm the loan was registered into (`loan.strategy_arm`), never recomputed: a new
        weight, a new arm or an erasure (which replaces the borrower id by a pseudonym) does not
        move a loan already in collection. An arm the playbook no longer has gives the champion."""
        return self.strategy_set_for(loan.jurisdiction).named(loan.strategy_arm)

    def strategy_for(self, loan: Loan) -> Strategy:
        return self.arm_for(loan).strategy

    def milestones_for(self, loan: Loan) -> Milestones:
        """Every day something can happen to the loan: its strategy's steps under any risk band,
        the bucket boundaries, charge-off, the day after a promise to pay or a hardship pause
        ends (so a broken promise is noticed and paused steps resume on time), and the day each
        plan instalment's grace ends."""
        # The steps of the loan's branch (what its borrower said): a hold recorded or an assessment
        # that changes the branch re-assesses the loan, so its next milestone follows the branch.
        offsets = set(self.strategy_for(loan).for_loan(loan).offsets)
        anchor = arrears_anchor(loan)
        if anchor is not None:
            for until in (loan.holds.promise_to_pay_until, loan.holds.hardship_until):
                if until is not None:
                    offsets.add((until + timedelta(days=1) - anchor.effective_due).days)
            if loan.plan is not None:
                # Each plan instalment is judged the day after its grace ends (arrears.domain.plans).
                offsets.update((day - anchor.effective_due).days for day in loan.plan.judge_days())
        return Milestones.build(self.buckets, tuple(sorted(offsets)), loan.terms.charge_off_dpd)
