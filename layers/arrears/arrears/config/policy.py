"""The collection policy in force: buckets, strategy and the milestones they imply."""

from __future__ import annotations

from dataclasses import dataclass

from arrears.domain.assessment import Milestones
from arrears.domain.delinquency import DEFAULT_BUCKETS, BucketPolicy
from arrears.domain.strategy import DEFAULT_STRATEGY, Strategy


@dataclass(frozen=True, slots=True)
class CollectionPolicy:
    buckets: BucketPolicy
    strategy: Strategy

    @property
    def milestones(self) -> Milestones:
        return Milestones.build(self.buckets, self.strategy.offsets)


DEFAULT_POLICY = CollectionPolicy(buckets=DEFAULT_BUCKETS, strategy=DEFAULT_STRATEGY)
