"""The whole pipeline through the real handlers on moto: detect, plan, dispatch, record, archive, cure."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import boto3
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from arrears.adapters.container import Container
from arrears.domain.actions import ActionStatus
from arrears.domain.loans import LoanStatus
from arrears.domain.penalties import total_outstanding
from localcloud.cloud import LocalCloud
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc

SWEEP = "SweepFunction"
DISPATCH = "DispatcherFunction"
RELEASE = "DeferredReleaseFunction"


def sms_sent() -> list[tuple[str, str]]:
    backend = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [(str(number), str(message)) for number, message in backend.sms_messages.values()]


def archived(stack: LocalStack) -> dict[str, bytes]:
    s3 = boto3.client("s3")
    bucket = stack.physical["ArchiveBucket"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def sweep_days(cloud: LocalCloud, first_day: int, last_day: int, *, dispatch: bool = False) -> None:
    """Run the daily sweep at 16:30 UTC (00:30 in Shanghai) for March `first_day`..`last_day`,
    and with `dispatch` the deferred-action schedule at 08:00 Shanghai the morning after."""
    for day in range(first_day, last_day + 1):
        cloud.advance_to(utc(2026, 3, 2, 16, 30) + timedelta(days=day - 1))
        cloud.schedule(SWEEP)
        if dispatch:
            cloud.advance_to(utc(2026, 3, 3, 0, 0) + timedelta(days=day - 1))
            cloud.schedule(RELEASE)


def test_a_loan_goes_overdue_is_reminded_visited_archived_and_cured(
    make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    # Given a CN cash loan due on 2 March, its borrower in Shanghai
    loan = cn_cash_loan(due=utc(2026, 3, 2).date())
    borrower = borrower_for(loan)
    cloud = make_cloud(utc(2026, 2, 21, 2, 0))
    register(container, loan, borrower, cloud.clock)
    cloud.settle()

    # When the sweep runs in the first minutes of 3 March, Shanghai time (DPD 1)
    sweep_days(cloud, 1, 1)

    # Then the planner plans the D+1 SMS for 08:00 local time, when the contact window opens
    stored = container.loans.get(loan.loan_id)
    assert stored is not None
    assert (stored.dpd, stored.bucket) == (1, "M1")
    (action,) = container.actions.for_loan(loan.loan_id)
    assert action.step_id == "sms-d1"
    assert action.status is ActionStatus.DEFERRED
    assert action.not_before == utc(2026, 3, 3, 0, 0)  # 08:00 Asia/Shanghai
    assert sms_sent() == []

    # When the 15-minute deferred-release schedule fires at 08:00 Shanghai
    cloud.advance_to(utc(2026, 3, 3, 0, 0))
    cloud.schedule(RELEASE)

    # Then the SMS goes to the borrower's number through SNS, once
    ((number, text),) = sms_sent()
    assert number == borrower.phone
    assert "逾期 1 天" in text
    sent = container.actions.get(action.action_id)
    assert sent is not None
    assert sent.status is ActionStatus.SENT

    # When the sweeps go on to DPD 60, with the dispatcher's morning runs
    sweep_days(cloud, 2, 60, dispatch=True)

    # Then a field visit is queued on the FIFO queue, grouped by region, deduplicated by action id
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=stack.physical["FieldVisitQueue"], MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    (visit,) = messages
    body = json.loads(visit["Body"])
    assert body["type"] == "FIELD_VISIT"
    assert body["loan_id"] == loan.loan_id
    assert body["dpd"] == 60
    assert body["requirements"] == {"min_collectors": 2, "recording_required": True}
    assert visit["Attributes"]["MessageGroupId"] == "Shanghai"
    assert borrower.phone not in visit["Body"]
    assert borrower.name not in visit["Body"]
    # Every SMS step of the strategy went out exactly once, and only those
    sms_actions = [a for a in container.actions.for_loan(loan.loan_id) if a.channel.value == "SMS"]
    sent_steps = [a.step_id for a in sms_actions if a.status is ActionStatus.SENT]
    assert len(sent_steps) == len(set(sent_steps)) == len(sms_sent()) >= 2

    # And every contact outcome is archived: gzip JSON Lines beside a chained manifest, no PII
    objects = archived(stack)
    data_keys = sorted(k for k in objects if k.endswith(".jsonl.gz"))
    assert data_keys
    assert all(k.startswith("contacts/jurisdiction=CN/dt=2026-") for k in data_keys)
    lines = [json.loads(x) for k in data_keys for x in gzip.decompress(objects[k]).decode().splitlines()]
    assert {(line["channel"], line["status"]) for line in lines} >= {("SMS", "SENT"), ("FIELD_VISIT", "SENT")}
    blob = b"".join(objects.values()).decode("utf-8", "ignore") + "".join(json.dumps(x) for x in lines)
    for pii in (borrower.name, borrower.phone, borrower.email, borrower.address, borrower.borrower_id):
        assert pii not in blob
    manifests = [json.loads(objects[k]) for k in objects if k.endswith(".manifest.json")]
    assert sorted(m["seq"] for m in manifests) == list(range(1, len(manifests) + 1))

    # When the borrower pays everything owed
    cloud.advance_to(utc(2026, 5, 2, 3, 0))
    stored = container.loans.get(loan.loan_id)
    assert stored is not None
    owed = total_outstanding(stored, utc(2026, 5, 2, 3, 0).date())
    (response,) = cloud.put_event(
        "LoanEventsBus",
        "arrears.lending-core",
        "PaymentReceived",
        {
            "payment_id": "PAY-1",
            "loan_id": loan.loan_id,
            "amount_minor": owed,
            "currency": "CNY",
            "paid_at": "2026-05-02T03:00:00Z",
        },
    )

    # Then the loan is cured and closed, leaves the review index, and nothing more is planned
    assert response["cured"] is True
    assert response["closed"] is True
    closed = container.loans.get(loan.loan_id)
    assert closed is not None
    assert closed.status is LoanStatus.CLOSED
    assert closed.next_review_on is None
    planned = len(container.actions.for_loan(loan.loan_id))
    texts = len(sms_sent())
    sweep_days(cloud, 62, 70, dispatch=True)
    assert len(container.actions.for_loan(loan.loan_id)) == planned
    assert len(sms_sent()) == texts


def test_rerunning_a_sweep_for_the_same_business_date_writes_nothing(
    make_cloud: CloudFactory, container: Container
) -> None:
    loan = cn_cash_loan()
    cloud = make_cloud(utc(2026, 2, 21))
    register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()
    sweep_days(cloud, 1, 1)
    before = container.loans.get(loan.loan_id)
    first = cloud.invocations[-1]

    cloud.advance_to(cloud.clock + timedelta(minutes=5))
    rerun_from = len(cloud.invocations)
    cloud.schedule(SWEEP)
    # The sweep fans out as many tasks as the book needs (one here, over every shard); the sweep-worker
    # invocations do (or skip) the writes.
    workers = [
        c
        for c in cloud.invocations[rerun_from:]
        if c.function == "SweepWorkerFunction" and "census" not in c.event["Records"][0]["body"]
    ]

    assert len(workers) == 1
    assert sum(c.response["sweep"]["writes"] for c in workers) == 0
    assert container.loans.get(loan.loan_id) == before
    assert first.function in {SWEEP, "PlannerFunction", DISPATCH, "ArchiverFunction"}
