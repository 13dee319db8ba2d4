"""Every sample event under events/ runs through its handler; bad input goes to a failure path."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest

from arrears.adapters.container import Container
from arrears.domain.actions import ActionStatus
from arrears.domain.calendar import parse_utc
from localcloud.cloud import LocalCloud
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc

EVENTS = Path(__file__).resolve().parents[2] / "events"
# events/<the function's code directory>/<sample>.json -> the function it is fed to
SAMPLES = {
    "sweep/scheduled.json": "SweepFunction",
    "sweep_deadline/scheduled.json": "SweepDeadlineFunction",
    "retention/scheduled.json": "RetentionFunction",
    "reporting_export/scheduled.json": "ReportingExportFunction",
    "bureau_file/scheduled.json": "BureauFileFunction",
    "complaint_deadlines/scheduled.json": "ComplaintDeadlinesFunction",
    "sweep_worker/task.json": "SweepWorkerFunction",
    "review_lister/loan-listing-requests.json": "ReviewListerFunction",
    "sweep_worker/census.json": "SweepWorkerFunction",
    "planner/loan-overdue.json": "PlannerFunction",
    "dispatcher/action-planned.json": "DispatcherFunction",
    "deferred_release/scheduled.json": "DeferredReleaseFunction",
    # what `sam local generate-event cloudwatch scheduled-event` writes: no `version`
    "deferred_release/sam-generated.json": "DeferredReleaseFunction",
    "call_outcomes/call-outcome.json": "CallOutcomesFunction",
    "call_outcomes/call-attempted.json": "CallOutcomesFunction",
    "call_outcomes/field-visit-reported.json": "CallOutcomesFunction",
    "archiver/contact-recorded.json": "ArchiverFunction",
    "payments/payment-received.json": "PaymentsFunction",
    "payments/payment-reversed.json": "PaymentsFunction",
    "erasure/requested.json": "ErasureFunction",
    "holds/hold-changed.json": "HoldsFunction",
    "inbound_sms/stop-reply.json": "InboundSmsFunction",
    "api/unsubscribe-post.json": "ApiFunction",
    "api/my-loans.json": "ApiFunction",
    "book_import/object-created.json": "BookImportFunction",
    "book_import/loan-disbursed.json": "BookImportFunction",
    "book_import/borrower-updated.json": "BookImportFunction",
    "case_file/referral.json": "CaseFileFunction",
    "reporting_segment/task.json": "ReportingSegmentFunction",
}


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def drain(stack: LocalStack, queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    response = sqs.receive_message(QueueUrl=stack.physical[queue], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in response.get("Messages", [])]


def test_every_function_has_a_sample_event(stack: LocalStack) -> None:
    assert sorted(p.relative_to(EVENTS).as_posix() for p in EVENTS.rglob("*.json")) == sorted(SAMPLES)
    assert set(SAMPLES.values()) == set(stack.functions)
    for name, function in SAMPLES.items():
        assert name.split("/")[0] == stack.functions[function].code_dir.name, name


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_event_runs_through_its_handler(
    name: str, make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    # Given the sample loan of the events exists (registered before its due date)
    loan = cn_cash_loan("L-SAMPLE-0001", principal=100_000).with_changes(borrower_id="B-SAMPLE-0001")
    cloud: LocalCloud = make_cloud(utc(2026, 2, 25))
    register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()

    if name == "payments/payment-reversed.json":
        # the payment it reverses was applied first
        assert cloud.invoke(SAMPLES[name], load("payments/payment-received.json"))["duplicate"] is False
    if name in {"call_outcomes/call-outcome.json", "call_outcomes/call-attempted.json"}:
        # a call for an action this stack never planned: refused (the failure path), nothing counted
        with pytest.raises(ValueError, match="no such call task"):
            cloud.invoke(SAMPLES[name], load(name))
        assert container.call_ledger.ledger("B-SAMPLE-0001").attempts == ()
        return
    if name == "call_outcomes/field-visit-reported.json":
        # a visit on a task this stack never queued: refused (the failure path), nothing archived
        with pytest.raises(ValueError, match="no such field-visit task"):
            cloud.invoke(SAMPLES[name], load(name))
        assert container.contacts.for_loan("L-SAMPLE-0001") == []
        return
    # The sample runs at its own time: a schedule or sweep task ahead of the clock is refused
    event = load(name)
    at = event.get("time") if isinstance(event.get("time"), str) else None
    if name.startswith("sweep_worker/"):
        at = json.loads(event["Records"][0]["body"])["business_time"]
    if at and parse_utc(at) > cloud.clock:
        cloud.advance_to(parse_utc(at))
    if name == "reporting_segment/task.json":
        # The task is one of the plan the reporting export's sample schedule writes (its run, its date)
        schedule = load("reporting_export/scheduled.json")
        cloud.advance_to(parse_utc(schedule["time"]))
        assert cloud.invoke("ReportingExportFunction", schedule)["segments"] == 1
    if name == "archiver/contact-recorded.json":
        # The stream's record is in the Contacts table (a record gone from it counts as archived)
        image = event["Records"][0]["dynamodb"]["NewImage"]
        boto3.client("dynamodb").put_item(TableName=stack.physical["ContactsTable"], Item=image)
    if name == "book_import/object-created.json":
        # The file the event names is in the stack's import bucket (the sample book of samples/)
        event["detail"]["bucket"]["name"] = bucket = stack.physical["ImportBucket"]
        sample = Path(__file__).resolve().parents[2] / "samples" / "book.csv"
        boto3.client("s3").put_object(
            Bucket=bucket, Key=event["detail"]["object"]["key"], Body=sample.read_bytes()
        )
    response = cloud.invoke(SAMPLES[name], event)

    # Then the handler answers in the shape its trigger expects, with no failed record
    if name.startswith(("planner/", "dispatcher/", "archiver/", "case_file/", "reporting_segment/")):
        assert response == {"batchItemFailures": []}
    if name == "case_file/referral.json":
        # The sample loan's court case file, in the restricted bucket
        listed = boto3.client("s3").list_objects_v2(Bucket=stack.physical["CaseFileBucket"])
        assert sorted(o["Key"].rsplit(".", 1)[-1] for o in listed["Contents"]) == ["html", "json"]
    if name.startswith("sweep_worker/"):
        assert response["batchItemFailures"] == []
    if name == "sweep_worker/census.json":
        # a continuation of one Scan segment: it resumed after its start_key (the sample loan, so it read
        # nothing more); the reconciliation waits for the last segment (tests/integration/test_census.py)
        assert response["census"] == {
            "items_read": 0,
            "counted": 0,
            "overdue_reviews": 0,
            "requests_relisted": 0,
        }
    if name == "planner/loan-overdue.json":
        # Planned at 00:30 in Shanghai: the SMS waits for 08:00 local, when the contact window opens
        (action,) = container.actions.for_loan("L-SAMPLE-0001")
        assert (action.step_id, action.status) == ("sms-d1", ActionStatus.DEFERRED)
        assert action.not_before == utc(2026, 3, 3, 0, 0)
    if name == "book_import/object-created.json":
        assert (response["imported"], response["rejected"]) == (96, 1)
        assert response["errors_key"] == "reports/book.csv.errors.jsonl"
    if name == "book_import/loan-disbursed.json":
        assert response["by_record"] == {"borrower:CREATED": 1, "loan:CREATED": 1}
    if name == "book_import/borrower-updated.json":
        # The sample's borrower is not registered: it is created as of the update's instant.
        assert response["by_record"] == {"borrower:CREATED": 1}
    if name == "payments/payment-received.json":
        assert response["loan_id"] == "L-SAMPLE-0001"
        assert response["duplicate"] is False
    if name == "payments/payment-reversed.json":
        assert (response["verdict"], response["rebuilt"]) == ("REVERSED", True)
        stored = container.loans.get("L-SAMPLE-0001")
        assert stored is not None
        assert stored.ledger_count == 0
        assert stored.scheduled_outstanding == stored.instalments[0].total_due
    if name == "inbound_sms/stop-reply.json":
        # a STOP from a number no borrower has: logged, nothing recorded
        assert (response["status"], response["archived"]) == ("UNKNOWN_BORROWER", False)
    if name == "api/unsubscribe-post.json":
        # the sample's signature is a placeholder: refused as tampered, nothing recorded
        assert response["statusCode"] == 403
    if name == "api/my-loans.json":
        # a borrower the stack does not hold has no loans
        assert (response["statusCode"], json.loads(response["body"])) == (200, {"loans": []})
    if name == "archiver/contact-recorded.json":
        keys = boto3.client("s3").list_objects_v2(Bucket=stack.physical["ArchiveBucket"])["Contents"]
        assert {k["Key"].rsplit(".", 2)[-2] for k in keys} == {"jsonl", "manifest"}
    if name == "sweep_deadline/scheduled.json":
        # 06:00 in Shanghai on 3 March, and no sweep ran for that date
        assert (response["business_date"], response["completed"]) == ("2026-03-03", False)
    if name == "retention/scheduled.json":
        # nothing archived yet: no object to review
        assert (response["reviewed"], response["extended"], response["expired"]) == (0, [], [])
    if name == "erasure/requested.json":
        assert response["borrower_found"] is True
        assert response["audit_key"].startswith("erasures/dt=2026-03-06/")
    if name == "holds/hold-changed.json":
        # A promise to pay until 6 March, made on 2 March, re-assessed that day: the loan's next
        # milestone is its strategy's next step (3 March), and 7 March is one of its milestones now
        assert (response["outcome"], response["changed"]) == ("applied", True)
        assert response["next_review_on"] == "2026-03-03"
        stored = container.loans.get("L-SAMPLE-0001")
        assert stored is not None
        assert stored.holds.promise_to_pay_until == date(2026, 3, 6)
    if name.startswith("deferred_release/"):
        # nothing was deferred: nothing is due, whatever the schedule's time
        assert response == {"deferred_due": 0, "deferred_processed": 0, "deferred_failed": 0}


def test_a_malformed_loan_record_fails_alone_and_lands_in_the_failure_queue(
    make_cloud: CloudFactory, stack: LocalStack, container: Container
) -> None:
    good = load("planner/loan-overdue.json")["Records"][0]
    bad = json.loads(json.dumps(good))
    bad["dynamodb"]["NewImage"]["principal_minor"] = {"S": "lots"}
    bad["dynamodb"]["SequenceNumber"] = "4000000000000000000002"
    cloud = make_cloud(utc(2026, 3, 2, 16, 30), log=io.StringIO())

    response = cloud.invoke("PlannerFunction", {"Records": [bad, good]})

    assert response == {"batchItemFailures": [{"itemIdentifier": "4000000000000000000002"}]}
    assert len(container.actions.for_loan("L-SAMPLE-0001")) == 1  # the good record was planned
    assert isinstance(cloud.log, io.StringIO)
    errors = [json.loads(line) for line in cloud.log.getvalue().splitlines() if '"level":"ERROR"' in line]
    assert [e["message"] for e in errors] == ["malformed loan stream record"]
    assert "principal_minor" in errors[0]["reason"]


def test_a_malformed_payment_goes_to_the_async_failure_queue_after_retries(
    make_cloud: CloudFactory, stack: LocalStack
) -> None:
    cloud = make_cloud(utc(2026, 3, 5))
    event = load("payments/payment-received.json")

    responses = cloud.put_event(
        "LoanEventsBus", event["source"], "PaymentReceived", {**event["detail"], "amount_minor": "12.50"}
    )

    assert responses == [None]
    (failure,) = drain(stack, "AsyncFailureQueue")
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestPayload"]["detail"]["payment_id"] == event["detail"]["payment_id"]
    assert cloud.counts["PaymentsFunction"] == 3


def test_a_payment_for_an_unknown_loan_is_not_lost(make_cloud: CloudFactory, stack: LocalStack) -> None:
    cloud = make_cloud(utc(2026, 3, 5, 4))  # after the sample's paid_at: a payment from the future is refused
    event = load("payments/payment-received.json")
    cloud.put_event(
        "LoanEventsBus", event["source"], "PaymentReceived", {**event["detail"], "loan_id": "L-NOPE"}
    )
    (failure,) = drain(stack, "AsyncFailureQueue")
    assert "L-NOPE" in failure["responsePayload"]["errorMessage"]


def test_a_replayed_payment_is_applied_once(make_cloud: CloudFactory, container: Container) -> None:
    loan = cn_cash_loan("L-SAMPLE-0001", principal=100_000)
    cloud = make_cloud(utc(2026, 2, 25))
    register(container, loan, borrower_for(loan), cloud.clock)
    event = load("payments/payment-received.json")
    first = cloud.invoke("PaymentsFunction", event)
    again = cloud.invoke("PaymentsFunction", event)
    assert first["duplicate"] is False
    assert again["duplicate"] is True
    stored = container.loans.get("L-SAMPLE-0001")
    assert stored is not None
    paid = sum(i.principal_paid + i.interest_paid + i.fee_paid for i in stored.instalments)
    assert paid + stored.penalty_paid_minor == 50_000  # once, penalty included
    assert stored.ledger_count == 1


def test_replaying_a_loan_stream_batch_plans_nothing_new(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud = make_cloud(utc(2026, 3, 2, 16, 30))
    event = load("planner/loan-overdue.json")
    cloud.invoke("PlannerFunction", event)
    cloud.invoke("PlannerFunction", event)
    assert len(container.actions.for_loan("L-SAMPLE-0001")) == 1


def test_a_failing_stream_batch_is_retried_bisected_and_sent_to_the_on_failure_queue(
    make_cloud: CloudFactory, stack: LocalStack
) -> None:
    # A contact record from an unknown jurisdiction cannot be archived: the archiver reports it,
    # the local cloud (like Lambda) retries it, then hands it to StreamFailureQueue.
    cloud = make_cloud(utc(2026, 3, 3))
    table = boto3.resource("dynamodb").Table(stack.physical["ContactsTable"])
    table.put_item(
        Item={
            "loan_id": "L-X",
            "contact_key": "2026-03-03T00:00:00Z#c1",
            "contact_id": "c1",
            "borrower_id": "B-X",
            "jurisdiction": "XX",
            "occurred_at": "2026-03-03T00:00:00Z",
        }
    )
    cloud.settle()
    (failure,) = drain(stack, "StreamFailureQueue")
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert cloud.counts["ArchiverFunction"] >= 2
