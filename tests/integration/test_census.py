"""The open-loan stock on moto: after the sweep, OpenLoans per (jurisdiction, bucket) = the book, from the
transition counters; the census (daily here: CENSUS_INTERVAL_DAYS 1) reconciles them with the table."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr

from arrears.adapters.book_stock import BookStockRepository
from arrears.adapters.container import Container
from arrears.adapters.items import plain
from arrears.adapters.tables import all_items
from arrears.config.playbook import bundled_playbook
from arrears.domain.loans import Instalment, Loan, LoanStatus
from arrears.usecases.payments import PaymentReceived, receive_payment
from localcloud.cloud import LocalCloud
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, log_lines, register, utc
from tests.integration.test_sweep import (
    SWEEP,
    WORKER,
    heartbeats,
    run_item,
    sweep_on,
    task_kind,
    worker_container,
)

SWEEP_DAY = date(2026, 3, 2)  # swept at 00:30 Shanghai = 2026-03-01T16:30:00Z
BUSINESS_TIME_MS = int(utc(2026, 3, 1, 16, 30).timestamp() * 1000)
# Due dates that put loans in every bucket on the sweep day (DPD 0, 1, 15, 41, 72, 102), and one
# far enough back (DPD > 180) that the loan is charged off and leaves the index.
DUE_DATES = (
    date(2026, 3, 10),
    date(2026, 3, 1),
    date(2026, 2, 15),
    date(2026, 1, 20),
    date(2025, 12, 20),
    date(2025, 11, 20),
    date(2025, 8, 1),
)


@pytest.fixture(autouse=True)
def daily_census(stack: LocalStack) -> None:
    """The census every day (the template's default is weekly, on Sundays), so each test's sweep
    starts with it (the sweep function decides; the worker counts)."""
    stack.functions[SWEEP].environment["CENSUS_INTERVAL_DAYS"] = "1"


def stock_counters(container: Container) -> BookStockRepository:
    assert container.book_stock is not None
    return container.book_stock


def open_stock(container: Container) -> Counter[tuple[str, str]]:
    """The stock from flows, open buckets only, zeros dropped."""
    closed = ("CLOSED", "CHARGED_OFF")
    return +Counter({k: n for k, n in stock_counters(container).stock().items() if k[1] not in closed})


def loan(loan_id: str, jurisdiction: str, due: date) -> Loan:
    cn = jurisdiction == "CN"
    return Loan(
        loan_id=loan_id,
        borrower_id=f"B-{loan_id}",
        jurisdiction=jurisdiction,
        currency="CNY" if cn else "USD",
        principal_minor=100_000,
        disbursed_on=due - timedelta(days=30),
        instalments=(Instalment(1, due, 100_000, 900, 0),),  # 10.95 % a year: within CN's 12 % cap
        penalty_daily_ppm=500 if cn else 300,
        apr_cap_bps=2400 if cn else 3600,
    )


def book(container: Container, cloud: LocalCloud, per_due_date: int = 3) -> None:
    """CN and US-REGF loans in every bucket, a charged-off one per jurisdiction, one repaid in full."""
    for jurisdiction, zone in (("CN", "Asia/Shanghai"), ("US-REGF", "America/New_York")):
        for d, due in enumerate(DUE_DATES):
            for n in range(per_due_date):
                item = loan(f"L-{jurisdiction[:2]}-{d}-{n}", jurisdiction, due)
                borrower = borrower_for(item, zone, language="en" if zone.startswith("America") else "zh-CN")
                register(container, item, borrower, cloud.clock)
    receive_payment(
        PaymentReceived("P-FULL", "L-CN-0-0", 200_000, "CNY", cloud.clock),
        loans=container.loans,
        ledger=container.payments,
        playbook=bundled_playbook(),
    )
    cloud.settle()


def true_counts(container: Container) -> Counter[tuple[str, str]]:
    """Open loans per (jurisdiction, bucket), from the whole table (not from the index)."""
    table = boto3.resource("dynamodb").Table(container.settings.loans_table)
    opened = Attr("status").eq(LoanStatus.OPEN.value)
    items = [plain(item) for item in all_items(table.scan, FilterExpression=opened)]
    return Counter((str(item["jurisdiction"]), str(item["bucket"])) for item in items)


def open_loan_metrics(cloud: LocalCloud, business_time_ms: int = BUSINESS_TIME_MS) -> list[dict[str, Any]]:
    """Every OpenLoans EMF document the functions printed, checked for its shape."""
    assert isinstance(cloud.log, io.StringIO)
    documents = []
    for line in cloud.log.getvalue().splitlines():
        if line.startswith("{") and '"OpenLoans"' in line:
            document = json.loads(line)
            (directive,) = document["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"] == "Arrears"
            assert directive["Dimensions"] == [["service", "jurisdiction", "bucket"]]
            assert directive["Metrics"] == [{"Name": "OpenLoans", "Unit": "Count"}]
            assert document["service"] == "sweep"  # the sweep's start reads the stock and emits it
            assert document["_aws"]["Timestamp"] == business_time_ms  # the run's business time
            (value,) = document["OpenLoans"]  # Powertools writes [float(value)]; counts are integers
            assert value == int(value) >= 0
            documents.append({**document, "OpenLoans": int(value)})
    return documents


def summed(documents: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """What a daily Sum over the shards shows per (jurisdiction, bucket), zeros dropped."""
    total: Counter[tuple[str, str]] = Counter()
    for document in documents:
        total[(document["jurisdiction"], document["bucket"])] += document["OpenLoans"]
    return +total


def census_calls(cloud: LocalCloud, first: int = 0) -> list[Any]:
    return [c for c in cloud.invocations[first:] if c.function == WORKER and task_kind(c) == "census"]


def test_after_the_sweep_the_stock_from_flows_is_the_open_loans_and_the_census_agrees(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given CN and US loans in every bucket, charged-off and repaid ones among them
    container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 20))
    book(container, cloud)
    before = true_counts(container)
    assert open_stock(container) == before  # counted as each loan entered the book

    # When the sweep of 2 March runs
    workers = sweep_on(cloud, SWEEP_DAY)

    # Then each segment was counted once, all before the sweep (one task for this small book, sent by
    # the census that completed the book), and the heartbeat went out once
    shards = container.settings.shard_count
    censuses = census_calls(cloud)
    assert (len(censuses), len(workers)) == (shards, 1)
    order = [c.function + task_kind(c) for c in cloud.invocations if c.function == WORKER]
    assert order == [WORKER + "census"] * shards + [WORKER + "sweep"]
    assert all(not c.response["batchItemFailures"] for c in censuses)
    assert heartbeats(cloud) == 1
    assert {int(s) for s in run_item(container, SWEEP_DAY)["census_shards"]} == set(range(shards))

    # And the stock kept from the transitions is the open loans of the table after the sweep
    truth = true_counts(container)
    assert {b for _, b in truth} == {"M0", "M1", "M2", "M3", "M4+"}
    assert {j for j, _ in truth} == {"CN", "US-REGF"}
    assert sum(truth.values()) == 2 * 6 * 3 - 1  # 6 open due dates x 3 loans x 2, one repaid
    assert open_stock(container) == truth
    # And the OpenLoans metrics, emitted once at the sweep's start, are the stock it started from
    documents = open_loan_metrics(cloud)
    assert summed(documents) == before
    assert max(Counter((d["jurisdiction"], d["bucket"]) for d in documents).values()) == 1
    # and the loans that left the book are counted where they went (one repaid, two charged off)
    stock = stock_counters(container).stock()
    assert (stock[("CN", "CLOSED")], stock[("CN", "CHARGED_OFF")], stock[("US-REGF", "CHARGED_OFF")]) == (
        1,
        3,
        3,
    )

    # And the census of every shard, summed, found no drift: StockDrift 0, said in one log line
    (reconciled,) = log_lines(cloud, "stock from flows matches the census")
    assert reconciled["census_open_loans"] == reconciled["stock_open_loans"] == sum(before.values())
    assert reconciled["drift"] == {}
    assert sum(c.response["census"].get("reconciled", 0) for c in censuses) == 1
    assert sum(c.response["census"].get("drift", 0) for c in censuses) == 0
    # And the census read each loan of the table once (one Scan segment a shard: closed loans are
    # read and filtered out), and said so in its log line (no metric of its own)
    table = boto3.resource("dynamodb").Table(container.settings.loans_table)
    stored = sum(1 for _ in all_items(table.scan))
    assert stored == 2 * len(DUE_DATES) * 3  # every loan of the book: open, repaid, charged off
    assert sum(c.response["census"]["items_read"] for c in censuses) == stored
    assert isinstance(cloud.log, io.StringIO)
    lines = [json.loads(line) for line in cloud.log.getvalue().splitlines() if line.startswith("{")]
    segments = [d for d in lines if d.get("message") == "census shard segment done"]
    assert len(segments) == shards
    assert all(d["service"] == "sweep-worker" for d in segments)
    assert sum(d["items_read"] for d in segments) == stored
    assert not any('"CensusItemsRead"' in json.dumps(d) for d in lines)


def test_a_census_in_many_segments_gives_the_same_totals(stack: LocalStack, make_cloud: CloudFactory) -> None:
    # Given a worker with a 1 ms budget that reads one loan per page
    stack.functions[WORKER].environment.update({"SWEEP_PAGE_SIZE": "1", "SWEEP_SAFETY_MARGIN_MS": "0"})
    container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 20), budgets_ms={WORKER: 1})
    book(container, cloud)
    before = true_counts(container)

    # When the sweep of 2 March runs
    sweep_on(cloud, SWEEP_DAY)

    # Then the census continued across invocations, carrying its position and its partial counts
    shards = container.settings.shard_count
    censuses = census_calls(cloud)
    bodies = [json.loads(c.event["Records"][0]["body"]) for c in censuses]
    continued = [b for b in bodies if "start_key" in b]
    assert len(censuses) == shards + len(continued)
    # a page of one: a segment per loan (moto, unlike DynamoDB, gives no key after a shard's last item)
    assert len(continued) >= sum(true_counts(container).values()) - shards
    assert any(b.get("counts") for b in continued)
    assert all(not c.response["batchItemFailures"] for c in censuses)
    # And the census totals are those of the table before the sweep (every shard added once): no drift
    assert summed(open_loan_metrics(cloud)) == before
    (reconciled,) = log_lines(cloud, "stock from flows matches the census")
    assert reconciled["census_open_loans"] == sum(before.values())
    assert open_stock(container) == true_counts(container)


def test_a_redelivered_final_census_task_or_a_rerun_emits_nothing_more(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given a day's sweep and census done
    container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 20))
    book(container, cloud, per_due_date=1)
    sweep_on(cloud, SWEEP_DAY)
    emitted = open_loan_metrics(cloud)
    final = next(c for c in census_calls(cloud) if c.response["census"].get("reconciled"))

    # When the final census task of a shard is delivered again
    first = len(cloud.invocations)
    boto3.client("sqs").send_message(
        QueueUrl=stack.physical["SweepTasksQueue"], MessageBody=final.event["Records"][0]["body"]
    )
    cloud.settle()

    # Then it ran, counted the shard again, added nothing and reconciled nothing
    (again,) = census_calls(cloud, first)
    assert "reconciled" not in again.response["census"]
    assert again.response["census"]["counted"] == final.response["census"]["counted"]
    assert open_loan_metrics(cloud) == emitted
    assert len(log_lines(cloud, "stock from flows matches the census")) == 1

    # When the whole sweep of the same business date runs again
    cloud.advance_to(cloud.clock + timedelta(minutes=10))
    first = len(cloud.invocations)
    cloud.schedule("SweepFunction")

    # Then every shard's census ran again and none reconciled; the stock was not emitted twice
    rerun = census_calls(cloud, first)
    assert len(rerun) == container.settings.shard_count
    assert sum(c.response["census"].get("reconciled", 0) for c in rerun) == 0
    assert open_loan_metrics(cloud) == emitted
    assert heartbeats(cloud) == 1


def test_the_census_finds_an_injected_drift_reports_it_and_corrects_the_stock(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given a book swept on 2 March, and a count then lost (as a crash between a history append and
    # its counter write would lose it) and another counted twice
    container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 20))
    book(container, cloud, per_due_date=1)
    sweep_on(cloud, SWEEP_DAY)
    truth = true_counts(container)
    assert open_stock(container) == truth
    stock_counters(container).add_stock({("CN", "M1"): -1, ("US-REGF", "M0"): 1})

    # When the next day's sweep and census run
    sweep_on(cloud, SWEEP_DAY + timedelta(days=1))

    # Then the reconciliation reports each difference (census - stock) without naming a loan,
    # emits StockDrift 2, and corrects the stock to the table (swept on the 3rd since)
    (drifted,) = log_lines(cloud, "stock from flows differs from the census: corrected")
    assert drifted["level"] == "WARNING"
    assert drifted["drift"] == {"CN M1": 1, "US-REGF M0": -1}
    assert drifted["corrected"] is True
    assert not any("L-" in json.dumps(value) for value in drifted.values())
    assert isinstance(cloud.log, io.StringIO)
    drift_metrics = [
        json.loads(line)
        for line in cloud.log.getvalue().splitlines()
        if line.startswith("{") and '"StockDrift"' in line
    ]
    assert [d["StockDrift"] for d in drift_metrics] == [[0.0], [2.0]]  # 2 March clean, 3 March not
    assert open_stock(container) == true_counts(container)


def test_with_the_census_disabled_no_census_task_is_enqueued(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given the stack deployed with OpenLoanCensus=Disabled
    for function in (SWEEP, WORKER):
        stack.functions[function].environment["OPEN_LOAN_CENSUS"] = "Disabled"
    container = worker_container(stack)
    assert not container.settings.census_enabled
    cloud = make_cloud(utc(2026, 2, 20))
    book(container, cloud, per_due_date=1)
    before = true_counts(container)

    # When the sweep of 2 March runs
    workers = sweep_on(cloud, SWEEP_DAY)

    # Then the sweep ran as ever (one task for this small book), the stock from flows was emitted,
    # and no census task was enqueued or run
    assert len(workers) == 1
    assert heartbeats(cloud) == 1
    assert census_calls(cloud) == []
    emitted = open_loan_metrics(cloud)
    assert summed(emitted) == before
    assert "census_shards" not in run_item(container, SWEEP_DAY)

    # When a census task enqueued before the switch was turned off arrives
    boto3.client("sqs").send_message(
        QueueUrl=stack.physical["SweepTasksQueue"],
        MessageBody=json.dumps(
            {"kind": "census", "business_time": "2026-03-01T16:30:00Z", "shard": 0, "shard_count": 16}
        ),
    )
    cloud.settle()

    # Then it is dropped: nothing read, claimed or emitted
    (dropped,) = census_calls(cloud)
    assert dropped.response == {"batchItemFailures": [], "sweep": {}, "census": {}}
    assert open_loan_metrics(cloud) == emitted
    assert "census_shards" not in run_item(container, SWEEP_DAY)

    # When a census day's task (the sweep after it) arrives while the census is off
    first = len(cloud.invocations)
    boto3.client("sqs").send_message(
        QueueUrl=stack.physical["SweepTasksQueue"],
        MessageBody=json.dumps(
            {
                "kind": "census",
                "business_time": "2026-03-01T16:30:00Z",
                "shard": 3,
                "shard_count": 16,
                "sweep_after": True,
            }
        ),
    )
    cloud.settle()

    # Then it is dropped and sends its own shard's sweep task, nothing more
    later = [c for c in cloud.invocations[first:] if c.function == WORKER]
    assert [(task_kind(c), json.loads(c.event["Records"][0]["body"])["shard"]) for c in later] == [
        ("census", 3),
        ("sweep", 3),
    ]


def test_a_malformed_census_task_fails_alone_and_lands_in_the_dead_letter_queue(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given a census task whose partial counts are not counts
    cloud = make_cloud(utc(2026, 3, 1))
    sqs = boto3.client("sqs")
    body = {"kind": "census", "business_time": "2026-03-01T16:30:00Z", "shard": 0, "shard_count": 16}
    sqs.send_message(
        QueueUrl=stack.physical["SweepTasksQueue"], MessageBody=json.dumps({**body, "counts": {"CN": -1}})
    )

    # When the local cloud delivers it
    cloud.settle()

    # Then the worker failed it (maxReceiveCount times), logged why, and it moved to the DLQ
    failures = census_calls(cloud)
    assert len(failures) == 3
    assert all(c.error or c.response["batchItemFailures"] for c in failures)  # a batch of one: an error
    dead = sqs.receive_message(QueueUrl=stack.physical["SweepTasksDLQ"], MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["counts"] for m in dead] == [{"CN": -1}]
    assert isinstance(cloud.log, io.StringIO)
    assert "not a census task" in cloud.log.getvalue()
