"""The start of a day's sweep: read the book's stock, emit it, size the fan-out from it, send the tasks.

The daily schedule (`functions/sweep`) calls `start_sweep` once per business time:

1. the stock from flows (`arrears.adapters.book_stock`, one Query) gives the open loans per
   jurisdiction and bucket at the close of the previous business date: the day's `OpenLoans` rows;
2. on a census day (`is_census_day`), the stock is kept in the date's run record and one census task
   per shard is sent, each of which sends its shard's sweep task once the shard is counted;
3. on any other day, `plan_sweep` sends ceil(open loans / `loans_per_task`) sweep tasks (at least 1,
   at most one per shard), each over consecutive shards: the invocations follow the book, not the
   shard count. Without a stock (a function with no BookStock table) a task per shard, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
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


class StockSnapshots(Protocol):
    def snapshot_stock(
        self, business_date: date, stock: Mapping[tuple[str, str], int], expires_at: int
    ) -> None: ...


@dataclass(frozen=True)
class SweepStart:
    business_date: date
    tasks: list[SweepTask | CensusTask]
    census_day: bool
    open_loans: int | None  # None: no stock to read
    rows: list[CensusRow]  # the `OpenLoans` to emit, stamped with the business time

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
    runs: StockSnapshots | None,
    census_enabled: bool,
    census_interval_days: int,
    loans_per_task: int = DEFAULT_LOANS_PER_TASK,
) -> SweepStart:
    """Send the day's tasks for the sweep at `at` (see the module docstring); a re-run of the same
    business time sends them again, which sweeps nothing twice and keeps the first snapshot."""
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
    tasks: list[SweepTask | CensusTask]
    if census_day and runs is not None and opened is not None:
        runs.snapshot_stock(business_date, opened, int((at + RUN_RECORD_TTL).timestamp()))
        tasks = [CensusTask(at, shard, shard_count, sweep_after=True) for shard in range(shard_count)]
    else:
        tasks = list(plan_sweep(at, shard_count, open_loans, loans_per_task))
    queue.send([task.to_body() for task in tasks])
    return SweepStart(
        business_date,
        tasks,
        census_day=census_day,
        open_loans=open_loans,
        rows=open_loan_rows(counts) if counts is not None else [],
    )


__all__ = ["StockSnapshots", "SweepStart", "start_sweep"]
