"""The dispatcher's AWS calls per contact, counted through its real handler on moto.

A contact's cost is its requests: one BatchGetItem for the action, its loan and its borrower (the
stream image gives the ids), the outbox claim, the send, the action's SENT transition (which is the
outbox's completion too) and the contact record. Counted by `benchmarks.dispatch_calls`, the same
code `make bench` reports with.
"""

from __future__ import annotations

from arrears.adapters.container import Container
from benchmarks.dispatch_calls import count_calls
from localcloud.cloud import LocalCloud
from localcloud.stack import LocalStack
from tests.integration.conftest import utc

NOON_SHANGHAI = utc(2026, 3, 10, 4, 0)


def test_one_sms_costs_at_most_five_aws_calls(stack: LocalStack, container: Container) -> None:
    cloud = LocalCloud(stack, start=NOON_SHANGHAI)
    count_calls(cloud, container, "L-WARM", "CALL_TASK", "call_script")  # reads the token secret once

    sms = count_calls(cloud, container, "L-SMS", "SMS", "sms_overdue")
    email = count_calls(cloud, container, "L-EMAIL", "EMAIL", "email_overdue")

    assert (sms["status"], sms["failed_records"]) == ("SENT", 0)
    assert sms["by_api"] == {
        "dynamodb.BatchGetItem": 1,  # the action, its loan and its borrower
        "dynamodb.PutItem": 1,  # the contact record
        # the outbox claim, with its check that the action is still as judged (no cancellation since)
        "dynamodb.TransactWriteItems": 1,
        "dynamodb.UpdateItem": 1,  # the SENT transition, which also completes the outbox's claim
        "sns.Publish": 1,
    }
    assert sms["total"] <= 5
    assert (email["status"], email["total"]) == ("SENT", 5)


def test_a_call_task_reads_the_contact_ledger_with_the_action(
    stack: LocalStack, container: Container
) -> None:
    cloud = LocalCloud(stack, start=NOON_SHANGHAI)
    count_calls(cloud, container, "L-WARM", "SMS", "sms_overdue")
    count_calls(cloud, container, "L-WARM2", "CALL_TASK", "call_script")

    call = count_calls(cloud, container, "L-CALL", "CALL_TASK", "call_script")

    assert call["status"] == "SENT"
    assert call["by_api"] == {
        "dynamodb.BatchGetItem": 1,  # the action, its loan, its borrower and the borrower's call ledger
        "dynamodb.PutItem": 2,  # the ledger's open task, the contact record
        "dynamodb.TransactWriteItems": 1,  # the outbox claim and its check of the action
        "dynamodb.UpdateItem": 1,
        "sqs.SendMessage": 1,
    }
