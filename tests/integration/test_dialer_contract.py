"""The dialer contract on moto: one open call task per borrower, every attempt counted, judged and
archived through the real call-outcomes handler, field visits checked against the pack, bad reports
to the failure queue, and the caps proven from the archive alone."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from arrears.adapters.container import Container
from arrears.adapters.idempotency import OnceRunner
from arrears.config.rulepacks import rule_pack_in_force
from arrears.domain.actions import ActionStatus
from arrears.domain.archive import DATA_SUFFIX, decode_lines
from arrears.domain.call_audit import audit_calls, audit_visits
from arrears.domain.loans import Loan
from arrears.domain.strategy import Channel
from arrears.events.dialer import CallTask
from arrears.usecases.dispatch import DispatchPorts
from localcloud.cloud import LocalCloud
from localcloud.emf import emf_points
from localcloud.stack import LocalStack
from tests.integration.archive_support import bucket_objects
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, log_lines, utc
from tests.integration.test_dispatch import NOON_SHANGHAI, dispatch_at, overdue, plan, queue_bodies


@pytest.fixture
def ports(container: Container) -> DispatchPorts:
    return DispatchPorts.from_container(container, OnceRunner(container.settings.idempotency_table))


def call_task(
    container: Container, ports: DispatchPorts, stack: LocalStack, loan: Loan, step: str
) -> CallTask:
    action = plan(container, loan, Channel.CALL_TASK, "call_task", step=step)
    assert dispatch_at(action.action_id, NOON_SHANGHAI, ports).status is ActionStatus.SENT
    (body,) = queue_bodies(stack, "CallTaskQueue")
    return CallTask.model_validate(body)  # the message is the contract's, field for field


def attempted(cloud: LocalCloud, task_id: str, n: int, at: datetime, result: str, **extra: Any) -> list[Any]:
    detail = {
        "call_id": f"CALL-{task_id[:8]}-{n}",
        "task_id": task_id,
        "attempt": n,
        "started_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "result": result,
        **extra,
    }
    return cloud.put_event("LoanEventsBus", "arrears.dialer", "CallAttempted", detail)


def archived_lines(stack: LocalStack) -> list[dict[str, Any]]:
    lines: dict[str, dict[str, Any]] = {}
    for key, blob in bucket_objects(stack).items():
        if key.endswith(DATA_SUFFIX):
            for line in decode_lines(blob):
                lines[str(line["contact_id"])] = line
    return list(lines.values())


def test_every_attempt_is_counted_once_judged_and_archived(
    make_cloud: CloudFactory, container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    base = cn_cash_loan("L-DIAL")
    loan = overdue(container, base, borrower_for(base))
    task = call_task(container, ports, stack, loan, "call-1")
    assert (task.attempts_left_today, task.connected_left_today) == (6, 3)
    assert task.expires_at == "2026-03-10T14:00:00Z"  # 22:00 in Shanghai: the end of today's window
    cloud = make_cloud(NOON_SHANGHAI + timedelta(hours=1))

    first = attempted(cloud, task.task_id, 1, NOON_SHANGHAI + timedelta(minutes=5), "no_answer")
    second = attempted(cloud, task.task_id, 2, NOON_SHANGHAI + timedelta(minutes=40), "connected_borrower")
    again = attempted(cloud, task.task_id, 2, NOON_SHANGHAI + timedelta(minutes=40), "connected_borrower")

    assert [r["duplicate"] for r in first + second + again] == [False, False, True]
    assert [r["unanswered_contacts"] for r in first + second] == [1, 0]
    ledger = container.call_ledger.ledger(loan.borrower_id)
    assert (len(ledger.attempts), len(ledger.connected), ledger.conversations) == (2, 1, ())
    assert ledger.open_task is not None  # not done: 4 attempts and 2 connected calls left today
    attempts = [c for c in container.contacts.for_loan(loan.loan_id) if c.get("result")]
    assert sorted((c["attempt"], c["result"], c["reason"]) for c in attempts) == [
        (1, "no_answer", ""),
        (2, "connected_borrower", ""),
    ]
    assert all("call_attempts_per_day:PASS" in c["rules_checked"] for c in attempts)
    cloud.settle()
    lines = archived_lines(stack)
    archived = sorted((line["attempt"], line["result"], line["task_id"]) for line in lines if line["result"])
    assert archived == [(1, "no_answer", task.task_id), (2, "connected_borrower", task.task_id)]
    audit = audit_calls(lines, rule_pack_in_force)
    assert (audit.attempts, audit.connected, audit.conversations, sum(audit.violations.values())) == (
        2,
        1,
        0,
        0,
    )


def test_a_conversation_closes_the_task_and_the_borrowers_other_loan_waits_then_sees_the_days_count(
    make_cloud: CloudFactory, container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    base = cn_cash_loan("L-TWO")
    borrower = borrower_for(base)
    loan = overdue(container, base, borrower)
    other = overdue(container, replace(cn_cash_loan("L-TWO-B"), borrower_id=base.borrower_id), borrower)
    task = call_task(container, ports, stack, loan, "call-a")
    waiting = plan(container, other, Channel.CALL_TASK, "call_task", step="call-b")
    cloud = make_cloud(NOON_SHANGHAI + timedelta(hours=2))

    held = dispatch_at(waiting.action_id, NOON_SHANGHAI + timedelta(minutes=1), ports)
    attempted(cloud, task.task_id, 1, NOON_SHANGHAI + timedelta(minutes=10), "busy")
    (done,) = attempted(
        cloud, task.task_id, 2, NOON_SHANGHAI + timedelta(minutes=50), "connected_borrower", conversation=True
    )
    later = plan(container, other, Channel.CALL_TASK, "call_task", step="call-c")
    result = dispatch_at(later.action_id, NOON_SHANGHAI + timedelta(hours=2), ports)

    assert (held.status, held.reason) == (
        ActionStatus.DEFERRED,
        "another call task is open for this borrower",
    )
    assert done["task_closed"] is True
    assert result.status is ActionStatus.SENT
    (body,) = [b for b in queue_bodies(stack, "CallTaskQueue") if b["task_id"] == later.action_id]
    # The borrower's day so far, across both loans: 2 attempts, 1 connected call.
    assert (body["attempts_left_today"], body["connected_left_today"]) == (4, 2)


def test_legacy_call_outcome_is_folded_in_as_an_unnumbered_attempt(
    make_cloud: CloudFactory, container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    base = cn_cash_loan("L-OLD")
    loan = overdue(container, base, borrower_for(base))
    task = call_task(container, ports, stack, loan, "call-1")
    cloud = make_cloud(NOON_SHANGHAI + timedelta(hours=1))
    detail = {
        "call_id": "OLD-1",
        "action_id": task.task_id,
        "borrower_id": loan.borrower_id,
        "occurred_at": "2026-03-10T04:10:00Z",
        "connected": True,
    }

    (answer,) = cloud.put_event("LoanEventsBus", "arrears.dialer", "CallOutcome", detail)

    assert answer["duplicate"] is False
    (record,) = [c for c in container.contacts.for_loan(loan.loan_id) if c.get("result")]
    assert (record["attempt"], record["result"], record["conversation"]) == (0, "connected_borrower", False)
    assert len(container.call_ledger.ledger(loan.borrower_id).connected) == 1


@pytest.mark.parametrize(
    ("case", "clock_after", "started_after", "detail", "reason"),
    [
        ("unknown task", 60, 5, {"task_id": "NO-SUCH-TASK"}, "no such call task"),
        ("before the task", 60, -30, {}, "before the task was queued"),
        ("after the event", 60, 70, {}, "later than the event itself"),
        ("too late", 60 * 24 * 32, 5, {}, "older than the call ledger keeps"),
        (
            "conversation off the line",
            60,
            5,
            {"result": "connected_other", "conversation": True},
            "conversation",
        ),
        ("no such result", 60, 5, {"result": "hung_up"}, "detail.result"),
    ],
)
def test_a_bad_attempt_report_goes_to_the_failure_queue_and_counts_nothing(
    case: str,
    clock_after: int,
    started_after: int,
    detail: dict[str, Any],
    reason: str,
    make_cloud: CloudFactory,
    container: Container,
    ports: DispatchPorts,
    stack: LocalStack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    base = cn_cash_loan("L-BAD")
    loan = overdue(container, base, borrower_for(base))
    task = call_task(container, ports, stack, loan, "call-1")
    cloud = make_cloud(NOON_SHANGHAI + timedelta(minutes=clock_after))
    report = {
        "call_id": "CALL-BAD",
        "task_id": task.task_id,
        "attempt": 1,
        "started_at": (NOON_SHANGHAI + timedelta(minutes=started_after)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "result": "no_answer",
        **detail,
    }

    assert cloud.put_event("LoanEventsBus", "arrears.dialer", "CallAttempted", report) == [None]

    (failure,) = queue_bodies(stack, "AsyncFailureQueue")
    assert failure["requestPayload"]["detail"]["call_id"] == "CALL-BAD"
    assert reason in failure["responsePayload"]["errorMessage"] or reason in caplog.text
    assert container.call_ledger.ledger(loan.borrower_id).attempts == ()
    assert not [c for c in container.contacts.for_loan(loan.loan_id) if c.get("result")], case


def visit(cloud: LocalCloud, task_id: str, visit_id: str, at: datetime, **detail: Any) -> list[Any]:
    body = {
        "visit_id": visit_id,
        "task_id": task_id,
        "visited_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "collector_ids": ["COL-7", "COL-9"],
        "recording_ref": f"REC-{visit_id}",
        "outcome": "promise_to_pay",
        **detail,
    }
    return cloud.put_event("LoanEventsBus", "arrears.field", "FieldVisitReported", body)


def test_field_visits_are_checked_against_the_pack_and_archived_breaches_and_all(
    make_cloud: CloudFactory, container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    base = cn_cash_loan("L-VISIT")
    loan = overdue(container, base, borrower_for(base))
    action = plan(container, loan, Channel.FIELD_VISIT, "field_visit")
    assert dispatch_at(action.action_id, NOON_SHANGHAI, ports).status is ActionStatus.SENT
    cloud = make_cloud(utc(2026, 3, 11, 15, 0))
    morning = utc(2026, 3, 11, 2, 0)  # 10:00 in Shanghai
    night = utc(2026, 3, 11, 14, 30)  # 22:30 in Shanghai: after the 22:00 end of contact hours

    (lawful,) = visit(cloud, action.action_id, "V-1", morning)
    (alone,) = visit(cloud, action.action_id, "V-2", morning, collector_ids=["COL-7"], recording_ref=None)
    (late,) = visit(cloud, action.action_id, "V-3", night)
    (again,) = visit(cloud, action.action_id, "V-1", morning)

    assert lawful["breaches"] == []
    assert again["duplicate"] is True
    assert alone["breaches"] == ["1 collector(s) present, CN requires at least 2", "CN requires a recording"]
    assert late["breaches"] == ["visit outside the contact window 08:00-22:00"]
    records = {
        c["result"] + ":" + c["reason"]: c
        for c in container.contacts.for_loan(loan.loan_id)
        if c.get("result")
    }
    assert len(records) == 3
    cloud.settle()
    audit = audit_visits(archived_lines(stack))
    assert (audit.visits, audit.visits_with_breach) == (3, 2)
    assert dict(audit.breaches) == {
        "field_visit_collectors": 1,
        "field_visit_recording": 1,
        "contact_hours": 1,
    }
    lone = next(line for line in archived_lines(stack) if line["collector_ids"] == ["COL-7"])
    assert (lone["recording_ref"], lone["channel"]) == ("", "FIELD_VISIT")
    # Each breaching visit counted once, under the dimensions the collector-rule-breach alarm reads
    # (infrastructure/monitoring.yaml: service=call-outcomes only); the warning names the jurisdiction.
    assert isinstance(cloud.log, io.StringIO)
    breaches = [p for p in emf_points(cloud.log.getvalue().splitlines()) if p.name == "FieldVisitViolations"]
    assert [(p.dimensions, p.value) for p in breaches] == [((("service", "call-outcomes"),), 1.0)] * 2
    assert {line["jurisdiction"] for line in log_lines(cloud, "field visit broke a rule")} == {"CN"}


def _lapse_idempotency_records(container: Container) -> None:
    """As when a report's idempotency record stayed in progress (its completion write failed after the
    contact was written) and lapsed: the next delivery of the report runs it again."""
    table = boto3.resource("dynamodb").Table(container.settings.idempotency_table)
    for item in table.scan()["Items"]:
        table.delete_item(Key={"id": item["id"]})


def test_a_report_applied_again_after_its_idempotency_record_lapsed_is_recorded_once(
    make_cloud: CloudFactory, container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    """A desk report is stamped when it is received, so a report run again carries another instant:
    the record's key (instant and id) differed, and the archive held the visit twice (found by the
    1,000 x 30 fault bench at 5 %: one field visit archived twice)."""
    base = cn_cash_loan("L-VISIT-AGAIN")
    loan = overdue(container, base, borrower_for(base))
    action = plan(container, loan, Channel.FIELD_VISIT, "field_visit")
    assert dispatch_at(action.action_id, NOON_SHANGHAI, ports).status is ActionStatus.SENT
    cloud = make_cloud(utc(2026, 3, 11, 15, 0))
    visit(cloud, action.action_id, "V-1", utc(2026, 3, 11, 2, 0))
    other = cn_cash_loan("L-CALL-AGAIN")
    calls = call_task(container, ports, stack, overdue(container, other, borrower_for(other)), "call-1")
    attempted(cloud, calls.task_id, 1, NOON_SHANGHAI + timedelta(minutes=5), "no_answer")

    _lapse_idempotency_records(container)
    visit(cloud, action.action_id, "V-1", utc(2026, 3, 11, 3, 0), outcome="not_home")
    attempted(cloud, calls.task_id, 1, NOON_SHANGHAI + timedelta(minutes=9), "refused")

    (visited,) = [c for c in container.contacts.for_loan(loan.loan_id) if c.get("result")]
    assert (visited["occurred_at"], visited["result"]) == ("2026-03-11T02:00:00Z", "promise_to_pay")
    (called,) = [c for c in container.contacts.for_loan("L-CALL-AGAIN") if c.get("result")]
    assert called["result"] == "no_answer"
    cloud.settle()
    ids = [
        line["contact_id"]
        for key, blob in bucket_objects(stack).items()
        if key.endswith(DATA_SUFFIX)
        for line in decode_lines(blob)
    ]
    assert len(ids) == len(set(ids)) > 2


def test_a_visit_for_no_field_visit_task_goes_to_the_failure_queue(
    make_cloud: CloudFactory, stack: LocalStack
) -> None:
    cloud = make_cloud(NOON_SHANGHAI)

    assert visit(cloud, "NO-SUCH-TASK", "V-X", NOON_SHANGHAI - timedelta(hours=1)) == [None]

    (failure,) = queue_bodies(stack, "AsyncFailureQueue")
    assert json.dumps(failure).count("V-X") >= 1
    assert "no such field-visit task" in failure["responsePayload"]["errorMessage"]
