"""The ports' contract: each production adapter gives the same answers over moto and over the fast
path's in-memory AWS (localcloud/memory), case by case.

Every test takes `ports`, parametrised over both backends, and asserts the answers the adapter's
docstring promises; the same assertions passing on both is what keeps the in-memory engine equal to
DynamoDB (as moto models it), SQS, SNS and S3 for what the use cases call.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from arrears.adapters.container import Container
from arrears.adapters.dynamodb import VersionConflict
from arrears.adapters.payments_ledger import Reversal
from arrears.domain.ledger import LedgerEntry
from arrears.domain.transitions import Transition
from localcloud.book import generate_book
from localcloud.memory.world import MemoryContainer, MemoryWorld
from localcloud.simulation import template_path
from localcloud.stack import LocalStack, load_template

START = date(2026, 3, 1)
AT = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.fixture(params=["moto", "memory"])
def ports(request: pytest.FixtureRequest, stack: LocalStack) -> Container:
    from arrears.config.settings import load_settings

    functions = stack.functions
    settings = load_settings(
        {
            **functions["DispatcherFunction"].environment,
            **functions["PlannerFunction"].environment,
            **functions["SweepFunction"].environment,
        }
    )
    if request.param == "moto":
        return Container(settings, boto3.session.Session())
    return MemoryContainer(settings, MemoryWorld.of(stack, load_template(template_path())))


def _entry() -> Any:
    return generate_book(6, 3, START)[0]


def test_a_loan_is_created_once_and_a_stale_save_is_refused(ports: Container) -> None:
    loan = _entry().loan
    assert ports.loans.create(loan) is True
    assert ports.loans.create(loan) is False
    stored = ports.loans.get(loan.loan_id)
    assert stored == loan
    saved = ports.loans.save(loan)
    assert saved.version == loan.version + 1
    with pytest.raises(VersionConflict):
        ports.loans.save(loan)  # the version read is no longer the stored one
    assert ports.loans.get(loan.loan_id) == saved
    assert ports.loans.get("L-none") is None


def test_the_history_appends_each_loan_version_once(ports: Container) -> None:
    loan = _entry().loan
    history = ports.delinquency_history
    assert history is not None
    first = Transition(on=START, from_state=None, to_state="M1", dpd=3, version=0)
    later = Transition(on=date(2026, 3, 9), from_state="M1", to_state="M0", dpd=0, version=2)
    assert history.append(loan, first) is True
    assert history.append(loan, first) is False  # a replayed record adds nothing
    assert history.append(loan, later) is True
    assert history.transitions(loan.loan_id) == [first, later]


def test_the_payment_ledger_records_and_reverses_once(ports: Container) -> None:
    entry = LedgerEntry(payment_id="P-1", amount_minor=1250, currency="USD", value_date=START)
    assert ports.payments.record("L1", entry, AT) is True
    assert ports.payments.record("L1", entry, AT) is False
    assert ports.payments.reverse("L1", "P-1", AT, "RETURNED") is Reversal.REVERSED
    assert ports.payments.reverse("L1", "P-1", AT, "RETURNED") is Reversal.ALREADY
    assert ports.payments.reverse("L1", "P-2", AT, "RETURNED") is Reversal.UNKNOWN


def test_the_book_stock_adds_transitions(ports: Container) -> None:
    stock = ports.book_stock
    assert stock is not None
    stock.apply("CN", Transition(on=START, from_state=None, to_state="M1", dpd=3, version=0))
    stock.apply("CN", Transition(on=START, from_state="M1", to_state="M2", dpd=31, version=2))
    assert stock.stock() == stock.stock()  # read twice, same answer
    counts = stock.stock()
    assert counts.get(("CN", "M2")) == 1
    assert counts.get(("CN", "M1"), 0) == 0


def test_sweep_runs_count_shards_once(ports: Container) -> None:
    runs = ports.sweep_runs
    assert runs.shard_done(START, 0, 2, 2_000_000_000) == 1
    assert runs.shard_done(START, 0, 2, 2_000_000_000) == 1  # a redelivered task
    assert runs.progress(START).shards_done == 1
    assert runs.shard_done(START, 1, 2, 2_000_000_000) == 2
    assert runs.progress(START).shards_done == 2
    assert runs.claim_heartbeat(START, "2026-03-01T05:00:00Z") is True
    assert runs.claim_heartbeat(START, "2026-03-01T05:00:00Z") is False  # claimed once
    assert runs.progress(START).completed is True


def test_the_archive_store_puts_reads_and_lists(ports: Container) -> None:
    store = ports.archive_store
    assert store.exists("contacts/x.jsonl.gz") is False
    store.put("contacts/x.jsonl.gz", b"one", content_type="application/gzip", retain_until=date(2030, 1, 1))
    store.put("contacts/y.jsonl.gz", b"two", content_type="application/gzip", retain_until=date(2030, 1, 1))
    assert store.exists("contacts/x.jsonl.gz") is True
    assert store.read("contacts/y.jsonl.gz") == b"two"
    assert store.keys("contacts/") == ["contacts/x.jsonl.gz", "contacts/y.jsonl.gz"]
    with pytest.raises(ClientError) as missing:
        store.read("contacts/none")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"


def test_table_expressions_as_dynamodb_evaluates_them(ports: Container) -> None:
    """The engine's cases no adapter above reaches: sets, if_not_exists, paging, transactions."""
    table: Any = ports._dynamodb.Table(ports.settings.sweep_runs_table)
    key = {"business_date": "2026-03-01"}
    table.update_item(
        Key=key,
        UpdateExpression="ADD done_shards :s, n :one SET c = if_not_exists(c, :zero)",
        ExpressionAttributeValues={":s": {1, 2}, ":one": 1, ":zero": 0},
    )
    table.update_item(
        Key=key,
        UpdateExpression="DELETE done_shards :s ADD n :one SET c = if_not_exists(c, :ten)",
        ExpressionAttributeValues={":s": {1}, ":one": 1, ":ten": 10},
    )
    item = table.get_item(Key=key)["Item"]
    assert item["done_shards"] == {2}
    assert (item["n"], item["c"]) == (2, 0)
    with pytest.raises(ClientError) as refused:
        table.put_item(
            Item={**key, "n": 5},
            ConditionExpression=Attr("n").lt(2) | Attr("missing").exists(),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert "Item" in refused.value.response
    history: Any = ports._dynamodb.Table(ports.settings.delinquency_history_table)
    for n in range(5):
        history.put_item(Item={"loan_id": f"L{n}", "jurisdiction": "CN"})
    seen, start = [], None
    while True:
        page = history.scan(Limit=2, **({"ExclusiveStartKey": start} if start else {}))
        seen += [i["loan_id"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(seen) == [f"L{n}" for n in range(5)]
    found = history.query(KeyConditionExpression=Key("loan_id").eq("L3"))
    assert [i["loan_id"] for i in found["Items"]] == ["L3"]
    client = table.meta.client
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table.name, "Item": {"business_date": "2026-03-02"}}},
                {
                    "Update": {
                        "TableName": table.name,
                        "Key": key,
                        "UpdateExpression": "SET c = :v",
                        "ConditionExpression": "n = :wrong",
                        "ExpressionAttributeValues": {":v": 1, ":wrong": 99},
                    }
                },
            ]
        )
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert table.get_item(Key={"business_date": "2026-03-02"}).get("Item") is None  # nothing written


def test_a_parallel_scan_splits_the_items_into_the_same_segments(ports: Container) -> None:
    """The census reads a shard as one segment of a parallel Scan: both engines must put an item in
    the same segment, or the two paths relist loans in different partitions of the due list."""
    from localcloud.memory.dynamodb import scan_segment

    table: Any = ports._dynamodb.Table(ports.settings.sweep_runs_table)
    days = [f"2026-04-{n:02d}" for n in range(1, 31)]
    for day in days:
        table.put_item(Item={"business_date": day})
    found = {
        item["business_date"]: segment
        for segment in range(16)
        for item in table.scan(Segment=segment, TotalSegments=16)["Items"]
    }
    assert found == {day: scan_segment(day, 16) for day in days}
    assert len(set(found.values())) > 8  # spread, not one segment
