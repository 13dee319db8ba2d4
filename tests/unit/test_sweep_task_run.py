"""A sweep task over several shards, as the worker runs it (`run_sweep_task`): what it lists in the due
list and in which partition, what it records in the run ledger, and what a failing shard leaves."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from arrears.adapters.dynamodb import DueLoansPage
from arrears.adapters.items import shard_for
from arrears.config.playbook import bundled_playbook
from arrears.usecases.sweep import SweepTask, TaskOutcome, run_sweep_task
from tests.unit.memory_loans import WheelLoans
from tests.unit.sweep_fakes import ListQueue, MemoryRuns
from tests.unit.test_due_list_sweep import cash_loan, sweep_time

SHARDS = 3


def one_loan_a_shard() -> dict[str, Any]:
    """Identical loans (the same milestones), one in each shard."""
    ids: dict[int, str] = {}
    n = 0
    while len(ids) < SHARDS:
        ids.setdefault(shard_for(f"L-{n}", SHARDS), f"L-{n}")
        n += 1
    return {loan_id: cash_loan(loan_id) for _, loan_id in sorted(ids.items())}


def run(loans: WheelLoans, task: SweepTask, queue: ListQueue, runs: MemoryRuns) -> TaskOutcome:
    return run_sweep_task(task, loans=loans, playbook=bundled_playbook(), queue=queue, runs=runs)


def test_a_task_lists_its_shards_parked_loans_in_one_item_and_records_its_shards_in_one_write() -> None:
    # Given one loan in each of three shards, all due on the same date and moving to the same next date
    loans = WheelLoans(one_loan_a_shard(), shard_count=SHARDS)
    on = next(iter(loans.items.values())).next_review_on
    assert on is not None
    queue, runs = ListQueue(), MemoryRuns()

    # When one task sweeps the three shards
    outcome = run(loans, SweepTask(sweep_time(on), 0, SHARDS, None, 2), queue, runs)

    # Then the three loans are listed in one due-list item, in the task's first shard's partition
    assert outcome.result.writes == 3
    assert outcome.result.due_items_written == 1
    assert [shard for shard, _ in loans.due_list.items] == [0]
    # and the run ledger is written once, with the three shards; the heartbeat is claimed
    assert runs.writes == [(0, 1, 2)]
    assert outcome.shards_completed == (0, 1, 2)
    assert outcome.run_completed
    assert queue.bodies == []
    assert loans.unreachable(on) == set()


def test_loans_listed_by_a_task_are_reached_when_the_next_day_has_one_task_per_shard() -> None:
    # Given the three loans listed together by a task over all the shards (in shard 0's partition)
    loans = WheelLoans(one_loan_a_shard(), shard_count=SHARDS)
    on = next(iter(loans.items.values())).next_review_on
    assert on is not None
    run(loans, SweepTask(sweep_time(on), 0, SHARDS, None, 2), ListQueue(), MemoryRuns())
    following = next(iter(loans.items.values())).next_review_on
    assert following is not None

    # When the book has grown and the next milestone's sweep sends one task per shard
    queue, runs = ListQueue(), MemoryRuns()
    outcomes = [run(loans, SweepTask(sweep_time(following), s, SHARDS), queue, runs) for s in range(SHARDS)]

    # Then the task of shard 0 reaches all three (its partition lists them), each written once
    assert [o.result.writes for o in outcomes] == [3, 0, 0]
    assert all(loan.evaluated_on == following for loan in loans.items.values())
    assert loans.unreachable(following) == set()
    assert runs.heartbeats == 1


class FailingShard(WheelLoans):
    """The due list of one shard cannot be read (a DynamoDB error that outlasted the SDK's retries)."""

    failing: int | None = None

    def due_page(
        self, shard: int, through: date, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> DueLoansPage:
        if shard == self.failing:
            raise RuntimeError("ProvisionedThroughputExceededException")
        return super().due_page(shard, through, start_key, limit)


def test_a_shard_that_fails_after_another_was_done_leaves_that_one_written_and_recorded() -> None:
    # Given one loan a shard, in ReviewIndex (written before the review lister existed)
    book = one_loan_a_shard()
    loans = FailingShard(book, shard_count=SHARDS, indexed=book)
    on = next(iter(loans.items.values())).next_review_on
    assert on is not None
    loans.failing = 1
    queue, runs = ListQueue(), MemoryRuns()

    # When shard 1 of a task over the three fails
    outcome = run(loans, SweepTask(sweep_time(on), 0, SHARDS, None, 2), queue, runs)

    # Then what was assessed before the failure is written and listed (shard 0's loan, and shard 1's,
    # read from the index before its due list failed), shard 0 alone recorded done, and the task
    # re-enqueued from shard 1 (not from the start), with the error reported
    assert outcome.shards_completed == (0,)
    assert runs.writes == [(0,)]
    assert isinstance(outcome.error, RuntimeError)
    assert [(b["shard"], b.get("last_shard")) for b in queue.bodies] == [(1, 2)]
    written = {i for i, loan in loans.items.items() if loan.evaluated_on == on}
    assert written == {i for i in loans.items if shard_for(i, SHARDS) < 2}
    assert loans.unreachable(on) == set()
    assert not outcome.run_completed


def test_a_task_whose_first_shard_fails_raises_and_records_nothing() -> None:
    loans = FailingShard(one_loan_a_shard(), shard_count=SHARDS)
    on = next(iter(loans.items.values())).next_review_on
    assert on is not None
    loans.failing = 0
    queue, runs = ListQueue(), MemoryRuns()

    with pytest.raises(RuntimeError):
        run(loans, SweepTask(sweep_time(on), 0, SHARDS, None, 2), queue, runs)
    assert runs.writes == []
    assert queue.bodies == []
