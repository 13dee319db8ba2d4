"""The sweep worker's unit of work: one sweep-tasks message, a sweep task (one or more consecutive
shards) or a census task (which, on a census day, sends its shard's sweep and, for the date's last
shard, reconciles the stock from flows with the census)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypedDict, Unpack

from arrears.domain.playbook import CollectionPlaybook
from arrears.usecases.book_stock import Reconciliation, StockStore, reconcile
from arrears.usecases.census import (
    CensusLedger,
    CensusLoans,
    CensusOutcome,
    CensusTask,
    run_census_task,
)
from arrears.usecases.sweep import (
    DEFAULT_LOANS_PER_TASK,
    ReviewableLoans,
    RunLedger,
    SweepTask,
    TaskOutcome,
    TaskQueue,
    fan_out,
    run_sweep_task,
)


class SweepWorkObserver(Protocol):
    """Told each task's outcome as soon as it is known (before anything else is sent)."""

    def swept(self, outcome: TaskOutcome, duration_ms: float) -> None: ...

    def counted(self, outcome: CensusOutcome) -> None: ...

    def census_dropped(self, task: CensusTask) -> None: ...

    def resumed_later(self, task: SweepTask, error: Exception) -> None: ...

    def reconciled(self, task: CensusTask, reconciliation: Reconciliation) -> None: ...


class SweepLoans(ReviewableLoans, CensusLoans, Protocol):
    """What the worker reads and writes of the loans: the sweep's pages and writes, the census's pages."""


class SweepRuns(RunLedger, CensusLedger, Protocol):
    """The per-date run records: shards done, the heartbeat claim, the census claims."""


class ShardWork(TypedDict):
    """What sweeping or counting a shard needs."""

    loans: SweepLoans
    playbook: CollectionPlaybook
    queue: TaskQueue
    runs: SweepRuns
    has_time_left: Callable[[], bool]
    page_size: int


def work_on(
    task: SweepTask | CensusTask,
    *,
    census_enabled: bool,
    observer: SweepWorkObserver,
    stock: StockStore | None = None,
    loans_per_task: int = DEFAULT_LOANS_PER_TASK,
    **shard: Unpack[ShardWork],
) -> None:
    """Sweep the task's shards, or count its shard.

    A sweep task sweeps its shards in order for as long as time is left, records those it completed
    in one write and re-enqueues the rest (`run_sweep_task`). A census task
    counts its segment (`run_census_task`); the one that completes the date's last segment reconciles
    the census with the stock the sweep's start kept (`reconcile`), and then, on a census day
    (`sweep_after`), sends the day's sweep tasks, sized from the census's open loans (`fan_out`). A
    redelivered final census task sends them again (sweeping nothing twice) but reconciles nothing.
    A census task that arrives while `census_enabled` is False is dropped, the sweep it holds back
    sent all the same (its shard's sweep task: the census day sent one census task per shard).
    """
    if isinstance(task, CensusTask):
        if not census_enabled:
            observer.census_dropped(task)
            if task.sweep_after:  # one census task a shard: each sends its shard's sweep
                shard["queue"].send([SweepTask(task.business_time, task.shard, task.shard_count).to_body()])
            return
        outcome = run_census_task(task, **shard)
        observer.counted(outcome)
        if outcome.completed_now and outcome.totals is not None and outcome.snapshot is not None and stock:
            observer.reconciled(task, reconcile(task.run_date, outcome.totals, outcome.snapshot, stock))
        if outcome.totals is not None and task.sweep_after:
            open_loans = sum(outcome.totals.values())
            fan_out(task.business_time, task.shard_count, shard["queue"], open_loans, loans_per_task)
        return
    began = time.monotonic()
    outcome_ = run_sweep_task(task, **shard)  # raises only when no shard was completed
    observer.swept(outcome_, (time.monotonic() - began) * 1000)
    if outcome_.error is not None and outcome_.rest is not None:
        observer.resumed_later(outcome_.rest, outcome_.error)
