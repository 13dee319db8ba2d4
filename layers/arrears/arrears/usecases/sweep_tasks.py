"""The sweep worker's unit of work: one sweep-tasks message, a sweep task or a census task."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypedDict, Unpack

from arrears.domain.playbook import CollectionPlaybook
from arrears.usecases.census import (
    CensusLedger,
    CensusLoans,
    CensusOutcome,
    CensusTask,
    enqueue_census,
    run_census_task,
)
from arrears.usecases.sweep import (
    ReviewableLoans,
    RunLedger,
    SweepTask,
    TaskOutcome,
    TaskQueue,
    run_sweep_task,
)


class SweepWorkObserver(Protocol):
    """Told each task's outcome as soon as it is known (before anything else is sent)."""

    def swept(self, outcome: TaskOutcome, duration_ms: float) -> None: ...

    def counted(self, outcome: CensusOutcome) -> None: ...

    def census_dropped(self, task: CensusTask) -> None: ...


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
    **shard: Unpack[ShardWork],
) -> None:
    """Sweep or count the task's shard (`census_enabled` False: a census task is dropped); a sweep task
    that completes its shard sends the shard's census, after its outcome was observed: the census never
    holds back the heartbeat, and a failed send retries the task (the sweep writes nothing twice, the
    done-shard set and the heartbeat claim hold)."""
    if isinstance(task, CensusTask):
        if census_enabled:
            observer.counted(run_census_task(task, **shard))
        else:
            observer.census_dropped(task)
        return
    began = time.monotonic()
    outcome = run_sweep_task(task, **shard)
    observer.swept(outcome, (time.monotonic() - began) * 1000)
    if outcome.shard_completed and census_enabled:
        enqueue_census(task, shard["queue"])
