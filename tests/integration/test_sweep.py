"""The sweep on moto: fan-out per shard, continuations under a tiny budget, conflicts, the DLQ; new loans
reach it through the review lister."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

from arrears.adapters.container import Container
from arrears.adapters.dynamodb import REVIEW_INDEX, DueLoansPage, LoanRepository
from arrears.adapters.tables import all_items
from arrears.config.playbook import bundled_playbook
from arrears.config.settings import load_settings
from arrears.domain.loans import LoanStatus
from arrears.usecases.payments import PaymentReceived, receive_payment
from arrears.usecases.sweep import sweep_shard
from localcloud.cloud import LocalCloud
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc

SWEEP = "SweepFunction"
WORKER = "SweepWorkerFunction"
DUE = date(2026, 3, 2)  # a Monday: a working day (a Sunday due date would be met on Monday)


def worker_container(stack: LocalStack) -> Container:
    return Container(load_settings(stack.functions[WORKER].environment), boto3.session.Session())


LISTER = "ReviewListerFunction"


def book(container: Container, cloud: LocalCloud, count: int) -> list[str]:
    """`count` loans onboarded together, due on `DUE`; the review lister's window passes, so they are
    listed (one batch: one due-list item)."""
    ids = [f"L-{n:04d}" for n in range(count)]
    for loan_id in ids:
        loan = cn_cash_loan(loan_id, due=DUE, principal=100_000)
        register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()
    cloud.advance_to(cloud.clock + timedelta(seconds=lister_window(cloud)))
    cloud.settle()
    return ids


def lister_window(cloud: LocalCloud) -> int:
    """The review lister's batching window (template.yaml `ReviewListingWindowSeconds`)."""
    (source,) = cloud.stack.functions[LISTER].events
    return int(source.properties["MaximumBatchingWindowInSeconds"])


def task_kind(call: Any) -> str:
    """The kind of sweep-tasks message a worker invocation got (`sweep` when the body names none)."""
    return str(json.loads(call.event["Records"][0]["body"]).get("kind", "sweep"))


def sweep_on(cloud: LocalCloud, day: date) -> list[Any]:
    """Run the daily sweep at 00:30 Shanghai of `day`; returns the worker invocations of its sweep
    tasks (the census tasks each completed shard enqueues are in tests/integration/test_census.py)."""
    cloud.advance_to(utc(day.year, day.month, day.day, 16, 30) - timedelta(days=1))
    first = len(cloud.invocations)
    cloud.schedule(SWEEP)
    return [c for c in cloud.invocations[first:] if c.function == WORKER and task_kind(c) == "sweep"]


def heartbeats(cloud: LocalCloud) -> int:
    """SweepHeartbeat EMF documents (dimension service=sweep) the functions printed."""
    assert isinstance(cloud.log, io.StringIO)
    count = 0
    for line in cloud.log.getvalue().splitlines():
        if line.startswith("{") and '"SweepHeartbeat"' in line:
            document = json.loads(line)
            assert document["service"] == "sweep"
            assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Arrears"
            count += 1
    return count


def run_item(container: Container, business_date: date) -> dict[str, Any]:
    table = boto3.resource("dynamodb").Table(container.settings.sweep_runs_table)
    item: dict[str, Any] = table.get_item(Key={"business_date": business_date.isoformat()})["Item"]
    return item


def test_the_sweep_fans_out_as_the_book_needs_and_beats_once_per_business_date(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given twenty loans due on 2 March, and at most 8 open loans a sweep task
    stack.functions[SWEEP].environment["SWEEP_LOANS_PER_TASK"] = "8"
    container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 21))
    ids = book(container, cloud, 20)

    # When the sweep runs on 3 March (DPD 1)
    workers = sweep_on(cloud, date(2026, 3, 3))

    # Then ceil(20 / 8) = 3 tasks swept the 16 shards (6, 5 and 5 of them), every loan moved to M1
    # (all twenty read through the one item the review lister listed them in), and the heartbeat
    # went out once
    bodies = [json.loads(w.event["Records"][0]["body"]) for w in workers]
    assert [(b["shard"], b.get("last_shard")) for b in bodies] == [(0, 5), (6, 10), (11, 15)]
    assert sum(w.response["sweep"]["writes"] for w in workers) == 20
    assert sum(w.response["sweep"]["items_read"] for w in workers) == 1
    assert sum(w.response["sweep"]["from_due_list"] for w in workers) == 20
    for loan_id in ids:
        stored = container.loans.get(loan_id)
        assert stored is not None
        following = bundled_playbook().milestones_for(stored).next_after(stored, date(2026, 3, 3))
        assert (stored.dpd, stored.bucket, stored.next_review_on) == (1, "M1", following)
    item = run_item(container, date(2026, 3, 3))
    assert {int(s) for s in item["done_shards"]} == set(range(container.settings.shard_count))
    assert heartbeats(cloud) == 1

    # When the same business date is swept again
    rerun = sweep_on(cloud, date(2026, 3, 3))

    # Then nothing is written and no second heartbeat goes out
    assert sum(w.response["sweep"]["writes"] for w in rerun) == 0
    assert sum(w.response["sweep"]["items_read"] for w in rerun) == 0
    assert heartbeats(cloud) == 1


def test_a_worker_near_its_budget_re_enqueues_its_continuation(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given a worker with a 1 ms budget that reads one due-list entry per page, and loans listed one
    # an item (a review lister batch a loan: listed as they trickle in)
    stack.functions[WORKER].environment.update({"SWEEP_PAGE_SIZE": "2", "SWEEP_SAFETY_MARGIN_MS": "0"})
    stack.functions[LISTER].events[0].properties["BatchSize"] = 1
    container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 21), budgets_ms={WORKER: 1})
    ids = book(container, cloud, 40)

    # When the sweep runs on 3 March
    workers = sweep_on(cloud, date(2026, 3, 3))

    # Then the shards were swept in several segments, each continuing where the last stopped
    shards = container.settings.shard_count
    assert len(workers) > shards
    assert all(not w.response["batchItemFailures"] for w in workers)
    bodies = [json.loads(w.event["Records"][0]["body"]) for w in workers]
    assert sum(1 for b in bodies if "start_key" in b) == len(workers) - shards
    # And every loan was assessed exactly once, none read twice, and the run completed once
    assert sum(w.response["sweep"]["writes"] for w in workers) == 40
    assert sum(w.response["sweep"]["items_read"] for w in workers) == 40
    assert all(stored is not None and stored.dpd == 1 for stored in map(container.loans.get, ids))
    assert heartbeats(cloud) == 1


class PaymentBetweenReadAndWrite(LoanRepository):
    """Lands a payment on one loan right after the sweep has read its page, before it writes."""

    def __init__(self, inner: LoanRepository, container: Container, loan_id: str) -> None:
        # the same table and due list, one hook added
        super().__init__(inner._table, shard_count=inner.shard_count, due_list=inner._due_list)
        self._container = container
        self._loan_id = loan_id
        self.paid = False

    def due_page(
        self, shard: int, through: date, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> DueLoansPage:
        page = super().due_page(shard, through, start_key, limit)
        if not self.paid and self._loan_id in page.loans:
            self.paid = True
            receive_payment(
                PaymentReceived("P-RACE", self._loan_id, 50_000, "CNY", utc(2026, 3, 2, 16, 31)),
                loans=self._container.loans,
                ledger=self._container.payments,
                playbook=bundled_playbook(),
            )
        return page


def test_a_payment_between_read_and_write_is_never_overwritten(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given a loan due on 2 March and a payment that lands while the sweep holds its old version
    container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 21))
    (loan_id,) = book(container, cloud, 1)
    before = container.loans.get(loan_id)
    assert before is not None
    due = boto3.resource("dynamodb").Table(stack.physical["ReviewDueTable"])
    (listed,) = all_items(due.scan)  # the review lister's item
    shard = int(str(listed["review_shard"]))
    racing = PaymentBetweenReadAndWrite(container.loans, container, loan_id)

    # When the sweep of 3 March runs the partition that lists the loan
    result = sweep_shard(racing, shard, utc(2026, 3, 2, 16, 30), bundled_playbook())

    # Then its conditional write failed, it re-read the loan, and the payment is kept
    assert racing.paid
    assert result.conflicts == 1
    stored = container.loans.get(loan_id)
    assert stored is not None
    assert (stored.ledger_count, stored.last_payment_id) == (1, "P-RACE")
    assert stored.instalments[0].principal_paid + stored.instalments[0].interest_paid > 0
    assert (stored.dpd, stored.bucket) == (1, "M1")  # still overdue (partial), assessed once
    assert stored.version == before.version + 1  # the payment's write only: nothing overwrote it


def test_a_missed_day_is_caught_up_and_closed_loans_leave_the_wheel(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given two loans due on 2 March, one of which is repaid in full
    container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 21))
    kept, repaid = book(container, cloud, 2)
    receive_payment(
        PaymentReceived("P-FULL", repaid, 200_000, "CNY", utc(2026, 2, 26)),
        loans=container.loans,
        ledger=container.payments,
        playbook=bundled_playbook(),
    )
    closed = container.loans.get(repaid)
    assert closed is not None
    assert closed.status is LoanStatus.CLOSED
    cloud.settle()

    # Then the repaid loan has left the timer wheel (no shard, no next review, no listing request)
    table = boto3.resource("dynamodb").Table(container.settings.loans_table)
    on_the_wheel = {
        str(item["loan_id"])
        for item in all_items(table.scan)
        if {"review_shard", "next_review_on"} & set(item) or "list_on" in item
    }
    assert on_the_wheel == {kept}

    # When the sweeps from 3 March on are all missed and the next one runs on 11 April (DPD 40)
    workers = sweep_on(cloud, date(2026, 4, 11))

    # Then the loan is caught up in one write: M2, the next milestone after DPD 40 ahead
    assert sum(w.response["sweep"]["writes"] for w in workers) == 1
    stored = container.loans.get(kept)
    assert stored is not None
    assert (stored.dpd, stored.bucket, stored.due_offset) == (40, "M2", 40)
    assert stored.next_review_on is not None
    assert stored.next_review_on > date(2026, 4, 11)


def test_a_task_that_keeps_failing_lands_in_the_dead_letter_queue(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given a malformed task on the sweep-tasks queue
    cloud = make_cloud(utc(2026, 3, 2))
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=stack.physical["SweepTasksQueue"], MessageBody=json.dumps({"shard": "x"}))

    # When the local cloud delivers it
    cloud.settle()

    # Then the worker failed it three times (maxReceiveCount) and it moved to the DLQ
    failures = [c for c in cloud.invocations if c.function == WORKER]
    assert len(failures) == 3
    assert all(c.error or c.response["batchItemFailures"] for c in failures)
    dead = sqs.receive_message(QueueUrl=stack.physical["SweepTasksDLQ"], MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in dead] == [{"shard": "x"}]


def test_the_loans_the_sweep_wrote_are_found_next_time_through_the_due_list(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given twenty loans due on 2 March, swept on 3 March (new loans: found through the review
    # lister's item)
    container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 21))
    ids = book(container, cloud, 20)
    first = sweep_on(cloud, date(2026, 3, 3))
    assert sum(w.response["sweep"]["from_due_list"] for w in first) == 20
    assert sum(w.response["sweep"]["from_index"] for w in first) == 0

    # Then none is in the index (parked) and the due list holds them under their next milestone
    table = boto3.resource("dynamodb").Table(container.settings.loans_table)
    indexed = [
        item
        for shard in range(container.settings.shard_count)
        for item in table.query(IndexName=REVIEW_INDEX, KeyConditionExpression=Key("review_shard").eq(shard))[
            "Items"
        ]
    ]
    assert indexed == []
    following = {stored.next_review_on for stored in map(container.loans.get, ids) if stored is not None}
    (next_on,) = following
    assert next_on is not None
    due = boto3.resource("dynamodb").Table(stack.physical["ReviewDueTable"])
    listed = {loan_id for item in all_items(due.scan) for loan_id in item["loan_ids"]}
    assert listed == set(ids)

    # When the sweep of that next milestone runs
    second = sweep_on(cloud, next_on)

    # Then every loan came from the due list, was written once, and the swept entries are gone
    assert sum(w.response["sweep"]["from_due_list"] for w in second) == 20
    assert sum(w.response["sweep"]["from_index"] for w in second) == 0
    assert sum(w.response["sweep"]["writes"] for w in second) == 20
    remaining = list(all_items(due.scan))
    assert {date.fromisoformat(str(item["due_key"])[:10]) for item in remaining} == {
        stored.next_review_on for stored in map(container.loans.get, ids) if stored is not None
    }
