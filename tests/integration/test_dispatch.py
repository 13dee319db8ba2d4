"""Dispatch on moto: the send-time gate, atomic call caps, every channel, and exactly-once effects.

Most tests call the dispatch use case with the ports the dispatcher handler builds (real adapters on
the stack deployed from template.yaml into moto); the last ones go through the handler itself.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from arrears.adapters.channels import SmsSender
from arrears.adapters.clock import FixedClock
from arrears.adapters.container import Container
from arrears.config.playbook import bundled_playbook
from arrears.config.rulepacks import bundled_rule_packs
from arrears.domain.actions import Action, ActionStatus, StatedFigures, action_id_for, last_contact
from arrears.domain.borrowers import Borrower
from arrears.domain.calendar import format_utc
from arrears.domain.call_attempts import CallAttempt, CallResult
from arrears.domain.loans import Holds, Loan
from arrears.domain.messages import debt_details_absent
from arrears.domain.money import amount_due
from arrears.domain.rulepacks import RulePackHistory
from arrears.domain.strategy import Channel
from arrears.usecases.call_outcomes import report_call_attempt
from arrears.usecases.dispatch import DispatchPorts, DispatchResult, TransientSendError, dispatch
from arrears.usecases.payments import PaymentReceived, receive_payment
from localcloud.stack import LocalStack
from tests.integration.conftest import (
    ZONE_PHONES,
    CloudFactory,
    borrower_for,
    cn_cash_loan,
    log_lines,
    register,
    us_regf_loan,
    utc,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"
# What `plan` writes on every action as its plan-day amount: never what the loan owes, so a contact
# that states it (rather than the amount due when it is made) fails the tests that read the amount.
PLANNED_AMOUNT = 123_456
NOON_SHANGHAI = utc(2026, 3, 10, 4, 0)
PLANNED_AT = utc(2026, 3, 9, 16, 30)  # 12:00 in Shanghai, 9 days past the 1 March due date


def sms_sent() -> list[tuple[str, str]]:
    backend = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [(str(number), str(message)) for number, message in backend.sms_messages.values()]


def throttled(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, operation)


def rejected(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "InvalidParameter", "Message": "bad"}}, operation)


def dispatch_at(action_id: str, at: datetime, ports: DispatchPorts) -> DispatchResult:
    """Dispatch with the dispatcher's clock showing `at` (the instant the contact is made)."""
    return dispatch(action_id, replace(ports, clock=FixedClock(at)))


@pytest.fixture
def ports(container: Container) -> DispatchPorts:
    return DispatchPorts.from_container(container, container.outbox)


def us_borrower(loan: Loan, zone: str = "America/Los_Angeles", **changes: Any) -> Borrower:
    values: dict[str, Any] = {
        "borrower_id": loan.borrower_id,
        "timezone": zone,
        "language": "en",
        "region": "CA",
        "name": "Jane Doe",
        "phone": ZONE_PHONES[zone],
        "email": "jane.doe@example.com",
    }
    values.update(changes)
    return Borrower(**values)


def overdue(container: Container, loan: Loan, borrower: Borrower) -> Loan:
    register(container, loan, borrower, utc(2026, 3, 10))
    stored = container.loans.get(loan.loan_id)
    assert stored is not None
    assert stored.dpd > 0
    return stored


def plan(
    container: Container,
    loan: Loan,
    channel: Channel,
    template_id: str,
    step: str = "",
    at: datetime = PLANNED_AT,
) -> Action:
    step_id = step or f"{channel.value.lower()}-{template_id}"
    action = Action(
        action_id=action_id_for(loan.loan_id, step_id, loan.collection_instalment),
        loan_id=loan.loan_id,
        borrower_id=loan.borrower_id,
        jurisdiction=loan.jurisdiction,
        channel=channel,
        step_id=step_id,
        template_id=template_id,
        collection_instalment=loan.collection_instalment,
        status=ActionStatus.PENDING,
        planned_at=at,
        not_before=at,
        strategy_id="default",
        strategy_version="1",
        strategy_arm="champion",
        dpd=loan.dpd,
        bucket=loan.bucket,
        amount_due_minor=PLANNED_AMOUNT,
        currency=loan.currency,
    )
    assert container.actions.create(action)
    return action


def contacts_of(container: Container, loan_id: str) -> list[dict[str, Any]]:
    return container.contacts.for_loan(loan_id)


def queue_bodies(stack: LocalStack, queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=stack.physical[queue], MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return bodies
        bodies += [json.loads(m["Body"]) for m in messages]


def subscribe(stack: LocalStack, topic: str) -> Callable[[], list[dict[str, Any]]]:
    """A raw-delivery SQS subscription to `topic`; returns a reader of what was published."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"probe-{topic}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(
        TopicArn=stack.physical[topic],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )

    def read() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return read


# -- the gate at send time -----------------------------------------------------------------------


def test_an_sms_inside_contact_hours_is_sent_once_and_recorded(
    container: Container, ports: DispatchPorts
) -> None:
    loan = overdue(container, cn_cash_loan("L-SMS"), borrower_for(cn_cash_loan("L-SMS")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")

    first = dispatch_at(action.action_id, NOON_SHANGHAI, ports)
    again = dispatch_at(action.action_id, NOON_SHANGHAI + timedelta(minutes=1), ports)

    assert (first.status, again.status) == (ActionStatus.SENT, None)
    ((number, text),) = sms_sent()
    assert number == "+8613800138000"
    # What brings the loan current on 10 March (`amount_due`: the 1 March instalment and its penalty).
    assert amount_due(loan, date(2026, 3, 10)) == 506_410
    assert "逾期 8 天，应还 ¥5,064.10" in text
    (contact,) = contacts_of(container, loan.loan_id)
    assert (contact["dpd"], contact["amount_due_minor"]) == (8, 506_410)
    assert contact["status"] == "SENT"
    assert len(contact["message_sha256"]) == 64
    assert "13800138000" not in json.dumps(contact, default=str)


@pytest.mark.parametrize(
    ("zone", "at", "resume"),
    [
        ("Asia/Shanghai", utc(2026, 3, 9, 15, 0), utc(2026, 3, 10, 0, 0)),  # 23:00 -> 08:00 CST
        ("America/New_York", utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 12, 0)),  # 01:30 EST -> 08:00 EDT
        ("America/Los_Angeles", utc(2026, 11, 1, 9, 30), utc(2026, 11, 1, 16, 0)),  # fall-back day
        ("Pacific/Auckland", utc(2026, 4, 5, 10, 30), utc(2026, 4, 5, 20, 0)),  # 22:30 NZST after DST ends
    ],
)
def test_outside_contact_hours_the_action_is_deferred_to_the_next_lawful_instant(
    zone: str, at: datetime, resume: datetime, container: Container, ports: DispatchPorts
) -> None:
    loan = overdue(container, cn_cash_loan("L-QUIET"), borrower_for(cn_cash_loan("L-QUIET"), zone))
    action = plan(container, loan, Channel.SMS, "sms_overdue")

    result = dispatch_at(action.action_id, at, ports)

    assert result.status is ActionStatus.DEFERRED
    assert sms_sent() == []
    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert (stored.status, stored.not_before) == (ActionStatus.DEFERRED, resume)
    assert list(container.actions.deferred_due(resume - timedelta(seconds=1))) == []
    assert list(container.actions.deferred_due(resume)) == [action.action_id]
    (contact,) = contacts_of(container, loan.loan_id)
    assert contact["status"] == "DEFERRED"
    assert "contact hours" in contact["reason"]
    # When the window opens, the schedule's run sends it
    assert dispatch_at(action.action_id, resume, ports).status is ActionStatus.SENT
    assert len(sms_sent()) == 1


def test_the_borrowers_preferred_hours_narrow_the_window(container: Container, ports: DispatchPorts) -> None:
    base = cn_cash_loan("L-PREF")
    loan = overdue(container, base, borrower_for(base, preferred_hours=(18, 20)))
    action = plan(container, loan, Channel.SMS, "sms_overdue")

    result = dispatch_at(action.action_id, NOON_SHANGHAI, ports)

    assert result.status is ActionStatus.DEFERRED
    assert "preferred hours" in result.reason
    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert stored.not_before == utc(2026, 3, 10, 10, 0)


def test_holds_opt_outs_and_settled_loans_are_rechecked_at_send_time(
    container: Container, ports: DispatchPorts
) -> None:
    base = cn_cash_loan("L-HOLD")
    loan = overdue(container, base, borrower_for(base, opted_out_channels=frozenset({"EMAIL"})))
    sms = plan(container, loan, Channel.SMS, "sms_overdue")
    email = plan(container, loan, Channel.EMAIL, "email_overdue")
    stale = plan(
        container,
        replace(loan, collection_instalment=loan.collection_instalment - 1),
        Channel.SMS,
        "sms_overdue",
        step="old",
    )
    container.loans.save(loan.with_changes(holds=Holds(dispute_open=True)))

    outcomes = {a.action_id: dispatch_at(a.action_id, NOON_SHANGHAI, ports) for a in (sms, email, stale)}

    assert outcomes[sms.action_id].status is ActionStatus.SUPPRESSED
    assert outcomes[email.action_id].status is ActionStatus.SUPPRESSED
    assert outcomes[stale.action_id].status is ActionStatus.CANCELLED
    reasons = {c["status"]: c["reason"] for c in contacts_of(container, loan.loan_id)}
    assert "dispute" in reasons["SUPPRESSED"]
    assert "settled" in reasons["CANCELLED"]
    assert sms_sent() == []


# -- channels -------------------------------------------------------------------------------------


def test_us_email_carries_an_opt_out_line_and_attributes(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    read = subscribe(stack, "RemindersTopic")
    loan = overdue(container, us_regf_loan("L-US-MAIL"), us_borrower(us_regf_loan("L-US-MAIL")))
    action = plan(container, loan, Channel.EMAIL, "email_overdue")

    assert dispatch_at(action.action_id, utc(2026, 3, 10, 18, 0), ports).status is ActionStatus.SENT

    # A debt collector's first e-mail about the debt is preceded by the validation notice (Reg F).
    notice, message = read()
    assert "Validation notice." in str(notice["body"])  # after the 1006.34(c)(2)(i)-(ii) names and addresses
    assert message["to"] == "jane.doe@example.com"
    assert f"${amount_due(loan, date(2026, 3, 10)) / 100:,.2f}" in message["body"]
    assert f"${PLANNED_AMOUNT / 100:,.2f}" not in message["body"]
    assert "To stop receiving these e-mails" in message["body"]


def test_call_tasks_field_visits_legal_and_bureau_hand_offs_carry_no_contact_details(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    legal, bureau = subscribe(stack, "LegalTopic"), subscribe(stack, "BureauTopic")
    base = cn_cash_loan("L-HAND")
    loan = overdue(container, base, borrower_for(base))
    # The prior notice of negative information a bureau report waits for (the CN pack's precondition).
    notice = plan(container, loan, Channel.SMS, "sms_overdue")
    assert dispatch_at(notice.action_id, NOON_SHANGHAI, ports).status is ActionStatus.SENT
    actions = [
        plan(container, loan, Channel.CALL_TASK, "call_task"),
        plan(container, loan, Channel.FIELD_VISIT, "field_visit"),
        plan(container, loan, Channel.LEGAL, "legal_referral"),
        plan(container, loan, Channel.BUREAU, "bureau_report"),
    ]

    results = [dispatch_at(a.action_id, NOON_SHANGHAI, ports) for a in actions]

    assert [r.status for r in results] == [ActionStatus.SENT] * 4
    (call,) = queue_bodies(stack, "CallTaskQueue")
    (visit,) = queue_bodies(stack, "FieldVisitQueue")
    (referral,), (report,) = legal(), bureau()
    assert call["borrower_id"] == loan.borrower_id
    assert call["call_window_local"] == ["08:00", "22:00"]
    assert call["call_before"] == "2026-03-10T14:00:00Z"  # 22:00 in Shanghai
    assert visit["requirements"] == {"min_collectors": 2, "recording_required": True}
    assert visit["region"] == "Shanghai"
    assert (visit["timezone"], visit["visit_windows_local"]) == ("Asia/Shanghai", [["08:00", "22:00"]])
    owed = amount_due(loan, date(2026, 3, 10))
    for body in (call, visit, report):
        assert (body["amount_due_minor"], body["dpd"], body["bucket"]) == (owed, 8, "M1")
    assert set(referral) == {
        "type",
        "action_id",
        "loan_id",
        "borrower_token",
        "jurisdiction",
        "step",
        "referred_at",
    }
    for body in (call, visit, referral, report):
        text = json.dumps(body, ensure_ascii=False)
        assert len(body["borrower_token"]) == 64
        for pii in ("王小明", "+8613800138000", "xiaoming.wang", "世纪大道"):
            assert pii not in text
    assert all(c["status"] == "SENT" and c["message_sha256"] for c in contacts_of(container, loan.loan_id))


def test_a_third_party_message_carries_no_debt_details() -> None:
    from arrears.domain.messages import render_third_party

    for language in ("zh-CN", "en"):
        message = render_third_party(language, first_name="小明")
        assert debt_details_absent(message.body, loan_id="L-1", amount_minor=123_456, currency="CNY")


# -- caps under concurrency --------------------------------------------------------------------


@pytest.mark.parametrize(("jurisdiction", "attempts_left"), [("CN", 6), ("US-REGF", 7)])
def test_concurrent_dispatchers_open_one_call_task_per_borrower(
    jurisdiction: str,
    attempts_left: int,
    container: Container,
    ports: DispatchPorts,
    stack: LocalStack,
    atomic_moto_requests: None,
) -> None:
    if jurisdiction == "CN":
        base = cn_cash_loan("L-CAP")
        loan, at = overdue(container, base, borrower_for(base)), NOON_SHANGHAI
    else:
        base = us_regf_loan("L-CAP")
        loan, at = overdue(container, base, us_borrower(base)), utc(2026, 3, 10, 18, 0)
    actions = [plan(container, loan, Channel.CALL_TASK, "call_task", step=f"call-{i}") for i in range(12)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda a: dispatch_at(a.action_id, at, ports), actions))

    outcomes = [r.status for r in results]
    assert outcomes.count(ActionStatus.SENT) == 1
    assert outcomes.count(ActionStatus.DEFERRED) == len(actions) - 1
    (task,) = queue_bodies(stack, "CallTaskQueue")
    assert task["attempts_left_today"] == attempts_left
    ledger = container.call_ledger.ledger(loan.borrower_id)
    assert ledger.open_task is not None
    assert ledger.open_task.task_id == task["task_id"]
    assert ledger.attempts == ()  # attempts count when the dialer reports them
    deferred = [container.actions.get(r.action_id) for r in results if r.status is ActionStatus.DEFERRED]
    # They wait until the task expires (the end of today's window), then the next window opens.
    assert all(d is not None and d.not_before >= ledger.open_task.expires_at for d in deferred)
    assert {r.reason for r in results if r.status is ActionStatus.DEFERRED} == {
        "another call task is open for this borrower"
    }


def reported(
    container: Container, borrower_id: str, call_id: str, at: datetime, *, connected: bool, conversation: bool
) -> None:
    """Count one attempt the dialer reported (`connected`, `conversation`) in the borrower's ledger."""
    container.call_ledger.record_attempt(
        borrower_id, call_id, at, connected=connected, conversation=conversation, close=lambda _: None
    )


def test_no_call_within_seven_days_after_a_us_conversation(
    container: Container, ports: DispatchPorts
) -> None:
    base = us_regf_loan("L-CONV")
    loan = overdue(container, base, us_borrower(base, zone="America/New_York"))
    talked = utc(2026, 3, 9, 15, 0)
    reported(container, loan.borrower_id, "TALK", talked, connected=True, conversation=True)
    action = plan(container, loan, Channel.CALL_TASK, "call_task")

    result = dispatch_at(action.action_id, utc(2026, 3, 10, 15, 0), ports)

    assert result.status is ActionStatus.DEFERRED
    assert "conversation" in result.reason
    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert stored.not_before == talked + timedelta(days=7)


def test_cn_connected_calls_cap_defers_to_the_next_local_morning(
    container: Container, ports: DispatchPorts
) -> None:
    base = cn_cash_loan("L-CONN")
    loan = overdue(container, base, borrower_for(base))
    for minutes in (0, 10, 20):
        reported(
            container,
            loan.borrower_id,
            f"C{minutes}",
            utc(2026, 3, 10, 1, minutes),
            connected=True,
            conversation=True,
        )
    action = plan(container, loan, Channel.CALL_TASK, "call_task")

    result = dispatch_at(action.action_id, NOON_SHANGHAI, ports)

    assert result.status is ActionStatus.DEFERRED
    assert "connected" in result.reason
    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert stored.not_before == utc(2026, 3, 11, 0, 0)


# -- failures: no duplicate, no loss -----------------------------------------------------------


def test_sns_throttling_is_retried_without_duplicate(container: Container, ports: DispatchPorts) -> None:
    loan = overdue(container, cn_cash_loan("L-THR"), borrower_for(cn_cash_loan("L-THR")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    real = ports.sms.send
    calls = iter([throttled("Publish")])

    def flaky(phone: str, body: str) -> str:
        error = next(calls, None)
        if error is not None:
            raise error
        return real(phone, body)

    with mock.patch.object(ports.sms, "send", side_effect=flaky):
        with pytest.raises(TransientSendError):
            dispatch_at(action.action_id, NOON_SHANGHAI, ports)
        stored = container.actions.get(action.action_id)
        assert stored is not None
        assert stored.status is ActionStatus.PENDING
        assert contacts_of(container, loan.loan_id) == []
        assert dispatch_at(action.action_id, NOON_SHANGHAI, ports).status is ActionStatus.SENT
        assert dispatch_at(action.action_id, NOON_SHANGHAI, ports).status is None

    assert len(sms_sent()) == 1
    assert [c["status"] for c in contacts_of(container, loan.loan_id)] == ["SENT"]


def test_a_permanent_sns_rejection_is_recorded_as_failed_with_its_error_class(
    container: Container, ports: DispatchPorts
) -> None:
    loan = overdue(container, cn_cash_loan("L-REJ"), borrower_for(cn_cash_loan("L-REJ")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")

    with mock.patch.object(ports.sms, "send", side_effect=rejected("Publish")):
        result = dispatch_at(action.action_id, NOON_SHANGHAI, ports)

    assert result.status is ActionStatus.FAILED
    assert "InvalidParameter" in result.reason
    (contact,) = contacts_of(container, loan.loan_id)
    assert contact["status"] == "FAILED"
    assert "InvalidParameter" in contact["reason"]


def test_sqs_throttling_keeps_the_open_call_task_and_sends_once(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    loan = overdue(container, cn_cash_loan("L-SQS"), borrower_for(cn_cash_loan("L-SQS")))
    action = plan(container, loan, Channel.CALL_TASK, "call_task")
    assert ports.call_tasks is not None
    real = ports.call_tasks.send
    errors = iter([throttled("SendMessage"), throttled("SendMessage")])

    def flaky(body: dict[str, Any], **kwargs: Any) -> str:
        error = next(errors, None)
        if error is not None:
            raise error
        return real(body, **kwargs)

    with mock.patch.object(ports.call_tasks, "send", side_effect=flaky):
        for _ in range(2):
            with pytest.raises(TransientSendError):
                dispatch_at(action.action_id, NOON_SHANGHAI, ports)
        assert dispatch_at(action.action_id, NOON_SHANGHAI, ports).status is ActionStatus.SENT

    assert len(queue_bodies(stack, "CallTaskQueue")) == 1
    task = container.call_ledger.ledger(loan.borrower_id).open_task
    assert task is not None
    assert task.task_id == action.action_id


def test_a_permanent_sqs_failure_closes_the_call_task(container: Container, ports: DispatchPorts) -> None:
    loan = overdue(container, cn_cash_loan("L-SQSF"), borrower_for(cn_cash_loan("L-SQSF")))
    action = plan(container, loan, Channel.CALL_TASK, "call_task")
    assert ports.call_tasks is not None

    with mock.patch.object(ports.call_tasks, "send", side_effect=rejected("SendMessage")):
        assert dispatch_at(action.action_id, NOON_SHANGHAI, ports).status is ActionStatus.FAILED

    assert container.call_ledger.ledger(loan.borrower_id).open_task is None


def test_a_crash_between_send_and_record_is_completed_by_the_redelivery(
    container: Container, ports: DispatchPorts
) -> None:
    loan = overdue(container, cn_cash_loan("L-CRASH"), borrower_for(cn_cash_loan("L-CRASH")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")

    with (
        mock.patch.object(ports.actions, "transition", side_effect=RuntimeError("Lambda timed out")),
        pytest.raises(RuntimeError),
    ):
        dispatch_at(action.action_id, NOON_SHANGHAI, ports)
    assert len(sms_sent()) == 1

    assert (
        dispatch_at(action.action_id, NOON_SHANGHAI + timedelta(minutes=5), ports).status is ActionStatus.SENT
    )
    assert len(sms_sent()) == 1  # the idempotency record replayed the first send
    assert [c["status"] for c in contacts_of(container, loan.loan_id)] == ["SENT"]


# -- through the handler -------------------------------------------------------------------------


def stream_event(action_id: str, at: datetime) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "dispatcher" / "action-planned.json").read_text())
    record = event["Records"][0]
    record["dynamodb"]["Keys"]["action_id"]["S"] = action_id
    record["dynamodb"]["NewImage"]["action_id"]["S"] = action_id
    record["dynamodb"]["ApproximateCreationDateTime"] = int(at.timestamp())
    return event


def test_duplicate_stream_deliveries_send_once(make_cloud: CloudFactory, container: Container) -> None:
    cloud = make_cloud(NOON_SHANGHAI)
    loan = overdue(container, cn_cash_loan("L-DUP"), borrower_for(cn_cash_loan("L-DUP")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    event = stream_event(action.action_id, NOON_SHANGHAI)
    twice = copy.deepcopy(event)
    twice["Records"].append(copy.deepcopy(event["Records"][0]))

    assert cloud.invoke("DispatcherFunction", event) == {"batchItemFailures": []}
    assert cloud.invoke("DispatcherFunction", twice) == {"batchItemFailures": []}

    assert len(sms_sent()) == 1
    assert [c["status"] for c in contacts_of(container, loan.loan_id)] == ["SENT"]


def test_the_schedule_releases_due_deferred_actions_and_reports_the_backlog(
    make_cloud: CloudFactory, container: Container, ports: DispatchPorts
) -> None:
    loan = overdue(container, cn_cash_loan("L-SCHED"), borrower_for(cn_cash_loan("L-SCHED")))
    actions = [plan(container, loan, Channel.SMS, "sms_overdue", step=f"sms-{i}") for i in range(3)]
    late = utc(2026, 3, 9, 15, 0)  # 23:00 in Shanghai
    assert {dispatch_at(a.action_id, late, ports).status for a in actions} == {ActionStatus.DEFERRED}
    cloud = make_cloud(utc(2026, 3, 10, 0, 0))

    response = cloud.invoke("DeferredReleaseFunction", cloud.scheduled_event("DeferredReleaseFunction"))

    assert response == {"deferred_due": 3, "deferred_processed": 3, "deferred_failed": 0}
    (run,) = log_lines(cloud, "deferred release run")  # what the runbook's query reads
    assert {k: run[k] for k in response} == response
    assert len(sms_sent()) == 3
    assert list(container.actions.deferred_due(utc(2026, 3, 11))) == []
    assert format_utc(cloud.clock) == "2026-03-10T00:00:00Z"


def test_a_malformed_call_outcome_goes_to_the_async_failure_queue(
    make_cloud: CloudFactory, stack: LocalStack
) -> None:
    cloud = make_cloud(NOON_SHANGHAI)

    cloud.put_event("LoanEventsBus", "arrears.dialer", "CallOutcome", {"call_id": "CALL-2"})

    bodies = queue_bodies(stack, "AsyncFailureQueue")
    assert len(bodies) == 1
    assert "CALL-2" in json.dumps(bodies[0])


def test_sms_sent_and_failed_are_counted_for_the_failure_rate_alarm(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud = make_cloud(NOON_SHANGHAI)
    loan = overdue(container, cn_cash_loan("L-MET"), borrower_for(cn_cash_loan("L-MET")))
    good = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-a")
    bad = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-b")
    unreachable = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-c")
    cloud.invoke("DispatcherFunction", stream_event(good.action_id, NOON_SHANGHAI))
    with mock.patch.object(SmsSender, "send", side_effect=rejected("Publish")):  # SNS refuses it
        cloud.invoke("DispatcherFunction", stream_event(bad.action_id, NOON_SHANGHAI))
    # No number on file at all is not the channel failing: skipped, never counted against SNS.
    container.borrowers.put(borrower_for(loan, phone=""))
    cloud.invoke("DispatcherFunction", stream_event(unreachable.action_id, NOON_SHANGHAI))

    assert isinstance(cloud.log, io.StringIO)
    lines = [json.loads(line) for line in cloud.log.getvalue().splitlines() if '"_aws"' in line]
    names = [m["Name"] for line in lines for d in line["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    assert names.count("SmsSent") == 1
    assert names.count("SmsFailed") == 1
    assert names.count("Contacts") == 3
    skipped = container.actions.get(unreachable.action_id)
    assert skipped is not None
    assert (skipped.status, skipped.reason) == (
        ActionStatus.SUPPRESSED,
        "borrower has no phone number on file",
    )


# -- the contact instant is the dispatcher's clock, not the triggering record's time ---------------


def test_a_stream_record_retried_across_the_window_boundary_is_judged_at_its_retry(
    make_cloud: CloudFactory, container: Container
) -> None:
    """Written at 20:59 New York time, throttled, retried at 01:59: deferred to 08:00, recorded at 01:59."""
    written = utc(2026, 3, 11, 0, 59)  # 20:59 EDT on 10 March, inside the 08:00-21:00 window
    retried = utc(2026, 3, 11, 5, 59)  # 01:59 EDT on 11 March
    cloud = make_cloud(written)
    loan = overdue(
        container, us_regf_loan("L-RETRY"), us_borrower(us_regf_loan("L-RETRY"), "America/New_York")
    )
    action = plan(container, loan, Channel.SMS, "sms_overdue", at=written)
    event = stream_event(action.action_id, written)
    sms = cloud._modules["DispatcherFunction"].wiring()[1].sms

    # Every record of the batch failed: each is reported, and Lambda retries the record.
    with mock.patch.object(sms, "send", side_effect=throttled("Publish")):
        response = cloud.invoke("DispatcherFunction", copy.deepcopy(event))
    sequence = event["Records"][0]["dynamodb"]["SequenceNumber"]
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence}]}
    # Only the validation notice, sent before the throttled text (a debt collector's first message).
    assert [c["template_id"] for c in contacts_of(container, loan.loan_id)] == ["validation_notice"]

    cloud.advance_to(retried)
    assert cloud.invoke("DispatcherFunction", copy.deepcopy(event)) == {"batchItemFailures": []}

    assert sms_sent() == []
    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert (stored.status, stored.not_before) == (ActionStatus.DEFERRED, utc(2026, 3, 11, 12, 0))
    # The validation notice went out at 20:59, before the throttled text (it is the first message).
    notice, contact = sorted(contacts_of(container, loan.loan_id), key=lambda c: c["occurred_at"])
    assert (notice["template_id"], notice["occurred_at"]) == ("validation_notice", "2026-03-11T00:59:00Z")
    assert contact["status"] == "DEFERRED"
    assert contact["occurred_at"] == "2026-03-11T05:59:00Z"
    assert contact["borrower_local_time"].startswith("2026-03-11T01:59")
    assert "contact_hours:FAIL" in contact["rules_checked"]


def test_a_late_release_run_judges_at_its_own_instant_not_the_schedules(
    make_cloud: CloudFactory, container: Container, ports: DispatchPorts
) -> None:
    """The 15-minute release's event says 23:45 Shanghai time; it runs (retried) at 08:05: sent, at 08:05."""
    loan = overdue(container, cn_cash_loan("L-LATE"), borrower_for(cn_cash_loan("L-LATE")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    assert dispatch_at(action.action_id, utc(2026, 3, 9, 15, 0), ports).status is ActionStatus.DEFERRED
    cloud = make_cloud(utc(2026, 3, 10, 0, 5))  # 08:05 in Shanghai
    event = cloud.scheduled_event("DeferredReleaseFunction")
    event["time"] = "2026-03-09T15:45:00Z"  # the schedule fired at 23:45, outside the window

    response = cloud.invoke("DeferredReleaseFunction", event)

    assert response == {"deferred_due": 1, "deferred_processed": 1, "deferred_failed": 0}
    assert len(sms_sent()) == 1
    sent = [c for c in contacts_of(container, loan.loan_id) if c["status"] == "SENT"]
    assert [c["occurred_at"] for c in sent] == ["2026-03-10T00:05:00Z"]


# -- the rule-pack version in force at the contact's instant ---------------------------------------


def with_future_us_pack(ports: DispatchPorts) -> DispatchPorts:
    """The bundled packs plus a US version from 1 April 2026 that opens the window at 09:00, not 08:00."""
    bundled = bundled_rule_packs()
    current = bundled["US-REGF"][-1]
    future = replace(current, version="2026.2", effective_from=date(2026, 4, 1), contact_start=time(9, 0))
    history = RulePackHistory({**bundled, "US-REGF": (current, future)}, bundled.overlays)
    return replace(ports, rule_packs=lambda: history)


def test_a_future_dated_rule_pack_version_judges_nothing_before_its_effective_date(
    container: Container, ports: DispatchPorts
) -> None:
    ports = with_future_us_pack(ports)
    loan = overdue(container, us_regf_loan("L-PACK"), us_borrower(us_regf_loan("L-PACK"), "America/New_York"))
    before = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-march")
    after = plan(container, loan, Channel.EMAIL, "email_overdue", step="email-april")

    # 08:30 New York time: lawful under 2026.1 (08:00-21:00), not under 2026.2 (09:00-21:00).
    assert dispatch_at(before.action_id, utc(2026, 3, 10, 12, 30), ports).status is ActionStatus.SENT
    assert dispatch_at(after.action_id, utc(2026, 4, 2, 12, 30), ports).status is ActionStatus.DEFERRED

    records = {c["channel"]: c for c in contacts_of(container, loan.loan_id)}
    # Composed with the lender's policy, in the versions in force on each day.
    assert records["SMS"]["rule_pack"] == "US-REGF@2026.1+LENDER-US@2026.1"
    assert records["EMAIL"]["rule_pack"] == "US-REGF@2026.2+LENDER-US@2026.1"
    assert records["EMAIL"]["reason"] == (
        "outside contact hours 09:00-21:00 in America/New_York (08:30 local); zones checked: America/New_York"
    )
    assert records["EMAIL"]["decided_by"] == "US-REGF@2026.2"
    stored = container.actions.get(after.action_id)
    assert stored is not None
    assert stored.not_before == utc(2026, 4, 2, 13, 0)


# -- the opt-out line on US text messages ----------------------------------------------------------


def test_a_us_text_message_carries_the_opt_out_line_and_a_cn_one_does_not(
    container: Container, ports: DispatchPorts
) -> None:
    us = overdue(container, us_regf_loan("L-USSMS"), us_borrower(us_regf_loan("L-USSMS"), "America/New_York"))
    cn = overdue(container, cn_cash_loan("L-CNSMS"), borrower_for(cn_cash_loan("L-CNSMS")))
    us_sms = plan(container, us, Channel.SMS, "sms_overdue")
    cn_sms = plan(container, cn, Channel.SMS, "sms_overdue")

    assert dispatch_at(us_sms.action_id, utc(2026, 3, 10, 14, 0), ports).status is ActionStatus.SENT
    assert dispatch_at(cn_sms.action_id, NOON_SHANGHAI, ports).status is ActionStatus.SENT

    bodies = dict(sms_sent())
    assert bodies[ZONE_PHONES["America/New_York"]].endswith("\n\nReply STOP to stop these texts.")
    assert "退订" not in bodies["+8613800138000"]
    assert "STOP" not in bodies["+8613800138000"]


def test_a_field_visit_states_the_local_windows_in_which_it_is_lawful(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    """A borrower in Urumqi preferring 20:00-10:00: the visit may be made 08:00-10:00 or 20:00-22:00 there."""
    base = cn_cash_loan("L-VISIT")
    loan = overdue(container, base, borrower_for(base, zone="Asia/Urumqi", preferred_hours=(20, 10)))
    action = plan(container, loan, Channel.FIELD_VISIT, "field_visit")

    assert dispatch_at(action.action_id, NOON_SHANGHAI, ports).status is ActionStatus.SENT

    (visit,) = queue_bodies(stack, "FieldVisitQueue")
    assert visit["timezone"] == "Asia/Urumqi"
    assert visit["visit_windows_local"] == [["08:00", "10:00"], ["20:00", "22:00"]]


# -- composed packs: every zone the borrower may be in, state overlays -----------------------------------


def test_a_new_york_number_at_a_california_address_is_deferred_at_0830_new_york_time(
    container: Container, ports: DispatchPorts
) -> None:
    base = us_regf_loan("L-212")
    loan = overdue(container, base, us_borrower(base, "America/Los_Angeles", phone="+12125550100"))
    action = plan(container, loan, Channel.SMS, "sms_overdue")

    result = dispatch_at(action.action_id, utc(2026, 3, 10, 12, 30), ports)  # 08:30 EDT, 05:30 PDT

    assert result.status is ActionStatus.DEFERRED
    assert sms_sent() == []
    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert stored.not_before == utc(2026, 3, 10, 15, 0)  # 08:00 in Los Angeles
    (contact,) = contacts_of(container, loan.loan_id)
    assert contact["decided_by"] == "US-REGF@2026.1"
    assert contact["zones_checked"] == ["America/Los_Angeles", "America/New_York"]
    assert contact["rule_pack"] == "US-REGF@2026.1+LENDER-US@2026.1"
    assert "2125550100" not in json.dumps(contact, default=str)


def test_massachusetts_refuses_a_third_call_or_text_on_one_debt_within_7_days_citing_ma(
    container: Container, ports: DispatchPorts
) -> None:
    base = us_regf_loan("L-MA")
    boston = us_borrower(base, "America/New_York", region="MA", phone="+16175550100")
    loan = overdue(container, base, boston)
    first, second, third = (
        plan(container, loan, Channel.SMS, "sms_overdue", step=f"sms-{n}") for n in (1, 2, 3)
    )
    call = plan(container, loan, Channel.CALL_TASK, "call_task", step="call-1")

    assert dispatch_at(first.action_id, utc(2026, 3, 10, 14, 0), ports).status is ActionStatus.SENT
    assert dispatch_at(call.action_id, utc(2026, 3, 11, 14, 0), ports).status is ActionStatus.SENT
    # The dialer's attempt on that task counts (a call task counts by the attempts reported)
    container.call_ledger.record_attempt(
        loan.borrower_id,
        "CALL-MA-1",
        utc(2026, 3, 11, 14, 5),
        connected=False,
        conversation=False,
        close=lambda _: None,
        loan_id=loan.loan_id,
    )
    refused = dispatch_at(second.action_id, utc(2026, 3, 12, 14, 0), ports)

    assert refused.status is ActionStatus.DEFERRED
    assert "2 contacts (CALL_TASK/SMS) in 7 days per debt reached" in refused.reason
    record = next(c for c in contacts_of(container, loan.loan_id) if c["action_id"] == second.action_id)
    assert record["decided_by"] == "US-MA@2026.1"
    assert record["rules_checked"][-1] == "ma_calls_texts_7_days:FAIL"
    assert record["rule_pack"] == "US-REGF@2026.1+LENDER-US@2026.1+US-MA@2026.1"
    stored = container.actions.get(second.action_id)
    assert stored is not None
    assert stored.not_before == utc(2026, 3, 17, 14, 0)  # seven days after the first text
    assert len(sms_sent()) == 1
    # Seven days after the first text the next one may go; the one after it waits again.
    assert dispatch_at(second.action_id, utc(2026, 3, 17, 14, 0), ports).status is ActionStatus.SENT
    assert dispatch_at(third.action_id, utc(2026, 3, 17, 15, 0), ports).status is ActionStatus.DEFERRED


def test_a_reminder_says_the_days_left_when_it_is_sent_and_is_cancelled_once_the_due_date_passed(
    container: Container, ports: DispatchPorts
) -> None:
    """Planned 3 days before the 13 March due date (the loan assessed then); held a day, it says 2
    days; held past the due date, "due in N days" would be false: cancelled (`due_date_ahead`)."""
    base = cn_cash_loan("L-PRE", due=date(2026, 3, 13))
    register(container, base, borrower_for(base), NOON_SHANGHAI)
    loan = container.loans.get("L-PRE")
    assert loan is not None
    assert loan.due_offset == -3
    early = plan(container, loan, Channel.SMS, "sms_reminder_pre_due", step="reminder-d-3", at=NOON_SHANGHAI)
    late = plan(container, loan, Channel.SMS, "sms_reminder_pre_due", step="reminder-d-1", at=NOON_SHANGHAI)

    sent = dispatch_at(early.action_id, NOON_SHANGHAI + timedelta(days=1), ports)
    cancelled = dispatch_at(late.action_id, NOON_SHANGHAI + timedelta(days=4), ports)

    assert sent.status is ActionStatus.SENT
    ((_, text),) = sms_sent()
    assert "将于 2 天后到期" in text
    assert cancelled.status is ActionStatus.CANCELLED
    assert cancelled.reason == "the due date this reminder announces has passed"
    assert len(sms_sent()) == 1


def test_a_text_sent_days_after_it_was_planned_states_the_debt_as_it_stands_when_sent(
    container: Container, ports: DispatchPorts
) -> None:
    """Planned on 10 March (DPD 8); the borrower pays part of it on the 11th and the text goes out
    on the 13th: it states DPD 11 and what is due on the 13th, and its record says the same, also
    when rebuilt from the stored outcome (a redelivery completing it writes the same record)."""
    base = cn_cash_loan("L-STALE")
    loan = overdue(container, base, borrower_for(base))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    receive_payment(
        PaymentReceived("P-PART", "L-STALE", 200_000, "CNY", utc(2026, 3, 11, 2)),
        loans=container.loans,
        ledger=container.payments,
        playbook=bundled_playbook(),
    )
    paid = container.loans.get("L-STALE")
    assert paid is not None
    owed = amount_due(paid, date(2026, 3, 13))
    assert owed not in (PLANNED_AMOUNT, amount_due(loan, date(2026, 3, 10)))

    sent = dispatch_at(action.action_id, NOON_SHANGHAI + timedelta(days=3), ports)

    assert sent.status is ActionStatus.SENT
    ((_, text),) = sms_sent()
    assert f"逾期 11 天，应还 ¥{owed / 100:,.2f}" in text
    (contact,) = contacts_of(container, "L-STALE")
    assert (contact["dpd"], contact["bucket"], contact["amount_due_minor"]) == (11, "M1", owed)
    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert stored.last_outcome is not None
    assert stored.last_outcome.stated == StatedFigures(dpd=11, bucket="M1", amount_due_minor=owed)
    rebuilt = last_contact(stored)
    assert rebuilt is not None
    assert (rebuilt.dpd, rebuilt.amount_due_minor) == (11, owed)
    # The planned figures stay on the action (its decision receipt is about the plan day).
    assert (stored.dpd, stored.amount_due_minor) == (loan.dpd, PLANNED_AMOUNT)


def test_an_e_mail_to_a_borrower_with_no_address_on_file_is_skipped_not_failed(
    container: Container, ports: DispatchPorts
) -> None:
    """The lending core registered the borrower with a phone and no e-mail: the strategy's e-mail
    step is SUPPRESSED (`contact_point_on_file`), nothing is published, and no send failure is
    counted (the failure-rate alarm is about the channel, not the borrower data)."""
    base = us_regf_loan("L-NO-MAIL")
    loan = overdue(container, base, us_borrower(base, email=""))
    action = plan(container, loan, Channel.EMAIL, "email_overdue")

    result = dispatch_at(action.action_id, utc(2026, 3, 10, 18, 0), ports)

    assert (result.status, result.reason) == (
        ActionStatus.SUPPRESSED,
        "borrower has no e-mail address on file",
    )
    (record,) = contacts_of(container, loan.loan_id)
    assert record["status"] == "SUPPRESSED"
    assert record["rules_checked"][-1] == "contact_point_on_file:FAIL"
    assert "decided_by" not in record  # no rule-pack layer: the lender's own reachability check
    stored = container.loans.get(loan.loan_id)
    assert stored is not None
    assert stored.validation_notice_at is None


def test_in_massachusetts_a_text_waits_while_the_call_task_may_use_the_last_slot_of_the_week(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    """One call on 2 March; the task queued on 8 March is told it may make 1 more attempt (2 calls and
    texts per debt in 7 days, 940 CMR 7.04(1)(f)). A text planned for the same morning would take
    that slot and the dialer's voicemail would be the third contact: the text waits for the task to
    end. The voicemail is judged by the borrower's Massachusetts layer, and breaks nothing."""
    base = us_regf_loan("L-MA-TASK")
    boston = us_borrower(base, "America/New_York", region="MA", phone="+16175550100")
    loan = overdue(container, base, boston)
    earlier = plan(container, loan, Channel.CALL_TASK, "call_task", step="call-1")
    task = plan(container, loan, Channel.CALL_TASK, "call_task", step="call-2")
    text = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-1")
    assert dispatch_at(earlier.action_id, utc(2026, 3, 2, 14, 0), ports).status is ActionStatus.SENT
    first_call = CallAttempt(
        "CALL-1", earlier.action_id, 1, utc(2026, 3, 2, 14, 5), CallResult.NO_ANSWER, task_done=True
    )
    report_call_attempt(first_call, replace(ports, clock=FixedClock(utc(2026, 3, 2, 14, 6))))
    assert dispatch_at(task.action_id, utc(2026, 3, 8, 13, 30), ports).status is ActionStatus.SENT
    (queued,) = [c for c in queue_bodies(stack, "CallTaskQueue") if c["task_id"] == task.action_id]
    assert queued["attempts_left_today"] == 1

    waiting = dispatch_at(text.action_id, utc(2026, 3, 8, 13, 45), ports)
    voicemail = report_call_attempt(
        CallAttempt("CALL-2", task.action_id, 1, utc(2026, 3, 8, 14, 5), CallResult.VOICEMAIL),
        replace(ports, clock=FixedClock(utc(2026, 3, 8, 14, 6))),
    )

    assert waiting.status is ActionStatus.DEFERRED
    assert waiting.reason.startswith("a call task is open and may use the last of 2 contacts")
    assert voicemail.breach == ""
    assert ("ma_calls_texts_7_days", "PASS") in voicemail.rules_checked
    attempt = next(c for c in contacts_of(container, loan.loan_id) if c.get("task_id") == task.action_id)
    assert "US-MA@2026.1" in attempt["rule_pack"]
    assert attempt["zones_checked"] == ["America/New_York"]  # a 617 number: the address zone only
    # After the task: two calls in seven days, so the text waits until the first leaves the window.
    later = dispatch_at(text.action_id, utc(2026, 3, 9, 14, 0), ports)
    assert later.status is ActionStatus.DEFERRED
    assert "2 contacts (CALL_TASK/SMS) in 7 days per debt reached" in later.reason
    assert sms_sent() == []
