"""The reconciliation census: how many open loans each (jurisdiction, bucket) holds, read from the table.

The daily stock comes from the transition counters (`arrears.usecases.book_stock`); every
`census_interval_days` the census checks it. On such a day the sweep's start snapshots the stock in
the date's run record and sends one census task per segment instead of the sweep tasks; the census
task that completes the last segment sends the day's sweep tasks (`sweep_after`), so the whole book
is counted before the day's sweep writes to it, against a stock read before the census began (a
Scan segment is not a review shard: a segment holds loans of every shard). The census reads the
segment numbered like the task's shard, of a parallel Scan of the Loans table (every open loan,
and only open loans, carry `review_shard`), projected to jurisdiction, bucket and the keys, and
tallies the loans per (jurisdiction, bucket). Like a sweep task it stops when its time budget runs
short and re-enqueues its continuation, which carries `start_key` and the partial counts.

When the shard is counted, the worker claims (business date, shard) in the run ledger with a
conditional write that also adds the shard's counts to the date's totals; a redelivered or
duplicated final task claims nothing and adds nothing, so the totals count every shard once. The
claim that completes the date's last shard gets the totals of the book and the snapshot, which the
worker reconciles (`arrears.usecases.book_stock.reconcile`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from arrears.adapters.dynamodb import CensusPage
from arrears.adapters.items import MalformedItem, json_object
from arrears.adapters.sweep_runs import CensusClaim
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
    def claim_census_counts(
        self,
        business_date: date,
        shard: int,
        expires_at: int,
        counts: Mapping[tuple[str, str], int],
        *,
        shard_count: int,
    ) -> CensusClaim: ...


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
    "start_key"?, "counts"?, "sweep_after"?}. With `sweep_after`, the day's sweep tasks are sent once
    every segment is counted (the census day's order: count the book, then sweep it).
    """

    business_time: datetime
    shard: int
    shard_count: int
    start_key: dict[str, Any] | None = None
    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    sweep_after: bool = False

    @property
    def run_date(self) -> date:
        """The business date the run is known by (as `SweepTask.run_date`)."""
        return latest_business_date(self.business_time, bundled_rule_packs().latest.values())

    def to_body(self) -> dict[str, Any]:
        body = {
            "kind": CENSUS_KIND,
            **shard_fields_body(self.business_time, self.shard, self.shard_count, self.start_key),
        }
        if self.counts:
            body["counts"] = counts_to_body(self.counts)
        if self.sweep_after:
            body["sweep_after"] = True
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> CensusTask:
        try:
            if body.get("kind") != CENSUS_KIND:
                raise ValueError(f"kind is not {CENSUS_KIND!r}")
            sweep_after = body.get("sweep_after", False)
            if not isinstance(sweep_after, bool):
                raise ValueError("sweep_after must be a boolean")
            return cls(*read_shard_fields(body), counts_from_body(body.get("counts", {})), sweep_after)
        except (KeyError, ValueError, TypeError, AttributeError) as error:
            raise MalformedItem(f"not a census task: {error}") from None

    def continued(self, start_key: Mapping[str, Any], counts: Mapping[tuple[str, str], int]) -> CensusTask:
        return CensusTask(
            self.business_time, self.shard, self.shard_count, dict(start_key), dict(counts), self.sweep_after
        )


def parse_task(text: str | bytes) -> SweepTask | CensusTask:
    """A sweep-tasks message body: a census task (`kind` "census") or a sweep task (no `kind`).

    Raises MalformedItem for anything else (not JSON, not an object, an unknown kind, bad fields).
    """
    body = json_object(text, "sweep-tasks")
    kind = body.get("kind", SWEEP_KIND)
    if kind == CENSUS_KIND:
        return CensusTask.from_body(body)
    if kind == SWEEP_KIND:
        return SweepTask.from_body(body)
    raise MalformedItem("sweep-tasks body of an unknown kind")  # the kind is input: not quoted


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
    claimed: bool  # this call counted the shard for its business date (its counts are in the totals)
    totals: Counts | None = None  # the whole book's census, once every segment of the date is counted
    snapshot: Counts | None = None  # with the totals: the stock the sweep's start read (None: none taken)
    completed_now: bool = False  # this call counted the date's last segment: it reconciles

    @property
    def completed(self) -> bool:
        """Every segment of the date is counted (by this call or an earlier one)."""
        return self.totals is not None


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

    The claim adds the shard's counts to the date's totals in the same conditional write: a
    redelivered or duplicated final task, or a second census of the same shard and date, finds the
    claim taken and adds nothing. The call that completes the date's last shard gets the totals.
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
    claim = runs.claim_census_counts(
        task.run_date, task.shard, expires_at, result.counts, shard_count=task.shard_count
    )
    outcome = CensusOutcome(
        task,
        result,
        re_enqueued=False,
        claimed=claim.claimed,
        totals=claim.totals,
        snapshot=claim.snapshot,
        completed_now=claim.completed_now,
    )
    return outcome
