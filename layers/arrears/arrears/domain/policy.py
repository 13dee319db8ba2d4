"""The collection policy in force: buckets, and the strategy that applies to each loan.

`strategy_for(loan)` and `milestones_for(loan)` are the two questions the sweep and the planner
ask; strategies per jurisdiction, champion/challenger arms and risk bands all answer through them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from arrears.domain.assessment import Milestones
from arrears.domain.delinquency import BucketPolicy
from arrears.domain.loans import Loan
from arrears.domain.strategy import Strategy


@dataclass(frozen=True, slots=True)
class CollectionPolicy:
    buckets: BucketPolicy
    strategy: Strategy
    by_jurisdiction: Mapping[str, Strategy] = field(default_factory=dict)

    def strategy_for(self, loan: Loan) -> Strategy:
        return self.by_jurisdiction.get(loan.jurisdiction, self.strategy)

    def milestones_for(self, loan: Loan) -> Milestones:
        return Milestones.build(self.buckets, self.strategy_for(loan).offsets)
