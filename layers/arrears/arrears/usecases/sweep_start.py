"""The start of a day's sweep: read the book's stock, emit it, size the fan-out from it, send the tasks.

The daily schedule (`functions/sweep`) calls `start_sweep` once per business time:

1. the stock from flows (`arrears.adapters.book_stock`, one Query) gives the open loans per
   jurisdiction and bucket at the close of the previous business date: the day's `OpenLoans` rows;
2. the date's run record is started (once: a re-run emits nothing); on a census day
   (`is_census_day`) it keeps the stock read, and one census task
   per shard is sent, each of which sends its shard's sweep task once the shard is counted;
3. on any other day, `plan_sweep` sends ceil(open loans / `loans_per_task`) sweep tasks (at least 1,
   at most one per shard), each over consecutive shards: the invocations follow the book, not the
   shard count. Without a stock (a function with no BookStock table) a task per shard, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from arrears.usecases.book_stock import StockReader, is_census_day, open_loan_rows, open_stock
from arrears.usecases.census import CensusRow, CensusTask
from arrears.usecases.sweep import (
    DEFAULT_LOANS_PER_TASK,
    RUN_RECORD_TTL,
    SweepTask,
    TaskQueue,
    plan_sweep,
)


class RunStarts(Protocol):
    def start_run(
        self, business_date: date, snapshot: Mapping[tuple[str, str], int] | None, expires_at: int
    ) -> bool: ...


@dataclass(frozen=True)
class SweepStart:
    business_date: date
    tasks: list[SweepTask | CensusTask]
    census_day: bool
    open_loans: int | None  # None: no stock to read
    rows: list[CensusRow]  # the `OpenLoans` to emit, stamped with the business time ([]: a re-run)

    @property
    def sweep_tasks(self) -> int:
        """Sweep tasks sent now (0 on a census day: each census task sends its shard's)."""
        return sum(1 for task in self.tasks if isinstance(task, SweepTask))


def start_sweep(
    at: datetime,
    *,
    shard_count: int,
    queue: TaskQueue,
    stock: StockReader | None,
    runs: RunStarts | None,
    census_enabled: bool,
    census_interval_days: int,
    loans_per_task: int = DEFAULT_LOANS_PER_TASK,
) -> SweepStart:
    """Send the day's tasks for the sweep at `at` (see the module docstring). The first start of a
    business date returns the rows to emit; a re-run (a retried schedule, an operator's) returns none,
    keeps the first snapshot, and sends the tasks again, which sweep nothing twice."""
    business_date = SweepTask(at, 0, shard_count).run_date
    counts = stock.stock() if stock is not None else None
    opened = open_stock(counts) if counts is not None else None
    open_loans = sum(opened.values()) if opened is not None else None
    census_day = (
        census_enabled
        and runs is not None
        and opened is not None
        and is_census_day(business_date, census_interval_days)
    )
    first = True
    if runs is not None:
        snapshot = opened if census_day else None
        first = runs.start_run(business_date, snapshot, int((at + RUN_RECORD_TTL).timestamp()))
    tasks: list[SweepTask | CensusTask]
    if census_day:
        # the loans still asking for a listing and due by the next census's day are listed again
        through = business_date + timedelta(days=census_interval_days)
        tasks = [
            CensusTask(at, shard, shard_count, sweep_after=True, relist_through=through)
            for shard in range(shard_count)
        ]
    else:
        tasks = list(plan_sweep(at, shard_count, open_loans, loans_per_task))
    queue.send([task.to_body() for task in tasks])
    rows = open_loan_rows(counts) if counts is not None and first else []
    return SweepStart(business_date, tasks, census_day=census_day, open_loans=open_loans, rows=rows)


__all__ = ["RunStarts", "SweepStart", "start_sweep"]
