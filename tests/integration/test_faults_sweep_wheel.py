"""The timer wheel under a fault at every AWS call of a sweep: no loan is ever off the wheel.

A book is swept once (the loans leave ReviewIndex, parked in the due list under their next
milestone); then the sweep of that milestone is run again and again, each time dying at its n-th
AWS call (n = 1, 2, ...), before the request (nothing applied) or after it (applied, then the worker
killed), as a killed worker would, and retried as SQS retries a task, on the state the failure left.
(A transient error is retried call by call inside the task: `test_sweep_faults.py`.)
After every failure each open loan must still be reachable (in ReviewIndex, or in a due-list entry
of its next review date: `localcloud.wheel.loans_off_the_wheel`), and once a pass runs without a
fault every loan must have been swept exactly to its following milestone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient

from arrears.adapters.container import Container
from arrears.adapters.tables import all_items
from arrears.config.playbook import bundled_playbook
from arrears.usecases.sweep import sweep_shard
from localcloud.stack import LocalStack
from localcloud.wheel import loans_off_the_wheel
from tests.integration.conftest import CloudFactory, utc
from tests.integration.test_sweep import book, sweep_on, worker_container


class Injected(Exception):
    """The fault: raised at the chosen call (after applying it, for the `after` kind); not a
    transient error, so nothing inside the task retries it: the task dies there."""


@contextmanager
def fault_at(call: int, *, after: bool) -> Iterator[list[str]]:
    """Fail the `call`-th AWS call made inside the block; yields the operations made, in order."""
    original = BaseClient._make_api_call  # type: ignore[attr-defined]
    made: list[str] = []

    def make_api_call(client: BaseClient, operation: str, params: Any) -> Any:
        made.append(operation)
        if len(made) != call:
            return original(client, operation, params)
        if after:
            original(client, operation, params)
            raise Injected(f"{operation} applied, then the worker died")
        raise Injected(f"{operation} refused")

    BaseClient._make_api_call = make_api_call  # type: ignore[attr-defined]
    try:
        yield made
    finally:
        BaseClient._make_api_call = original  # type: ignore[attr-defined]


def off_the_wheel(container: Container, stack: LocalStack) -> int:
    dynamodb = boto3.resource("dynamodb")
    loans = list(all_items(dynamodb.Table(container.settings.loans_table).scan))
    due = list(all_items(dynamodb.Table(stack.physical["ReviewDueTable"]).scan))
    return loans_off_the_wheel(loans, due)


def sweep_pass(container: Container, at: datetime) -> None:
    """Every shard of the sweep at `at`, as the worker's tasks would (stops at the first error)."""
    for shard in range(container.settings.shard_count):
        sweep_shard(container.loans, shard, at, bundled_playbook(), page_size=3)


@pytest.mark.parametrize("after", [False, True], ids=["before the call", "after the call"])
def test_a_fault_at_any_call_of_a_sweep_leaves_every_loan_on_the_wheel(
    stack: LocalStack, make_cloud: CloudFactory, after: bool
) -> None:
    container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 21))
    ids = book(container, cloud, 7)
    sweep_on(cloud, book_day := datetime(2026, 3, 3, tzinfo=UTC).date())
    parked = {loan_id: container.loans.get(loan_id) for loan_id in ids}
    (next_on,) = {loan.next_review_on for loan in parked.values() if loan is not None}
    assert next_on is not None
    assert next_on > book_day
    assert off_the_wheel(container, stack) == 0
    # 00:30 in Shanghai on the next milestone: the sweep that reaches the parked loans
    at = datetime.combine(next_on, time(0, 30), tzinfo=UTC) - timedelta(hours=8)

    faults = 0
    for call in range(1, 400):
        try:
            with fault_at(call, after=after) as made:
                sweep_pass(container, at)
        except Injected:
            faults += 1
            assert off_the_wheel(container, stack) == 0, f"off the wheel after a fault at {made[-1]}"
            continue
        break  # a pass without a fault: the sweep of the day is done
    else:
        pytest.fail("the sweep never completed")

    assert faults > 10  # every call of the pass was faulted once, in turn
    for loan_id, before in parked.items():
        stored = container.loans.get(loan_id)
        assert stored is not None
        assert before is not None
        following = bundled_playbook().milestones_for(stored).next_after(before, next_on)
        assert stored.next_review_on == following
    assert off_the_wheel(container, stack) == 0
