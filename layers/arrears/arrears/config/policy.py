"""The collection policy bundled with the code (the default when no configuration overrides it)."""

from __future__ import annotations

from arrears.domain.delinquency import DEFAULT_BUCKETS
from arrears.domain.policy import CollectionPolicy
from arrears.domain.strategy import DEFAULT_STRATEGY

__all__ = ["DEFAULT_POLICY", "CollectionPolicy"]

DEFAULT_POLICY = CollectionPolicy(buckets=DEFAULT_BUCKETS, strategy=DEFAULT_STRATEGY)
