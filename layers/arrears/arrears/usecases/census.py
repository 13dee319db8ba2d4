"""The daily census: how many open loans each (jurisdiction, bucket) holds after the day's sweep.

No metric holds that stock: the sweep reads only the loans whose milestone arrived. So, when a
shard's sweep completes, the sweep worker enqueues a census task for the same shard and business
time on the sweep-tasks queue. The census Queries ReviewIndex for the whole shard (every open loan,
and only open loans, carry `review_shard`), projected to jurisdiction, bucket and the keys, and
tallies the loans per (jurisdiction, bucket). Like a sweep task it stops when its time budget runs
short and re-enqueues its continuation, which carries `start_key` and the partial counts.

When the shard is counted, the worker claims (business date, shard) in the run ledger with a
conditional write; only the claimer gets rows to emit (one `OpenLoans` metric per jurisdiction and
bucket of the policy, zeros included). A redelivered or duplicated final task claims nothing and
emits nothing, so a day's sum over the shards counts every shard once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from arrears.adapters.dynamodb import CensusPage
from arrears.adapters.items import MalformedItem
from arrears.config.rulepacks import bundled_rule_packs
from arrears.domain.business_time import latest_business_date
from arrears.domain.playbook import CollectionPlaybook
from arrears.usecases.sweep import RUN_RECORD_TTL, SweepTask, TaskQueue, read_shard_fields, shard_fields_body

CENSUS_KIND = "census"
SWEEP_KIND = "sweep"

Counts = dict[tuple[str, str], int]
"""(jurisdiction, bucket) -> open loans."""


class CensusLoans(Protocol):
    def census_page(
        self, shard: int, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> CensusPage: ...


class CensusLedger(Protocol):
    def claim_census(self, business_date: date, shard: int, expires_at: int) -> bool: ...


def counts_to_body(counts: Mapping[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    """`{"CN": {"M0": 120, "M1": 7}, ...}`: the partial counts a continuation carries."""
    body: dict[str, dict[str, int]] = {}
    for (jurisdiction, bucket), count in sorted(counts.items()):
        body.setdefault(jurisdiction, {})[bucket] = int(count)
    return body


def counts_from_body(raw: Any) -> Counts:
    """The counts of a census body; ValueError names what is wrong, never the input's values."""
    if not isinstance(raw, dict):
        raise ValueError("counts must be an object of jurisdictions")
    counts: Counts = {}
    for jurisdiction, buckets in raw.items():
        if not isinstance(jurisdiction, str) or not jurisdiction or not isinstance(buckets, dict):
            raise ValueError("counts of a jurisdiction must be an object of buckets")
        for bucket, count in buckets.items():
            if not isinstance(bucket, str) or not bucket:
                raise ValueError("a bucket of the counts is not a name")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError("a count is not a non-negative integer")
            counts[(jurisdiction, bucket)] = count
    return counts


@dataclass(frozen=True, slots=True)
class CensusTask:
    """Count a shard's open loans for the sweep at `business_time`, from `start_key` on.

    Message body (docs/contracts.md): {"kind": "census", "business_time", "shard", "shard_count",
    "start_key"?, "counts"?}.
    """

    business_time: datetime
    shard: int
    shard_count: int
    start_key: dict[str, Any] | None = None
    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @property
    def run_date(self) -> date:
        """The business date the run is known by (as `SweepTask.run_date`)."""
        return latest_business_date(self.business_time, bundled_rule_packs().latest.values())

    @classmethod
    def after(cls, sweep: SweepTask) -> CensusTask:
        """The census of the shard a completed sweep task swept, at the same business time."""
        return cls(sweep.business_time, sweep.shard, sweep.shard_count)

    def to_body(self) -> dict[str, Any]:
        body = {
            "kind": CENSUS_KIND,
            **shard_fields_body(self.business_time, self.shard, self.shard_count, self.start_key),
        }
        if self.counts:
            body["counts"] = counts_to_body(self.counts)
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> CensusTask:
        try:
            if body.get("kind") != CENSUS_KIND:
                raise ValueError(f"kind is not {CENSUS_KIND!r}")
            return cls(*read_shard_fields(body), counts_from_body(body.get("counts", {})))
        except (KeyError, ValueError, TypeError, AttributeError) as error:
            raise MalformedItem(f"not a census task: {error}") from None

    def continued(self, start_key: Mapping[str, Any], counts: Mapping[tuple[str, str], int]) -> CensusTask:
        return CensusTask(self.business_time, self.shard, self.shard_count, dict(start_key), dict(counts))


def parse_task(text: str | bytes) -> SweepTask | CensusTask:
    """A sweep-tasks message body: a census task (`kind` "census") or a sweep task (no `kind`).

    Raises MalformedItem for anything else (not JSON, not an object, an unknown kind, bad fields).
    """
    try:
        body = json.loads(text)
    except (TypeError, ValueError) as error:
        raise MalformedItem(f"sweep-tasks body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise MalformedItem(f"sweep-tasks body is not an object but {type(body).__name__}")
    kind = body.get("kind", SWEEP_KIND)
    if kind == CENSUS_KIND:
        return CensusTask.from_body(body)
    if kind == SWEEP_KIND:
        return SweepTask.from_body(body)
    raise MalformedItem("sweep-tasks body of an unknown kind")  # the kind is input: not quoted


def enqueue_census(sweep: SweepTask, queue: TaskQueue) -> CensusTask:
    """Send the census of a completed sweep task's shard to the sweep-tasks queue."""
    task = CensusTask.after(sweep)
    queue.send([task.to_body()])
    return task


def tally(counts: Mapping[tuple[str, str], int], rows: Iterable[tuple[str, str]]) -> Counts:
    """`counts` plus one for each (jurisdiction, bucket) row; a new mapping, `counts` is untouched."""
    total: Counts = dict(counts)
    for key in rows:
        total[key] = total.get(key, 0) + 1
    return total


@dataclass
class ShardCensus:
    shard: int
    counts: Counts
    items_read: int = 0  # this segment's ScannedCount (what the reads were charged on)
    counted: int = 0  # loans this segment added to the counts
    pages: int = 0
    continuation: dict[str, Any] | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def count_shard(
    loans: CensusLoans,
    shard: int,
    *,
    start_key: Mapping[str, Any] | None = None,
    counts: Mapping[tuple[str, str], int] | None = None,
    has_time_left: Callable[[], bool] = lambda: True,
    page_size: int = 200,
) -> ShardCensus:
    """Count a shard's open loans from `start_key` on, on top of `counts`.

    Stops early with `continuation` set when time runs short; at least one page is read per call,
    so a continuation always makes progress.
    """
    result = ShardCensus(shard, dict(counts or {}))
    key = start_key
    while True:
        page = loans.census_page(shard, key, page_size)
        result.pages += 1
        result.items_read += page.scanned_count
        result.counted += len(page.rows)
        result.counts = tally(result.counts, page.rows)
        key = page.last_evaluated_key
        if key is None:
            return result
        if not has_time_left():
            result.continuation = dict(key)
            return result


@dataclass(frozen=True, slots=True)
class CensusRow:
    jurisdiction: str
    bucket: str
    count: int


def census_rows(counts: Mapping[tuple[str, str], int], playbook: CollectionPlaybook) -> list[CensusRow]:
    """One row per (jurisdiction, bucket): every bucket of the policy for every jurisdiction of the
    policy (0 when the shard has none, so a sum over the shards has no gaps), plus any other pair
    the shard holds; jurisdictions sorted, buckets in the policy's order and then by name."""
    jurisdictions = sorted({*playbook.jurisdictions, *(j for j, _ in counts)})
    rows = []
    for jurisdiction in jurisdictions:
        extra = sorted(b for j, b in counts if j == jurisdiction and b not in playbook.buckets.names)
        for bucket in (*playbook.buckets.names, *extra):
            rows.append(CensusRow(jurisdiction, bucket, int(counts.get((jurisdiction, bucket), 0))))
    return rows


@dataclass(frozen=True)
class CensusOutcome:
    task: CensusTask
    result: ShardCensus
    re_enqueued: bool
    claimed: bool  # this call counted the shard for its business date: it must emit `rows`
    rows: tuple[CensusRow, ...] = ()


def run_census_task(
    task: CensusTask,
    *,
    loans: CensusLoans,
    playbook: CollectionPlaybook,
    queue: TaskQueue,
    runs: CensusLedger,
    has_time_left: Callable[[], bool] = lambda: True,
    page_size: int = 200,
) -> CensusOutcome:
    """Count a task's shard; re-enqueue the continuation, or claim the shard's census for the date.

    The rows to emit come back only with the claim, which is taken before anything is emitted: a
    redelivered or duplicated final task, or a second census of the same shard and date, finds the
    claim taken and emits nothing (at most once; a crash between the claim and the emission loses
    that shard's rows for the day rather than counting them twice).
    """
    result = count_shard(
        loans,
        task.shard,
        start_key=task.start_key,
        counts=task.counts,
        has_time_left=has_time_left,
        page_size=page_size,
    )
    if result.continuation is not None:
        queue.send([task.continued(result.continuation, result.counts).to_body()])
        return CensusOutcome(task, result, re_enqueued=True, claimed=False)
    expires_at = int((task.business_time + RUN_RECORD_TTL).timestamp())
    if not runs.claim_census(task.run_date, task.shard, expires_at):
        return CensusOutcome(task, result, re_enqueued=False, claimed=False)
    rows = tuple(census_rows(result.counts, playbook))
    return CensusOutcome(task, result, re_enqueued=False, claimed=True, rows=rows)
