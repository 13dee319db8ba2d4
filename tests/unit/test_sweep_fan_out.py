"""The sweep's fan-out sized from the book: ceil(open loans / loans per task), 1..ShardCount tasks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.adapters.items import MalformedItem
from arrears.usecases.census import parse_task
from arrears.usecases.sweep import SweepTask, plan_sweep, task_count

AT = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("open_loans", "shards", "per_task", "tasks"),
    [
        (200, 16, 20_000, 1),
        (5_000, 16, 20_000, 1),
        (20_000, 16, 20_000, 1),
        (20_001, 16, 20_000, 2),
        (10_000_000, 64, 20_000, 64),  # capped by the shard count
        (0, 16, 20_000, 1),  # an empty book still sweeps (events may have written loans since)
        (None, 16, 20_000, 16),  # no stock to read: a task per shard, as before
        (5_000, 16, 1_000, 5),
    ],
)
def test_the_number_of_tasks_follows_the_book_and_is_capped_by_the_shards(
    open_loans: int | None, shards: int, per_task: int, tasks: int
) -> None:
    assert task_count(open_loans, shards, per_task) == tasks
    assert len(plan_sweep(AT, shards, open_loans, per_task)) == tasks


@settings(max_examples=200, deadline=None)
@given(shards=st.integers(1, 64), open_loans=st.integers(0, 2_000_000), per_task=st.integers(1, 50_000))
def test_the_tasks_cover_every_shard_once_in_runs_of_nearly_equal_length(
    shards: int, open_loans: int, per_task: int
) -> None:
    tasks = plan_sweep(AT, shards, open_loans, per_task)
    covered = [s for task in tasks for s in range(task.shard, task.last + 1)]
    assert covered == list(range(shards))
    lengths = {task.last - task.shard + 1 for task in tasks}
    assert max(lengths) - min(lengths) <= 1
    # and each survives the queue (a body of one shard has no last_shard, as before)
    for task in tasks:
        body = task.to_body()
        assert ("last_shard" in body) == (task.last > task.shard)
        assert parse_task(json.dumps(body)) == task


def test_a_task_over_several_shards_goes_on_shard_by_shard_and_continues_with_its_range() -> None:
    task = SweepTask(AT, 3, 16, None, 6)
    assert task.next_shard() == SweepTask(AT, 4, 16, None, 6)
    assert task.continued({"loan_id": "L-1"}).last == 6
    with pytest.raises(MalformedItem):
        SweepTask.from_body({**task.to_body(), "last_shard": 2})
