"""Daily detection: assess every loan whose next milestone has arrived, shard by shard."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arrears.adapters.dynamodb import LoanRepository, VersionConflict
from arrears.config.policy import CollectionPolicy
from arrears.domain.assessment import assess, collection_state_changed
from arrears.domain.loans import Loan
from arrears.usecases.business_time import business_date, latest_business_date

MAX_CONFLICT_RETRIES = 5


@dataclass
class ShardSweep:
    shard: int
    examined: int = 0
    milestones_hit: int = 0
    writes: int = 0
    conflicts: int = 0
    items_read: int = 0
    continuation: dict[str, Any] | None = None
    changed_loan_ids: list[str] = field(default_factory=list)


def _assess_and_save(
    loans: LoanRepository, loan: Loan, at: datetime, policy: CollectionPolicy, shards: int, result: ShardSweep
) -> None:
    """Assess one loan and write it if its state changed; on a concurrent write, re-read and retry."""
    for _ in range(MAX_CONFLICT_RETRIES):
        on = business_date(at, loan.jurisdiction)
        if loan.next_review_on is not None and loan.next_review_on > on:
            return  # its milestone is tomorrow in its own jurisdiction
        assessed = assess(loan, on, policy, shards)
        if not collection_state_changed(loan, assessed):
            return
        result.milestones_hit += 1
        try:
            loans.save(assessed)
        except VersionConflict:
            result.conflicts += 1
            fresh = loans.get(loan.loan_id)
            if fresh is None:
                return
            loan = fresh
            continue
        result.writes += 1
        result.changed_loan_ids.append(loan.loan_id)
        return
    raise VersionConflict(f"loan {loan.loan_id}: still conflicting after {MAX_CONFLICT_RETRIES} re-reads")


def sweep_shard(
    loans: LoanRepository,
    shard: int,
    at: datetime,
    policy: CollectionPolicy,
    shard_count: int,
    *,
    start_key: Mapping[str, Any] | None = None,
    has_time_left: Callable[[], bool] = lambda: True,
    page_size: int = 200,
) -> ShardSweep:
    """Sweep one shard from `start_key`; stops early with `continuation` set when time runs short."""
    result = ShardSweep(shard)
    through = latest_business_date(at)
    key = start_key
    while True:
        page = loans.review_page(shard, through, key, page_size)
        result.items_read += page.scanned_count
        for loan in page.loans:
            result.examined += 1
            _assess_and_save(loans, loan, at, policy, shard_count, result)
        key = page.last_evaluated_key
        if key is None:
            return result
        if not has_time_left():
            result.continuation = dict(key)
            return result
