"""A call task already in the dialer's queue is withdrawn when calls must stop, and only then."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3

from arrears.adapters.container import Container
from arrears.domain.actions import Action, ActionStatus
from arrears.domain.strategy import Channel
from localcloud.cloud import LocalCloud
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc
from tests.integration.test_holds import by_step, dispatch_at, hold, stored, sweep_day

MAX_RECEIVE = 10


def call_queue(stack: LocalStack) -> list[dict[str, Any]]:
    """Every message on the call-task queue (received, then made visible again for the next look)."""
    sqs = boto3.client("sqs")
    url = stack.physical["CallTaskQueue"]
    bodies: list[dict[str, Any]] = []
    receipts: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=MAX_RECEIVE).get("Messages", [])
        if not got:
            break
        bodies.extend(json.loads(m["Body"]) for m in got)
        receipts.extend(m["ReceiptHandle"] for m in got)
    for receipt in receipts:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
    return bodies


def a_loan_with_a_call_in_the_dialers_queue(
    make_cloud: CloudFactory, container: Container, stack: LocalStack, loan_id: str
) -> tuple[LocalCloud, str]:
    """A CN loan swept and dispatched (10:30 in Shanghai) day by day until its first call is sent
    (by D+8 at the latest, whatever its arm and risk band)."""
    loan = cn_cash_loan(loan_id)
    cloud = make_cloud(utc(2026, 2, 20, 2, 0))
    register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()
    calls: list[Action] = []
    for day in range(1, 9):
        sweep_day(cloud, day)
        dispatch_at(cloud, cloud.clock + timedelta(hours=10))
        calls = [a for a in by_step(container, loan_id).values() if a.channel is Channel.CALL_TASK]
        if calls:
            break
    (call,) = calls
    assert call.status is ActionStatus.SENT
    assert [m["type"] for m in call_queue(stack) if m["action_id"] == call.action_id] == ["CALL_TASK"]
    return cloud, call.action_id


def test_a_dispute_withdraws_the_call_the_dialer_still_holds(
    make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    cloud, call_id = a_loan_with_a_call_in_the_dialers_queue(make_cloud, container, stack, "L-CALL-DISPUTE")
    borrower_id = stored(container, "L-CALL-DISPUTE").borrower_id
    open_task = container.call_ledger.ledger(borrower_id).open_task
    assert open_task is not None
    assert open_task.task_id == call_id

    # When the borrower disputes the debt an hour later
    cloud.advance_to(cloud.clock + timedelta(hours=1))
    assert hold(cloud, stored(container, "L-CALL-DISPUTE"), "dispute")["outcome"] == "applied"

    # Then the dialer is told to drop that call, once, with the reason and no personal data
    withdrawals = [m for m in call_queue(stack) if m["type"] == "CANCEL_CALL_TASK"]
    assert withdrawals == [
        {
            "type": "CANCEL_CALL_TASK",
            "action_id": call_id,
            "loan_id": "L-CALL-DISPUTE",
            "reason": "debt under dispute",
        }
    ]
    # And the borrower's one open call task is closed on their call ledger: a call for another of
    # their loans may be handed to the dialer at once, not when the withdrawn task would have expired
    assert container.call_ledger.ledger(borrower_id).open_task is None


def test_a_call_handed_off_more_than_a_day_ago_is_not_withdrawn(
    make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    cloud, _ = a_loan_with_a_call_in_the_dialers_queue(make_cloud, container, stack, "L-CALL-OLD")

    # When the cease-contact request comes two days later, the call's deadline has long passed
    cloud.advance_to(cloud.clock + timedelta(days=2))
    assert hold(cloud, stored(container, "L-CALL-OLD"), "cease_contact")["outcome"] == "applied"

    assert [m for m in call_queue(stack) if m["type"] == "CANCEL_CALL_TASK"] == []
