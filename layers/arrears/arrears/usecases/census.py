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

It also repairs the timer wheel. An open loan whose next review date is two days or more before the
run's date (`overdue_reviews`) was reached by no sweep, whatever lost it (a review lister batch past the
stream's retention, a sweep that did not run), and is listed under the run's date for the day's
sweep, which runs after the census. An open loan that still carries a listing request (`list_on`:
from a write the sweep has not followed yet) and is due by the next census is listed again under
its date, so a request the lister lost is made good before the loan is due (a duplicate of a request
the lister made is harmless: the sweep reads a loan once however many entries name it). Its
projection reads the next review date and the request with the tally keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from arrears.adapters.dynamodb import CensusPage
from arrears.adapters.items import MalformedItem, json_object
from arrears.adapters.retrying import retry_transient
from arrears.adapters.sweep_runs import CensusClaim
from arrears.config.rulepacks import bundled_rule_packs
from arrears.domain.business_time import latest_business_date
from arrears.domain.playbook import CollectionPlaybook
from arrears.usecases.sweep import (
    RUN_RECORD_TTL,
    DueListPort,
    SweepTask,
    TaskQueue,
    read_shard_fields,
    shard_fields_body,
)

CENSUS_KIND = "census"
SWEEP_KIND = "sweep"

Counts = dict[tuple[str, str], int]
"""(jurisdiction, bucket) -> open loans."""


class CensusLoans(Protocol):
    def census_page(
        self, shard: int, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> CensusPage: ...

    @property
    def due_list(self) -> DueListPort: ...


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
    "start_key"?, "counts"?, "sweep_after"?, "relist_through"?}. With `sweep_after`, the day's sweep
    tasks are sent once every segment is counted (the census day's order: count the book, then sweep
    it). With `relist_through` (the next census's day), the loans still carrying a listing
    request and due by then are listed again under their date (`run_census_task`).
    """

    business_time: datetime
    shard: int
    shard_count: int
    start_key: dict[str, Any] | None = None
    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    sweep_after: bool = False
    relist_through: date | None = None

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
        if self.relist_through is not None:
            body["relist_through"] = self.relist_through.isoformat()
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> CensusTask:
        try:
            if body.get("kind") != CENSUS_KIND:
                raise ValueError(f"kind is not {CENSUS_KIND!r}")
            sweep_after = body.get("sweep_after", False)
            if not isinstance(sweep_after, bool):
                raise ValueError("sweep_after must be a boolean")
            through = body.get("relist_through")
            if through is not None and not isinstance(through, str):
                raise ValueError("relist_through must be an ISO date")
            try:
                relist_through = date.fromisoformat(through) if through is not None else None
            except ValueError:
                raise ValueError("relist_through must be an ISO date") from None
            fields = read_shard_fields(body)
            counts = counts_from_body(body.get("counts", {}))
            return cls(*fields, counts, sweep_after, relist_through)
        except (KeyError, ValueError, TypeError, AttributeError) as error:
            raise MalformedItem(f"not a census task: {error}") from None

    def continued(self, start_key: Mapping[str, Any], counts: Mapping[tuple[str, str], int]) -> CensusTask:
        return CensusTask(
            self.business_time,
            self.shard,
            self.shard_count,
            dict(start_key),
            dict(counts),
            self.sweep_after,
            self.relist_through,
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
    overdue: list[str] = field(default_factory=list)  # open loans whose review passed unswept
    requested: dict[str, date] = field(default_factory=dict)  # loans with a listing request, by date
    due_items_written: int = 0  # due-list items listing both

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def overdue_reviews(run_date: date) -> date:
    """The census lists again an open loan whose next review date is before this, the day before the
    run's date (the latest business date of any jurisdiction; a loan of a jurisdiction a day behind
    due on that day is not due until today's sweep): yesterday's sweep should have moved it on. Such
    a loan is off the timer wheel: its listing was lost (a review lister batch that outlived the
    stream's 24 hours of retention, docs/operations.md) or the sweep has not run. Listed under
    `run_date`, the day's sweep reaches it; an extra entry for a loan that is listed is harmless (the
    sweep reads a loan once however many entries name it)."""
    return run_date - timedelta(days=1)


def count_shard(
    loans: CensusLoans,
    shard: int,
    *,
    start_key: Mapping[str, Any] | None = None,
    counts: Mapping[tuple[str, str], int] | None = None,
    has_time_left: Callable[[], bool] = lambda: True,
    page_size: int = 200,
    overdue_before: date | None = None,
    relist_through: date | None = None,
) -> ShardCensus:
    """Count a shard's open loans from `start_key` on, on top of `counts`; with `overdue_before`,
    collect in `overdue` the loans whose next review date is before it (`overdue_reviews`), and with
    `relist_through` in `requested` the others that still carry a listing request (`list_on`) and
    are due by that date, with their next review date.

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
        for loan_id, on, requested in page.reviews:
            if overdue_before is not None and on < overdue_before:
                result.overdue.append(loan_id)
            elif requested is not None and relist_through is not None and on <= relist_through:
                result.requested[loan_id] = on
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


def list_again(due_list: DueListPort, shard: int, run_date: date, result: ShardCensus) -> None:
    """List the overdue reviews of `result` under `run_date` and its open requests under their dates,
    in `shard`'s partition (one BatchWriteItem of an item per date), counting the items written."""
    if result.overdue or result.requested:
        listing = {**result.requested, **dict.fromkeys(result.overdue, run_date)}
        result.due_items_written = retry_transient(partial(due_list.add, shard, listing))


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

    The loans it read whose review passed unswept (`overdue_reviews`) are listed in the due list
    under the run's date, and those still carrying a listing request due by the task's
    `relist_through` under their own (the request may have been lost with a review lister batch that
    outlived the stream's retention), in one BatchWriteItem of an item per date, before the
    continuation is sent or the claim made: the day's sweep, which runs after the census, reaches the
    overdue ones, and the sweeps to the next census the others.
    """
    result = count_shard(
        loans,
        task.shard,
        start_key=task.start_key,
        counts=task.counts,
        has_time_left=has_time_left,
        page_size=page_size,
        overdue_before=overdue_reviews(task.run_date),
        relist_through=task.relist_through,
    )
    list_again(loans.due_list, task.shard, task.run_date, result)
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
