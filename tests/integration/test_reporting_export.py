"""The reporting export on moto, split by Scan segment: the schedule plans the snapshot, the local cloud
delivers the reporting-segments queue to ReportingSegmentFunction as Lambda's event source would, and
the last segment writes the completion marker Athena and the report read, once."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arrears.adapters.container import Container
from arrears.adapters.reporting_store import ReportingStore, complete_key, part_key
from arrears.config.settings import load_settings
from localcloud.cloud import ACCOUNT, REGION, LocalCloud, to_sqs_record
from localcloud.stack import LocalStack, deploy
from tests.integration.conftest import TEMPLATE, cn_cash_loan, us_regf_loan
from tests.integration.fault_support import every_third_call_fails

EXPORT, SEGMENT = "ReportingExportFunction", "ReportingSegmentFunction"
AT = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai: the snapshot of 20 March
SNAPSHOT = date(2026, 3, 20)
LOANS = 12


def book_stack(loans_per_segment: int, part_items: int = 50_000) -> LocalStack:
    """A stack holding the same book of `LOANS` loans, their histories and their stock."""
    stack = deploy(
        TEMPLATE,
        parameters={
            "ReportingLoansPerSegment": str(loans_per_segment),
            "ReportingPartItems": str(part_items),
        },
    )
    container = Container(
        load_settings(stack.functions["PlannerFunction"].environment), boto3.session.Session()
    )
    history = boto3.resource("dynamodb").Table(stack.physical["DelinquencyHistoryTable"])
    for n in range(LOANS):
        loan = cn_cash_loan(f"L-{n:02d}", principal=100_000 + n) if n % 3 else us_regf_loan(f"L-{n:02d}")
        assert container.loans.create(loan)
        history.put_item(
            Item={
                "loan_id": loan.loan_id,
                "jurisdiction": loan.jurisdiction,
                "strategy_arm": "champion",
                "disbursed_on": loan.disbursed_on.isoformat(),
                "transitions": [
                    {"on": "2026-02-01", "from_state": None, "to_state": "M0", "dpd": 0, "version": 1},
                    {"on": "2026-03-02", "from_state": "M0", "to_state": "M1", "dpd": 1, "version": 2 + n},
                ],
            }
        )
    stock = container.book_stock
    assert stock is not None
    stock.add_stock({("CN", "M1"): LOANS - 4, ("US-REGF", "M1"): 4})
    return stack


def schedule(cloud: LocalCloud, at: datetime = AT) -> dict[str, Any]:
    answer: dict[str, Any] = cloud.invoke(
        EXPORT, cloud.schedule_of(EXPORT).event(at, region=REGION, account=ACCOUNT)
    )
    return answer


def store(stack: LocalStack) -> ReportingStore:
    return ReportingStore(boto3.client("s3"), stack.physical["ReportingBucket"], "unused")


def keys(stack: LocalStack, prefix: str = "") -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=stack.physical["ReportingBucket"], Prefix=prefix)
    return sorted(obj["Key"] for obj in listed.get("Contents", []))


def etags(stack: LocalStack, prefix: str) -> dict[str, str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=stack.physical["ReportingBucket"], Prefix=prefix)
    return {obj["Key"]: obj["ETag"] for obj in listed.get("Contents", [])}


def completions_written(stack: LocalStack) -> int:
    versions = boto3.client("s3").list_object_versions(
        Bucket=stack.physical["ReportingBucket"], Prefix=complete_key(SNAPSHOT)
    )
    return len(versions.get("Versions", []))


def snapshot_rows(stack: LocalStack) -> dict[str, list[dict[str, Any]]]:
    return {
        table: sorted(
            store(stack).read_table(table, SNAPSHOT), key=lambda r: (r["loan_id"], r.get("version", 0))
        )
        for table in ("loans", "transitions")
    }


def queued(stack: LocalStack, queue: str = "ReportingSegmentsQueue") -> list[dict[str, Any]]:
    """Take every message of `queue`, as the records Lambda delivers."""
    sqs, url, records = boto3.client("sqs"), stack.physical[queue], []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    ).get("Messages", []):
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            records.append(to_sqs_record(message, stack.arns[queue]))
    return records


def test_a_book_split_into_four_segments_short_of_time_exports_exactly_the_rows_of_one_segment() -> None:
    with mock_aws():
        one = book_stack(loans_per_segment=1_000)
        whole = LocalCloud(one, start=datetime(2026, 3, 21, tzinfo=UTC))
        plan = schedule(whole)
        assert (plan["segments"], plan["book_loans"], plan["tasks_sent"]) == (1, LOANS, 2)
        whole.settle()

        # Four segments of parts of 2 items, each invocation out of time after its first part.
        split = book_stack(loans_per_segment=3, part_items=2)
        parted = LocalCloud(split, start=datetime(2026, 3, 21, tzinfo=UTC), budgets_ms={SEGMENT: 1})
        plan = schedule(parted)
        assert (plan["segments"], plan["tasks_sent"]) == (4, 8)
        assert keys(split, "snapshots/") == []  # nothing is complete before the segments ran
        parted.settle()

        assert snapshot_rows(split) == snapshot_rows(one)
        rows = snapshot_rows(one)
        assert [r["loan_id"] for r in rows["loans"]] == [f"L-{n:02d}" for n in range(LOANS)]
        assert len(rows["transitions"]) == 2 * LOANS
        assert not {"borrower_id", "borrower_token"} & set(rows["loans"][0])
        marker = store(split).completion(SNAPSHOT)
        assert marker is not None
        assert (marker["snapshot"], marker["rows"]) == (
            "2026-03-20",
            {"loans": LOANS, "transitions": 2 * LOANS},
        )
        assert marker["segments"] == 4
        # Each segment re-queued its rest after each part of 2 items: one invocation per part.
        assert marker["invocations"] == sum(marker["parts"].values()) > 8
        assert parted.counts[SEGMENT] == marker["invocations"]
        assert store(one).completion(SNAPSHOT)["invocations"] == 2  # type: ignore[index]
        part = boto3.client("s3").get_object(
            Bucket=split.physical["ReportingBucket"], Key=part_key("loans", SNAPSHOT, 0, 0)
        )
        assert part["ServerSideEncryption"] == "aws:kms"
        assert len(gzip.decompress(part["Body"].read()).decode().splitlines()) <= 2
        assert completions_written(split) == completions_written(one) == 1


def test_a_redelivered_segment_changes_nothing_and_the_marker_is_written_once_after_the_last() -> None:
    with mock_aws():
        split = book_stack(loans_per_segment=3)
        cloud = LocalCloud(split, start=datetime(2026, 3, 21, tzinfo=UTC))
        schedule(cloud)
        records = queued(split)
        assert len(records) == 8
        for delivered in records[:-1]:
            assert cloud.invoke(SEGMENT, {"Records": [delivered]}) == {"batchItemFailures": []}
            assert store(split).completion(SNAPSHOT) is None  # not before the last segment
        cloud.invoke(SEGMENT, {"Records": [records[-1]]})
        assert completions_written(split) == 1
        parts = etags(split, "loans/") | etags(split, "transitions/")
        complete = etags(split, "snapshots/")

        # Every segment delivered again (SQS delivers at least once): the same parts, the same bytes,
        # and the completion marker is not written a second time.
        for delivered in records:
            assert cloud.invoke(SEGMENT, {"Records": [delivered]}) == {"batchItemFailures": []}
        assert etags(split, "loans/") | etags(split, "transitions/") == parts
        assert etags(split, "snapshots/") == complete
        assert completions_written(split) == 1

        # The schedule retried (the same scheduled time): its plan is found, its tasks sent again.
        again = schedule(cloud)
        assert (again["new_run"], again["stale_parts_removed"]) == (False, 0)
        cloud.settle()
        assert etags(split, "loans/") | etags(split, "transitions/") == parts
        assert completions_written(split) == 1


@pytest.mark.parametrize("after", [False, True], ids=["before-the-call", "after-it-applied"])
def test_a_split_export_completes_while_one_call_in_three_fails_and_follows_each_continuation_once(
    after: bool,
) -> None:
    # The 10 % fault run left 200 segment tasks in the DLQ: the last segment's read of every marker
    # failed as a whole, and each continuation sent again after a lost answer started a second chain.
    with mock_aws():
        one = book_stack(loans_per_segment=1_000)
        whole = LocalCloud(one, start=datetime(2026, 3, 21, tzinfo=UTC))
        schedule(whole)
        whole.settle()

        split = book_stack(loans_per_segment=3, part_items=2)
        log = io.StringIO()
        cloud = LocalCloud(split, start=datetime(2026, 3, 21, tzinfo=UTC), budgets_ms={SEGMENT: 1}, log=log)
        failed: list[str] = []
        with every_third_call_fails(after=after) as failing:
            plan = cloud.invoke(EXPORT, cloud.schedule_of(EXPORT).event(AT, region=REGION, account=ACCOUNT))
        failed += failing
        assert plan["tasks_sent"] == 8
        invocations = 0
        while pending := queued(split):
            for delivered in pending:
                with every_third_call_fails(after=after) as failing:
                    answer = cloud.invoke(SEGMENT, {"Records": [delivered]})
                failed += failing
                assert answer == {"batchItemFailures": []}  # each task done in one invocation
                invocations += 1

        assert len(failed) > 30
        assert snapshot_rows(split) == snapshot_rows(one)
        marker = store(split).completion(SNAPSHOT)
        assert marker is not None
        parts = sum(marker["parts"].values())
        assert marker["invocations"] == parts  # one chain per segment: one invocation per part
        dropped = log.getvalue().count("reporting segment already continued")
        assert invocations == parts + dropped
        if after:
            assert dropped > 0  # sends applied whose answer was lost queued copies, each dropped
        assert completions_written(split) == 1
        assert queued(split, "ReportingSegmentsDLQ") == []


def test_a_new_run_withdraws_the_snapshot_until_it_is_whole_and_drops_the_old_runs_tasks() -> None:
    with mock_aws():
        split = book_stack(loans_per_segment=3)
        log = io.StringIO()
        cloud = LocalCloud(split, start=datetime(2026, 3, 21, tzinfo=UTC), log=log)
        schedule(cloud)
        cloud.settle()
        assert store(split).completion(SNAPSHOT) is not None
        # A part an older, larger plan wrote beyond this book's segments.
        store(split).write_part("loans", SNAPSHOT, 9, 0, [{"loan_id": "L-GONE"}])

        # An operator re-runs the export of the same date at another time: a new run.
        rerun = schedule(cloud, AT.replace(hour=6))
        assert (rerun["new_run"], rerun["stale_parts_removed"]) == (True, 1)
        assert store(split).completion(SNAPSHOT) is None  # readers keep the previous snapshot meanwhile
        pending = queued(split)
        # A task of the first run, delivered late, reads and writes nothing.
        first_run = {**json.loads(pending[0]["body"]), "run": "2026-03-20T04:00:00Z"}
        sqs = boto3.client("sqs")
        sqs.send_message(QueueUrl=split.physical["ReportingSegmentsQueue"], MessageBody=json.dumps(first_run))
        [stale] = queued(split)
        assert cloud.invoke(SEGMENT, {"Records": [stale]}) == {"batchItemFailures": []}
        assert "superseded run" in log.getvalue()
        for delivered in pending:
            assert cloud.invoke(SEGMENT, {"Records": [delivered]}) == {"batchItemFailures": []}
        marker = store(split).completion(SNAPSHOT)
        assert marker is not None
        assert marker["run"] == "2026-03-20T06:00:00Z"
        assert part_key("loans", SNAPSHOT, 9, 0) not in keys(split)
        assert [r["loan_id"] for r in snapshot_rows(split)["loans"]] == [f"L-{n:02d}" for n in range(LOANS)]
        assert completions_written(split) == 2  # once per run


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not JSON"),
        (
            json.dumps({"snapshot": "2026-03-20", "run": "2026-03-20T04:00:00Z", "table": "borrowers"}),
            "table",
        ),
        # well formed, but its snapshot has no plan: it cannot be exported (the DLQ's runbook)
        (
            json.dumps(
                {
                    "snapshot": "2026-03-19",
                    "run": "2026-03-19T04:00:00Z",
                    "table": "loans",
                    "segment": 0,
                    "segments": 1,
                }
            ),
            "LookupError",
        ),
    ],
)
def test_a_segment_task_that_cannot_run_reaches_the_dlq_with_a_log_line_saying_why(
    body: str, reason: str, stack: LocalStack
) -> None:
    log = io.StringIO()
    cloud = LocalCloud(stack, start=datetime(2026, 3, 21, tzinfo=UTC), log=log)
    boto3.client("sqs").send_message(QueueUrl=stack.physical["ReportingSegmentsQueue"], MessageBody=body)
    cloud.settle()
    dead = queued(stack, "ReportingSegmentsDLQ")
    assert [r["body"] for r in dead] == [body]
    lines = [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]
    failures = [
        line
        for line in lines
        if line.get("message") in {"malformed reporting segment task", "record failed; reported for retry"}
    ]
    assert len(failures) == 3  # one a delivery, until the redrive policy moves it to the DLQ
    assert reason in json.dumps(failures[0])
    assert "borrowers" not in log.getvalue()  # the reason names the field, never the value
    assert keys(stack) == []


def test_a_schedule_time_ahead_of_the_clock_is_refused_and_writes_nothing(stack: LocalStack) -> None:
    cloud = LocalCloud(stack, start=datetime(2026, 3, 21, tzinfo=UTC))
    with pytest.raises(ValueError, match="later than the clock"):
        schedule(cloud, datetime(2026, 4, 1, tzinfo=UTC))
    cloud.settle()
    assert keys(stack) == []
