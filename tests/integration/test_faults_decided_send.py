"""A send, once decided and handed to the outbox, is finished as decided by every later run.

The faults: the dispatcher judged a contact at one instant and handed it to the channel, then its
own record of it failed (its answer lost, or the invocation killed between the send and the SENT
transition). The redelivery comes later (the stream's retry, the next release run, the operator's
redrive an hour or a day after). Before, the redelivery judged the contact again at its own instant:
a hold or an opt-out placed meanwhile ended it SUPPRESSED although the text was delivered (an
external effect without a sent action), and a contact made at 23:50 was recorded at the retry's
instant, another day. Now the outbox claim carries the decision (the SENT outcome as judged, and a
deduplicated task's body), and the redelivery records exactly that.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from arrears.adapters.clock import FixedClock
from arrears.adapters.container import Container
from arrears.adapters.outbox import SendOutbox
from arrears.domain.actions import ActionStatus
from arrears.domain.calendar import format_utc
from arrears.domain.loans import Holds, LoanStatus
from arrears.domain.strategy import Channel
from arrears.usecases.dispatch import DispatchPorts, DispatchResult, TransientSendError, dispatch
from arrears.usecases.planning import cancel_open_actions
from localcloud.stack import LocalStack
from tests.integration.conftest import borrower_for, cn_cash_loan
from tests.integration.test_dispatch import (
    NOON_SHANGHAI,
    contacts_of,
    overdue,
    plan,
    queue_bodies,
    sms_sent,
)

NEXT_DAY = NOON_SHANGHAI + timedelta(days=1)


@pytest.fixture
def ports(container: Container) -> DispatchPorts:
    return DispatchPorts.from_container(container, container.outbox)


def dispatch_at(action_id: str, at: datetime, ports: DispatchPorts) -> DispatchResult:
    """Dispatch with the dispatcher's and the outbox's clock showing `at` (one clock in Lambda)."""
    outbox = SendOutbox(ports.once._table, FixedClock(at))  # type: ignore[attr-defined]
    return dispatch(action_id, replace(ports, clock=FixedClock(at), once=outbox))


class Killed(BaseException):
    """The invocation ended mid-way (Lambda's timeout): no error path runs."""


def throttled_update(*_: Any, **__: Any) -> None:
    raise ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "UpdateItem"
    )


def _dispute(container: Container, loan_id: str) -> None:
    stored = container.loans.get(loan_id)
    assert stored is not None
    container.loans.save(stored.with_changes(holds=Holds(dispute_open=True)))


@pytest.mark.parametrize(
    ("fault", "raised", "reason"),
    [
        # the SENT transition refused: the outbox completed the send with its message id
        (throttled_update, ClientError, ""),
        # killed after the send: the claim left INTENT, recorded unconfirmed after its deadline
        (Killed(), Killed, "unconfirmed: InvocationEnded"),
    ],
    ids=["transition-refused", "killed-after-the-send"],
)
def test_a_sent_text_is_recorded_sent_at_its_own_instant_whatever_the_gate_says_later(
    container: Container, ports: DispatchPorts, fault: Any, raised: type[BaseException], reason: str
) -> None:
    loan = overdue(container, cn_cash_loan("L-DEC"), borrower_for(cn_cash_loan("L-DEC")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")

    with mock.patch.object(ports.actions, "transition", side_effect=fault), pytest.raises(raised):
        dispatch_at(action.action_id, NOON_SHANGHAI, ports)
    ((_, body),) = sms_sent()
    _dispute(container, loan.loan_id)  # a hold placed after the text went out

    result = dispatch_at(action.action_id, NEXT_DAY, ports)

    assert (result.status, result.at) == (ActionStatus.SENT, NOON_SHANGHAI)  # judged at the claim
    (record,) = contacts_of(container, loan.loan_id)
    assert (record["status"], record["occurred_at"], record["reason"]) == (
        "SENT",
        format_utc(NOON_SHANGHAI),
        reason,
    )
    assert record["message_sha256"] == hashlib.sha256(body.encode()).hexdigest()
    # The figures the text stated at its instant (DPD 8 on 10 March), not the next day's DPD 9.
    assert record["dpd"] == 8
    assert f"逾期 8 天，应还 ¥{int(record['amount_due_minor']) / 100:,.2f}" in body
    assert len(sms_sent()) == 1
    assert dispatch_at(action.action_id, NEXT_DAY + timedelta(hours=1), ports).status is None
    assert len(contacts_of(container, loan.loan_id)) == 1


def test_a_field_visit_whose_answer_was_lost_is_resent_as_decided_not_judged_again(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    loan = overdue(container, cn_cash_loan("L-FV"), borrower_for(cn_cash_loan("L-FV")))
    action = plan(container, loan, Channel.FIELD_VISIT, "field_visit")
    queue: Any = ports.field_visits
    original = queue._sqs.send_message

    def sent_then_lost(**request: Any) -> Any:
        original(**request)
        raise ReadTimeoutError(endpoint_url="https://sqs")

    with (
        mock.patch.object(queue._sqs, "send_message", side_effect=sent_then_lost),
        pytest.raises(TransientSendError),
    ):
        dispatch_at(action.action_id, NOON_SHANGHAI, ports)
    _dispute(container, loan.loan_id)

    result = dispatch_at(action.action_id, NOON_SHANGHAI + timedelta(minutes=1), ports)

    assert result.status is ActionStatus.SENT
    (record,) = contacts_of(container, loan.loan_id)
    assert (record["status"], record["occurred_at"]) == ("SENT", format_utc(NOON_SHANGHAI))
    tasks = queue_bodies(stack, "FieldVisitQueue")
    assert [t["action_id"] for t in tasks] == [action.action_id]  # the resend was deduplicated


def test_a_cure_does_not_cancel_a_text_already_sent_whose_record_is_still_to_come(
    container: Container, ports: DispatchPorts
) -> None:
    # As in the 100-loan fault run: a contact sent, its invocation killed before the SENT transition, the loan
    # cured three days later (the planner cancels its open actions), then the redrive.
    loan = overdue(container, cn_cash_loan("L-CURE"), borrower_for(cn_cash_loan("L-CURE")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    with mock.patch.object(ports.actions, "transition", side_effect=Killed()), pytest.raises(Killed):
        dispatch_at(action.action_id, NOON_SHANGHAI, ports)
    stored = container.loans.get(loan.loan_id)
    assert stored is not None

    cancelled = cancel_open_actions(
        stored.with_changes(status=LoanStatus.CLOSED),
        NOON_SHANGHAI + timedelta(days=3),
        actions=container.actions,
        contacts=container.contacts,
        borrowers=container.borrowers,
        field_visits=container.field_visits,
        call_tasks=container.call_tasks,
        call_ledger=container.call_ledger,
        unclaimed=container.outbox.unclaimed,
    )

    assert action.action_id not in cancelled
    result = dispatch_at(action.action_id, NOON_SHANGHAI + timedelta(days=3, hours=1), ports)
    assert result.status is ActionStatus.SENT
    (record,) = contacts_of(container, loan.loan_id)
    assert (record["status"], record["occurred_at"]) == ("SENT", format_utc(NOON_SHANGHAI))
    assert len(sms_sent()) == 1
