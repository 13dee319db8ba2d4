"""A Loans-stream record is planned under a steady rate of transient errors, in one invocation.

One record makes some twenty AWS calls in the planner (the credit facts and the history's append, the
CN records, the borrower, the loan's actions, each action's put and contact record, the stock counts
at the batch's end). Every retry of a stream batch starts the record over, so a record that needed
every call through at once would never be planned while one call in three fails: the 10 % fault run
left one in the failure queue after every redrive. Each call is retried on its own instead
(`arrears.adapters.retrying.retry_transient`), and a write applied whose answer was lost is
recognised as ours on its retry: the history and the stock count it once, never twice, never not.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

from arrears.adapters.book_stock import BookStockRepository
from arrears.adapters.container import Container
from arrears.adapters.delinquency_history import DelinquencyHistoryRepository
from arrears.adapters.items import loan_to_item
from arrears.config.playbook import bundled_playbook
from arrears.domain.assessment import assess
from arrears.domain.loans import Loan
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc
from tests.integration.fault_support import every_third_call_fails

SAMPLE = Path(__file__).resolve().parents[2] / "events" / "planner" / "loan-overdue.json"
SWEEP_TIME = time(0, 30)  # the CN sweep's hour, Shanghai
DAYS = [date(2026, 3, 3) + timedelta(days=n) for n in range(10)]  # DPD 1 to 10: texts, e-mails, calls


def change_event(before: Loan, after: Loan, at: datetime) -> dict[str, Any]:
    """The Loans stream's record of `before` -> `after`, as the planner's trigger delivers it."""
    serializer = TypeSerializer()
    event: dict[str, Any] = json.loads(SAMPLE.read_text())
    (record,) = event["Records"]
    image = {
        name: {key: serializer.serialize(value) for key, value in loan_to_item(loan, shard_count=16).items()}
        for name, loan in (("OldImage", before), ("NewImage", after))
    }
    record["dynamodb"].update(image, Keys={"loan_id": {"S": after.loan_id}})
    record["dynamodb"]["ApproximateCreationDateTime"] = int(at.timestamp())
    return event


def next_day(loan: Loan, day: date) -> Loan:
    """The loan as the sweep assesses it on `day` (its next version)."""
    return assess(loan, day, bundled_playbook()).with_changes(version=loan.version + 1)


def outcome(container: Container, stack: LocalStack, loan_id: str) -> dict[str, Any]:
    """What the planner left of a loan, without its ids: its actions, contact records and history."""
    actions = sorted(
        (
            a.step_id,
            a.status.value,
            a.channel.value,
            a.planned_at,
            a.not_before,
            a.amount_due_minor,
            a.last_outcome.reason if a.last_outcome else None,
        )
        for a in container.actions.for_loan(loan_id)
    )
    contacts = sorted(
        (c["status"], c["channel"], c["occurred_at"]) for c in container.contacts.for_loan(loan_id)
    )
    table = boto3.resource("dynamodb").Table(stack.physical["DelinquencyHistoryTable"])
    history = [
        (t.from_state, t.to_state, t.on, t.version)
        for t in DelinquencyHistoryRepository(table).transitions(loan_id)
    ]
    return {"actions": actions, "contacts": contacts, "history": history}


def counters(stack: LocalStack) -> dict[tuple[str, str], int]:
    """The stock per (jurisdiction, state) and the flows of `DAYS` per (day, `from>to`)."""
    stock = BookStockRepository(boto3.resource("dynamodb").Table(stack.physical["BookStockTable"]))
    counts = dict(stock.stock())
    for day in DAYS:
        counts.update({(day.isoformat(), flow): n for (_, flow), n in stock.flows(day).items()})
    return counts


def moved(
    before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    """What the counters moved by, from `before` to `after` (non-zero moves only)."""
    keys = set(before) | set(after)
    return {key: n for key in keys if (n := after.get(key, 0) - before.get(key, 0))}


@pytest.mark.parametrize("after", [False, True], ids=["before-the-call", "after-it-applied"])
def test_a_record_is_planned_in_one_invocation_while_one_call_in_three_fails(
    make_cloud: CloudFactory, container: Container, stack: LocalStack, after: bool
) -> None:
    # Two identical CN loans due on Sunday 1 March, registered and on the book (NEW>M0 counted).
    cloud = make_cloud(utc(2026, 2, 20, 2, 0))
    calm, faulted = cn_cash_loan("L-CALM"), cn_cash_loan("L-FAULT")
    for loan in (calm, faulted):
        register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()
    loans = {loan.loan_id: container.loans.get(loan.loan_id) for loan in (calm, faulted)}
    failed: list[str] = []
    m1 = 0

    # Each day the sweep changes both loans: the first one's record planned fault-free, then the
    # second one's while every third AWS call fails.
    for day in DAYS:
        at = datetime.combine(day, SWEEP_TIME, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
        cloud.advance_to(at)
        counts = [counters(stack)]
        for loan_id, faults in ((calm.loan_id, False), (faulted.loan_id, True)):
            before = loans[loan_id]
            assert before is not None
            loans[loan_id] = change = next_day(before, day)
            event = change_event(before, change, at)
            if faults:
                with every_third_call_fails(after=after) as failing:
                    response = cloud.invoke("PlannerFunction", event)
                failed += failing
            else:
                response = cloud.invoke("PlannerFunction", event)
            assert response == {"batchItemFailures": []}  # the record done in one invocation
            counts.append(counters(stack))
        calm_moved, faulted_moved = moved(counts[0], counts[1]), moved(counts[1], counts[2])
        # The stock and the day's flows moved exactly as for the fault-free loan: once each.
        assert faulted_moved == calm_moved, day
        m1 += calm_moved.get(("CN", "M1"), 0)

    assert len(failed) >= 6  # faults met all over the records' processing
    assert outcome(container, stack, faulted.loan_id) == outcome(container, stack, calm.loan_id)
    assert outcome(container, stack, calm.loan_id)["actions"]  # the days planned contacts
    assert m1 == 1  # the loan rolled into M1 once
