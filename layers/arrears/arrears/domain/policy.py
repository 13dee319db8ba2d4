"""The collection policy in force: buckets, and the strategy that applies to each loan.

`strategy_for(loan)` and `milestones_for(loan)` are the two questions the sweep and the planner
ask; strategies per jurisdiction, champion/challenger arms and risk bands all answer through them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

from arrears.domain.assessment import Milestones
from arrears.domain.delinquency import BucketPolicy, arrears_anchor
from arrears.domain.loans import Loan
from arrears.domain.strategy import Arm, Strategy, StrategySet, single
from arrears.domain.terms import DEFAULT_PRODUCT, LoanTerms


@dataclass(frozen=True, slots=True)
class CollectionPolicy:
    buckets: BucketPolicy
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
        """The jurisdictions the policy names a strategy (or a set of arms) for, sorted."""
        return tuple(sorted({*self.by_jurisdiction, *self.arms_by_jurisdiction}))

    def strategy_set_for(self, jurisdiction: str) -> StrategySet:
        arms = self.arms_by_jurisdiction.get(jurisdiction)
        if arms is not None:
            return arms
        return single(self.by_jurisdiction.get(jurisdiction, self.strategy))

    def arm_for(self, loan: Loan) -> Arm:
        """The loan's arm, computed (never defaulted): a stable hash split with the set's weights."""
        return self.strategy_set_for(loan.jurisdiction).arm_for(loan.loan_id)

    def strategy_for(self, loan: Loan) -> Strategy:
        return self.arm_for(loan).strategy

    def milestones_for(self, loan: Loan) -> Milestones:
        """Every day something can happen to the loan: its strategy's steps under any risk band,
        the bucket boundaries, charge-off, and the day after a promise to pay or a hardship pause
        ends (so a broken promise is noticed and paused steps resume on time)."""
        offsets = set(self.strategy_for(loan).offsets)
        anchor = arrears_anchor(loan)
        if anchor is not None:
            for until in (loan.holds.promise_to_pay_until, loan.holds.hardship_until):
                if until is not None:
                    offsets.add((until + timedelta(days=1) - anchor.effective_due).days)
        return Milestones.build(self.buckets, tuple(sorted(offsets)), loan.terms.charge_off_dpd)
