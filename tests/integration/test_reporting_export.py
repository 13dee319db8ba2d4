"""The reporting export on moto: the stack's function writes a snapshot Athena reads, once per date."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest

from arrears.adapters.container import Container
from arrears.adapters.reporting_store import ReportingStore, part_key
from localcloud.cloud import ACCOUNT, REGION, LocalCloud
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, cn_cash_loan, us_regf_loan

FUNCTION = "ReportingExportFunction"
AT = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai: the snapshot of 20 March


def bucket_keys(stack: LocalStack) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=stack.physical["ReportingBucket"])
    return sorted(obj["Key"] for obj in listed.get("Contents", []))


def export(cloud: LocalCloud, at: datetime = AT) -> dict[str, Any]:
    event = cloud.schedule_of(FUNCTION).event(at, region=REGION, account=ACCOUNT)
    answer: dict[str, Any] = cloud.invoke(FUNCTION, event)
    return answer


@pytest.fixture
def cloud(make_cloud: CloudFactory, container: Container) -> LocalCloud:
    for loan in (cn_cash_loan("L-1"), cn_cash_loan("L-2", principal=300_000), us_regf_loan("L-3")):
        assert container.loans.create(loan)
    return make_cloud(datetime(2026, 3, 21, tzinfo=UTC))


def test_the_snapshot_holds_every_loan_once_without_personal_data_and_reruns_to_the_same_bytes(
    cloud: LocalCloud, stack: LocalStack
) -> None:
    answer = export(cloud)
    assert answer["snapshot"] == "2026-03-20"
    assert answer["rows"] == {"loans": 3, "transitions": 0}
    assert answer["parts"] == {"loans": 1, "transitions": 0}
    keys = bucket_keys(stack)
    assert keys == [
        "loans/snapshot=2026-03-20/part-00000.jsonl.gz",
        "snapshots/snapshot=2026-03-20/complete.json",
    ]
    s3 = boto3.client("s3")
    bucket = stack.physical["ReportingBucket"]
    first = s3.get_object(Bucket=bucket, Key=keys[0])
    assert first["ServerSideEncryption"] == "aws:kms"
    rows = [json.loads(line) for line in gzip.decompress(first["Body"].read()).decode().splitlines()]
    assert sorted(row["loan_id"] for row in rows) == ["L-1", "L-2", "L-3"]
    assert {row["principal_minor"] for row in rows if row["loan_id"] == "L-2"} == {300_000}
    assert not {"borrower_id", "borrower_token"} & set(rows[0])

    # A retry of the same schedule rewrites the same snapshot: the same objects, the same bytes.
    etag = first["ETag"]
    assert export(cloud)["stale_parts_removed"] == 0
    assert bucket_keys(stack) == keys
    assert s3.head_object(Bucket=bucket, Key=keys[0])["ETag"] == etag


def test_a_rerun_with_fewer_parts_removes_the_stale_ones_and_a_snapshot_without_its_marker_is_not_read(
    cloud: LocalCloud, stack: LocalStack
) -> None:
    store = ReportingStore(boto3.client("s3"), stack.physical["ReportingBucket"], "unused")
    snapshot = date(2026, 3, 20)
    # A previous run of this snapshot, on a larger book, left a second part behind.
    store.write_part("loans", snapshot, 1, [{"loan_id": "L-GONE"}])
    with pytest.raises(KeyError, match="not complete"):
        list(store.read_table("loans", snapshot))
    assert export(cloud)["stale_parts_removed"] == 1
    assert part_key("loans", snapshot, 1) not in bucket_keys(stack)
    assert sorted(row["loan_id"] for row in store.read_table("loans", snapshot)) == ["L-1", "L-2", "L-3"]


def test_a_schedule_time_ahead_of_the_clock_is_refused_and_writes_nothing(
    cloud: LocalCloud, stack: LocalStack
) -> None:
    with pytest.raises(ValueError, match="later than the clock"):
        export(cloud, datetime(2026, 4, 1, tzinfo=UTC))
    assert bucket_keys(stack) == []
