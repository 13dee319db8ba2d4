"""A sweep task is done in one invocation while one AWS call in three fails.

A sweep task over several shards makes dozens of AWS calls (the ReviewIndex and due-list pages, the
due-list writes, each loan's conditional write, the run ledger, the continuation). Every redelivery
of a failed task starts its range over, so a task that needed every call through at once met a
fault on nearly every attempt at 10 % of faults: the 1,000-loan fault run left sweep tasks in their
DLQ after every redrive, and their loans were assessed days late. Each call is now retried alone
(`arrears.usecases.sweep`), and a loan write applied whose answer was lost is counted as written.
"""

from __future__ import annotations

from datetime import date

import pytest

from arrears.config.playbook import bundled_playbook
from localcloud.cloud import ACCOUNT, REGION
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, utc
from tests.integration.fault_support import every_third_call_fails
from tests.integration.test_reporting_export import queued
from tests.integration.test_sweep import SWEEP, WORKER, book, heartbeats, run_item, worker_container

SWEPT_ON = date(2026, 3, 3)  # DPD 1: every loan of the book moves to M1


@pytest.mark.parametrize("after", [False, True], ids=["before-the-call", "after-it-applied"])
def test_a_sweep_task_is_done_in_one_invocation_while_one_call_in_three_fails(
    stack: LocalStack, make_cloud: CloudFactory, after: bool
) -> None:
    stack.functions[SWEEP].environment["SWEEP_LOANS_PER_TASK"] = "8"
    container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 21))
    ids = book(container, cloud, 20)
    at = utc(2026, 3, 2, 16, 30)  # 00:30 in Shanghai on 3 March
    cloud.advance_to(at)
    cloud.invoke(SWEEP, cloud.schedule_of(SWEEP).event(at, region=REGION, account=ACCOUNT))

    failed: list[str] = []
    writes = tasks = 0
    while pending := queued(stack, "SweepTasksQueue"):
        for delivered in pending:
            with every_third_call_fails(after=after) as failing:
                answer = cloud.invoke(WORKER, {"Records": [delivered]})
            failed += failing
            assert answer["batchItemFailures"] == []  # the task done in one invocation
            writes += answer.get("sweep", {}).get("writes", 0)
            tasks += 1

    assert len(failed) >= 10  # faults met all over the tasks
    assert tasks >= 3
    assert writes == len(ids)  # each loan written once and counted once, its own applied write too
    for loan_id in ids:
        stored = container.loans.get(loan_id)
        assert stored is not None
        following = bundled_playbook().milestones_for(stored).next_after(stored, SWEPT_ON)
        assert (stored.dpd, stored.bucket, stored.next_review_on) == (1, "M1", following)
    item = run_item(container, SWEPT_ON)
    assert {int(s) for s in item["done_shards"]} == set(range(container.settings.shard_count))
    assert heartbeats(cloud) == 1  # the heartbeat claimed once, by the task that completed the date
    assert queued(stack, "SweepTasksDLQ") == []
