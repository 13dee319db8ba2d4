"""arrears-ops on moto: redrive, stream-failure replay, sweep re-run and masked loan history.

moto runs no Lambda code, so the tests hand the CLI an invoker that calls the handlers in-process
through the local cloud (or records the call), the seam the CLI has for exactly this.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser import parse
from moto import mock_aws

from arrears.adapters.container import Container
from arrears.config.rulepacks import bundled_rule_packs
from arrears.domain.business_time import latest_business_date
from arrears.events.schedules import SchedulerInvocation
from arrears_cli.ops import main, mask_email, mask_name, mask_phone, sweep_event
from localcloud.cloud import LocalCloud
from localcloud.stack import LocalStack

from .conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc

pytestmark = pytest.mark.integration


class Recorder:
    """An invoker that records (function, event) and answers with a canned response."""

    def __init__(self, response: Any = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.response = response if response is not None else {"batchItemFailures": []}

    def __call__(self, function: str, event: dict[str, Any]) -> Any:
        self.calls.append((function, event))
        return self.response


def cloud_invoker(cloud: LocalCloud, stack: LocalStack) -> Any:
    """Invoke `<stack>-<service>` through the local cloud (the function whose service is <service>)."""
    by_service = {spec.environment["POWERTOOLS_SERVICE_NAME"]: name for name, spec in stack.functions.items()}

    def invoke(function: str, event: dict[str, Any]) -> Any:
        return cloud.invoke(by_service[function.rsplit("-", 1)[-1]], event)

    return invoke


def output(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def visible(queue_url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


# --------------------------------------------------------------------------------------------------
# redrive
# --------------------------------------------------------------------------------------------------
def test_redrive_moves_fifo_messages_back_with_their_group_and_dedup_ids(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given three field-visit tasks in the DLQ
    sqs = boto3.client("sqs")
    dlq, source = stack.physical["FieldVisitDLQ"], stack.physical["FieldVisitQueue"]
    for n in range(3):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=json.dumps({"action_id": f"A-{n}"}),
            MessageGroupId=f"region-{n % 2}",
            MessageDeduplicationId=f"A-{n}",
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "field-visit"}},
        )

    # When the DLQ is redriven (by its name; the source comes from the redrive policy)
    assert main(["redrive", "--dlq", dlq.rsplit("/", 1)[-1]]) == 0

    # Then they are all on the source queue with group, dedup id and attributes kept, and the DLQ is empty
    assert output(capsys)["moved"] == 3
    received = sqs.receive_message(
        QueueUrl=source,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
    )["Messages"]
    assert sorted(
        (
            json.loads(m["Body"])["action_id"],
            m["Attributes"]["MessageGroupId"],
            m["Attributes"]["MessageDeduplicationId"],
        )
        for m in received
    ) == [("A-0", "region-0", "A-0"), ("A-1", "region-1", "A-1"), ("A-2", "region-0", "A-2")]
    assert all(m["MessageAttributes"]["kind"]["StringValue"] == "field-visit" for m in received)
    assert visible(dlq) == 0


def test_redrive_dry_run_and_limit_move_nothing_or_only_that_many(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = boto3.client("sqs")
    dlq, source = stack.physical["FieldVisitDLQ"], stack.physical["FieldVisitQueue"]
    for n in range(4):
        sqs.send_message(QueueUrl=dlq, MessageBody=str(n), MessageGroupId="g", MessageDeduplicationId=f"d{n}")

    assert main(["redrive", "--dlq", dlq, "--dry-run"]) == 0
    result = output(capsys)
    assert [m["body"] for m in result.pop("messages")] == [0, 1, 2, 3]
    assert result | {"dlq": None, "target": None} == {
        "dlq": None,
        "target": None,
        "moved": 4,
        "dry_run": True,
    }
    assert visible(source) == 0

    assert main(["redrive", "--dlq", dlq, "--max", "2"]) == 0
    assert output(capsys)["moved"] == 2
    assert visible(source) == 2


def test_redrive_dry_run_lists_every_message_id_and_body_and_gives_them_all_back(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given twelve call tasks in the DLQ (more than one receive's ten), one of them not JSON
    sqs = boto3.client("sqs")
    dlq, source = stack.physical["CallTaskDLQ"], stack.physical["CallTaskQueue"]
    bodies: dict[str, Any] = {}
    for n in range(12):
        body = "not json" if n == 11 else json.dumps({"action_id": f"A-{n}", "type": "CALL_TASK"})
        sent = sqs.send_message(QueueUrl=dlq, MessageBody=body)
        bodies[sent["MessageId"]] = body if n == 11 else json.loads(body)

    # When the DLQ is looked at with --dry-run
    assert main(["redrive", "--dlq", dlq, "--dry-run"]) == 0

    # Then every message is listed once with its id and its body (parsed when it is JSON) ...
    result = output(capsys)
    assert (result["moved"], result["dry_run"]) == (12, True)
    assert {m["message_id"]: m["body"] for m in result["messages"]} == bodies
    assert len(result["messages"]) == 12
    # ... nothing was sent or deleted, and every message is visible in the DLQ again at once
    assert visible(source) == 0
    attributes = sqs.get_queue_attributes(
        QueueUrl=dlq,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "12"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    # A plain redrive does not list the messages
    assert main(["redrive", "--dlq", dlq, "--max", "1"]) == 0
    assert "messages" not in output(capsys)


def test_redrive_finds_the_dlq_by_its_logical_id_within_the_stack(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = boto3.client("sqs")
    dlq = stack.physical["CallTaskDLQ"]
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"action_id": "A-1"}))
    stack_name = dlq.rsplit("/", 1)[-1].removesuffix("-CallTaskDLQ")

    assert main(["--stack", stack_name, "redrive", "--dlq", "CallTaskDLQ"]) == 0

    result = output(capsys)
    assert (result["dlq"], result["target"], result["moved"]) == (dlq, stack.physical["CallTaskQueue"], 1)
    assert visible(stack.physical["CallTaskQueue"]) == 1


def test_history_with_a_stack_that_does_not_exist_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        assert main(["--stack", "nope", "history", "--loan", "L-1"]) == 2
    assert "cannot read stack 'nope'" in capsys.readouterr().err


def test_redrive_of_a_queue_that_is_nobodys_dlq_is_refused(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["redrive", "--dlq", stack.physical["AsyncFailureQueue"]]) == 2
    assert "dead-letter queue of 0 queues" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# replay-stream-failures
# --------------------------------------------------------------------------------------------------
def _failure_record(
    stack: LocalStack, table: str, function: str, shard_id: str | None = None
) -> dict[str, Any]:
    """What Lambda sends to the on-failure destination for the whole current stream of `table`."""
    streams = boto3.client("dynamodbstreams")
    arn = stack.arns[f"{table}.StreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return {
        "requestContext": {
            "requestId": "r-1",
            "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:arrears-prod-{function}",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 6,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-02-20T02:00:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": shard_id or shard["ShardId"],
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": "2026-02-20T02:00:00Z",
            "approximateArrivalOfLastRecord": "2026-02-20T02:00:00Z",
            "batchSize": len(records),
            "streamArn": arn,
        },
    }


def planner_failed_on(stack: LocalStack, shard_id: str | None = None) -> str:
    """Put the planner's failure record for the Loans stream on StreamFailureQueue; its URL."""
    queue = stack.physical["StreamFailureQueue"]
    boto3.client("sqs").send_message(
        QueueUrl=queue, MessageBody=json.dumps(_failure_record(stack, "LoansTable", "planner", shard_id))
    )
    return queue


def test_replay_reads_the_failed_batch_from_the_stream_and_invokes_its_consumer(
    stack: LocalStack, container: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two loans whose Loans-stream batch the planner failed on
    for n in (1, 2):
        loan = cn_cash_loan(f"L-{n}")
        register(container, loan, borrower_for(loan), utc(2026, 2, 1))
    queue = planner_failed_on(stack)
    invoker = Recorder()

    # When the failures are replayed
    assert main(["replay-stream-failures", "--queue", queue], invoker=invoker) == 0

    # Then the planner got exactly that batch, in the shape Lambda delivers, and the record is gone
    [(function, event)] = invoker.calls
    assert function == "arrears-prod-planner"
    records = event["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT"]
    assert {r["dynamodb"]["Keys"]["loan_id"]["S"] for r in records} == {"L-1", "L-2"}
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], int) for r in records)
    assert all(r["eventSourceARN"] == stack.arns["LoansTable.StreamArn"] for r in records)
    assert [item["records"] for item in output(capsys)["replayed"]] == [2]
    assert visible(queue) == 0


def test_replay_through_the_real_planner_plans_the_actions_it_missed(
    stack: LocalStack, container: Container, make_cloud: CloudFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an overdue loan whose planning batch failed (the shard id unknown: searched in the stream)
    loan = cn_cash_loan("L-7")
    register(container, loan, borrower_for(loan), utc(2026, 2, 1))
    queue = planner_failed_on(stack, "gone")
    cloud = make_cloud(utc(2026, 2, 1, 2, 0))

    # When it is replayed through the planner handler
    assert main(["replay-stream-failures", "--queue", queue], invoker=cloud_invoker(cloud, stack)) == 0

    # Then the planner ran on it and the failure record is consumed
    assert cloud.counts.get("PlannerFunction") == 1
    assert output(capsys)["kept"] == []
    assert visible(queue) == 0


def test_a_batch_that_fails_again_stays_in_the_queue_and_the_exit_code_says_so(
    stack: LocalStack, container: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    loan = cn_cash_loan("L-9")
    register(container, loan, borrower_for(loan), utc(2026, 2, 1))
    queue = planner_failed_on(stack)
    invoker = Recorder({"batchItemFailures": [{"itemIdentifier": "1"}]})

    assert main(["replay-stream-failures", "--queue", queue], invoker=invoker) == 1

    [kept] = output(capsys)["kept"]
    assert kept["error"] == "1 records failed again"
    assert visible(queue) == 1


def test_replay_dry_run_reads_but_invokes_nothing(
    stack: LocalStack, container: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    loan = cn_cash_loan("L-3")
    register(container, loan, borrower_for(loan), utc(2026, 2, 1))
    queue = planner_failed_on(stack)
    invoker = Recorder()

    assert main(["replay-stream-failures", "--queue", queue, "--dry-run"], invoker=invoker) == 0

    assert invoker.calls == []
    assert output(capsys)["replayed"][0]["records"] == 1


# --------------------------------------------------------------------------------------------------
# rerun-sweep
# --------------------------------------------------------------------------------------------------
def test_rerun_sweep_sends_the_scheduled_event_of_that_business_date(stack: LocalStack) -> None:
    invoker = Recorder({"business_date": "2026-03-02"})

    assert (
        main(
            ["--stack", "", "rerun-sweep", "--business-date", "2026-03-02", "--function", "s"],
            invoker=invoker,
        )
        == 0
    )

    [(function, event)] = invoker.calls
    assert function == "s"
    # 00:30 in Shanghai on the business date, the daily schedule's time (16:30 UTC the day before),
    # in the shape of the schedule's Input
    assert event["time"] == "2026-03-01T16:30:00Z"
    (schedule,) = stack.functions["SweepFunction"].events
    assert set(event) == set(json.loads(schedule.properties["Input"]))
    # and the sweep function reads it as that business time
    assert latest_business_date(
        parse(event=event, model=SchedulerInvocation).unwrap(), bundled_rule_packs().latest.values()
    ) == date(2026, 3, 2)


def test_sweep_event_follows_the_given_zone_and_time() -> None:
    event = sweep_event(date(2026, 7, 1), zone="America/New_York", at=time(1, 0))
    assert event["time"] == "2026-07-01T05:00:00Z"


@pytest.mark.parametrize(
    ("business_date", "now"),
    [
        ("2027-03-02", datetime(2026, 3, 2, 12, 0, tzinfo=UTC)),  # a year ahead
        ("2026-03-03", datetime(2026, 3, 2, 12, 0, tzinfo=UTC)),  # tomorrow
        ("2026-03-02", datetime(2026, 3, 1, 16, 29, tzinfo=UTC)),  # today, a minute before its run
    ],
)
def test_rerun_sweep_refuses_a_business_date_whose_run_is_still_to_come(
    business_date: str, now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    invoker = Recorder({})

    code = main(
        ["rerun-sweep", "--business-date", business_date, "--function", "s"],
        invoker=invoker,
        clock=lambda: now,
    )

    assert code == 2
    assert invoker.calls == []
    assert f"business date {business_date} is in the future" in capsys.readouterr().err


def test_rerun_sweep_accepts_today_once_its_run_time_has_come() -> None:
    invoker = Recorder({})
    at_the_run = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 March in Shanghai

    code = main(
        ["rerun-sweep", "--business-date", "2026-03-02", "--function", "s"],
        invoker=invoker,
        clock=lambda: at_the_run,
    )

    assert code == 0
    assert len(invoker.calls) == 1


def test_rerun_sweep_through_the_real_sweep_handler(stack: LocalStack, make_cloud: CloudFactory) -> None:
    cloud = make_cloud(utc(2026, 3, 3))
    invoke = cloud_invoker(cloud, stack)

    assert (
        main(["rerun-sweep", "--business-date", "2026-03-02", "--function", "x-sweep"], invoker=invoke) == 0
    )

    [call] = [c for c in cloud.invocations if c.function == "SweepFunction"]
    assert call.error is None
    assert call.event["time"] == "2026-03-01T16:30:00Z"


# --------------------------------------------------------------------------------------------------
# history
# --------------------------------------------------------------------------------------------------
def test_history_shows_actions_and_contacts_with_personal_data_masked(
    stack: LocalStack, container: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a loan with one planned action and one contact
    loan = cn_cash_loan("L-42")
    borrower = borrower_for(loan)
    register(container, loan, borrower, utc(2026, 2, 1))
    dynamodb = boto3.resource("dynamodb")
    dynamodb.Table(stack.physical["ActionsTable"]).put_item(
        Item={
            "action_id": "act-1",
            "loan_id": "L-42",
            "borrower_id": borrower.borrower_id,
            "channel": "SMS",
            "step_id": "sms-d1",
            "status": "SENT",
            "planned_at": "2026-03-02T00:00:00Z",
            "dpd": 1,
            "bucket": "M1",
            "amount_due_minor": 508_500,
            "currency": "CNY",
        }
    )
    dynamodb.Table(stack.physical["ContactsTable"]).put_item(
        Item={
            "loan_id": "L-42",
            "contact_key": "2026-03-02T01:00:00Z#c-1",
            "contact_id": "c-1",
            "action_id": "act-1",
            "borrower_id": borrower.borrower_id,
            "channel": "SMS",
            "status": "SENT",
            "occurred_at": "2026-03-02T01:00:00Z",
            # a field the history does not know is never shown, whatever it holds
            "debug_phone": borrower.phone,
        }
    )

    # When an operator asks for its history
    tables = [
        "--loans-table", stack.physical["LoansTable"],
        "--borrowers-table", stack.physical["BorrowersTable"],
        "--actions-table", stack.physical["ActionsTable"],
        "--contacts-table", stack.physical["ContactsTable"],
    ]  # fmt: skip
    assert main([*tables, "history", "--loan", "L-42"]) == 0
    text = capsys.readouterr().out
    result = json.loads(text)

    # Then actions and contacts are there, and no name, phone, e-mail or address in clear
    assert [a["action_id"] for a in result["actions"]] == ["act-1"]
    assert [(c["contact_id"], c["status"]) for c in result["contacts"]] == [("c-1", "SENT")]
    assert result["loan"]["loan_id"] == "L-42"
    assert result["borrower"]["phone"] == "+86*******8000"
    assert result["borrower"]["email"] == "x***@example.cn"
    assert result["borrower"]["name"] == "王**"
    for secret in (borrower.phone, borrower.email, borrower.name, borrower.address, "138001"):
        assert secret not in text


def test_history_of_an_unknown_loan_fails_cleanly(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = [
        "--loans-table", stack.physical["LoansTable"],
        "--borrowers-table", stack.physical["BorrowersTable"],
        "--actions-table", stack.physical["ActionsTable"],
        "--contacts-table", stack.physical["ContactsTable"],
    ]  # fmt: skip
    assert main([*tables, "history", "--loan", "nope"]) == 2
    assert "no loan 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "masked"),
    [("+8613800138000", "+86*******8000"), ("+12025550123", "+12*****0123"), ("123", "***"), ("", "")],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


def test_masks_of_email_and_name() -> None:
    assert mask_email("jane.doe@example.com") == "j***@example.com"
    assert mask_email("broken") == "***"
    assert mask_name("Jane Doe") == "J*******"
    assert mask_name("") == ""


# --------------------------------------------------------------------------------------------------
# hold
# --------------------------------------------------------------------------------------------------
def probe_bus(stack: LocalStack) -> Any:
    """An SQS queue that receives every HoldChanged event put on the stack's bus; returns a reader."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    bus = stack.physical["LoanEventsBus"]
    url = sqs.create_queue(QueueName="hold-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="hold-probe", EventBusName=bus, EventPattern=json.dumps({"detail-type": ["HoldChanged"]})
    )
    events.put_targets(Rule="hold-probe", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    def read() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return read


def test_hold_puts_a_hold_changed_event_on_the_stacks_bus_and_the_holds_function_applies_it(
    stack: LocalStack, container: Container, make_cloud: CloudFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a loan of the stack, and the stack's bus (named <stack>-loan-events by the template)
    loan = cn_cash_loan("L-77")
    register(container, loan, borrower_for(loan), utc(2026, 3, 3))
    read = probe_bus(stack)
    stack_name = stack.physical["LoanEventsBus"].removesuffix("-loan-events")

    # When the operator records a promise to pay
    argv = [
        "--stack",
        stack_name,
        "hold",
        "--loan",
        "L-77",
        "--hold",
        "promise_to_pay",
        "--until",
        "2026-03-09",
    ]
    code = main(
        [*argv, "--request-id", "HOLD-1", "--at", "2026-03-05T02:00:00Z"], clock=lambda: utc(2026, 3, 5, 2)
    )

    # Then the event is on the bus, from the collector desk, with exactly the contract's detail
    assert code == 0
    result = output(capsys)
    (event,) = read()
    assert (event["source"], event["detail-type"]) == ("arrears.collections", "HoldChanged")
    expected = {
        "request_id": "HOLD-1",
        "loan_id": "L-77",
        "hold": "promise_to_pay",
        "active": True,
        "until": "2026-03-09",
        "occurred_at": "2026-03-05T02:00:00Z",
    }
    assert event["detail"] == result["detail"] == expected
    assert result["bus"] == stack.physical["LoanEventsBus"]

    # And the holds function, given that event by its rule, records the promise
    cloud = make_cloud(utc(2026, 3, 5, 2, 1))
    (answer,) = cloud.put_event("LoanEventsBus", event["source"], event["detail-type"], event["detail"])
    assert answer["outcome"] == "applied"
    stored = container.loans.get("L-77")
    assert stored is not None
    assert stored.holds.promise_to_pay_until == date(2026, 3, 9)


def test_hold_lift_and_a_generated_request_id(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    read = probe_bus(stack)
    bus = stack.physical["LoanEventsBus"]

    code = main(
        [
            "hold",
            "--bus",
            bus,
            "--loan",
            "L-9",
            "--hold",
            "cease_contact",
            "--lift",
            "--source",
            "arrears.lending-core",
        ],
        clock=lambda: utc(2026, 3, 5, 2),
    )

    assert code == 0
    (event,) = read()
    assert event["source"] == "arrears.lending-core"
    detail = event["detail"]
    assert (detail["hold"], detail["active"], detail["occurred_at"]) == (
        "cease_contact",
        False,
        "2026-03-05T02:00:00Z",
    )
    assert detail["request_id"].startswith("HOLD-")
    assert "until" not in detail
    assert output(capsys)["detail"] == detail


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["--hold", "promise_to_pay"], "until: required to set promise_to_pay"),
        (["--hold", "cease_contact", "--until", "2026-03-09"], "until: cease_contact takes no date"),
        (["--hold", "hardship", "--lift", "--until", "2026-03-09"], "until: lifting hardship takes no date"),
        (["--hold", "dispute", "--at", "2026-03-06T00:00:00Z"], "occurred_at: "),
        (["--hold", "dispute", "--at", "yesterday"], "--at: "),
    ],
)
def test_an_invalid_hold_is_refused_and_nothing_is_sent(
    stack: LocalStack, capsys: pytest.CaptureFixture[str], arguments: list[str], problem: str
) -> None:
    read = probe_bus(stack)
    code = main(
        ["hold", "--bus", stack.physical["LoanEventsBus"], "--loan", "L-9", *arguments],
        clock=lambda: utc(2026, 3, 5, 2),
    )
    assert code == 2
    assert problem in capsys.readouterr().err
    assert read() == []


def test_hold_needs_a_stack_or_a_bus(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hold", "--loan", "L-9", "--hold", "dispute"]) == 2
    assert "no event bus" in capsys.readouterr().err
