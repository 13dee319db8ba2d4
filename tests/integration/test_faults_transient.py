"""Transient faults of the channels are retried, never recorded FAILED (faults injected at botocore).

Each test gives dispatch a real boto3 client whose first call fails the way botocore reports it: an
error response with the service's own code and HTTP status (botocore's Stubber), or a connection
error raised below the client (a `before-send` hook). botocore's own retries are off on these clients
(one attempt), so the fault reaches the dispatcher instead of being hidden by a retry.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from arrears.adapters.channels import SmsSender, TaskQueue
from arrears.adapters.clock import FixedClock
from arrears.adapters.container import Container
from arrears.adapters.idempotency import OnceRunner
from arrears.adapters.outbox import SendOutbox
from arrears.domain.actions import ActionStatus
from arrears.domain.strategy import Channel
from arrears.usecases.dispatch import DispatchPorts, TransientSendError, dispatch
from localcloud.stack import LocalStack
from tests.integration.conftest import borrower_for, cn_cash_loan
from tests.integration.fault_support import every_third_call_fails
from tests.integration.test_dispatch import NOON_SHANGHAI, contacts_of, overdue, plan, queue_bodies, sms_sent

ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def ports(container: Container) -> DispatchPorts:
    return DispatchPorts.from_container(container, OnceRunner(container.settings.idempotency_table))


def _sms_ports(ports: DispatchPorts) -> tuple[DispatchPorts, Any]:
    client = boto3.client("sns", config=ONE_ATTEMPT)
    return replace(ports, sms=SmsSender(client, "ARREARS")), client


def _call_ports(ports: DispatchPorts, container: Container) -> tuple[DispatchPorts, Any]:
    client = boto3.client("sqs", config=ONE_ATTEMPT)
    return replace(ports, call_tasks=TaskQueue(client, container.settings.call_task_queue_url)), client


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("Throttled", 429),  # SNS ThrottledException
        ("KMSThrottling", 400),  # SNS KMSThrottlingException: a 400, transient all the same
        ("InternalError", 500),
        ("SomethingNew", 503),  # an unknown code with a 5xx status
        ("AuthorizationError", 403),  # the deployment's fault, not the contact's: retried, never FAILED
    ],
)
def test_an_sns_fault_that_is_not_the_contacts_own_is_retried_and_sent_once(
    container: Container, ports: DispatchPorts, code: str, status: int
) -> None:
    loan = overdue(container, cn_cash_loan(f"L-T-{code}"), borrower_for(cn_cash_loan(f"L-T-{code}")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    faulty, client = _sms_ports(ports)

    with Stubber(client) as stub:
        stub.add_client_error("publish", service_error_code=code, http_status_code=status)
        with pytest.raises(TransientSendError, match=code):
            dispatch(action.action_id, replace(faulty, clock=FixedClock(NOON_SHANGHAI)))
        stub.assert_no_pending_responses()

    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert stored.status is ActionStatus.PENDING
    assert contacts_of(container, loan.loan_id) == []
    assert (
        dispatch(action.action_id, replace(faulty, clock=FixedClock(NOON_SHANGHAI))).status
        is ActionStatus.SENT
    )
    assert len(sms_sent()) == 1
    assert [c["status"] for c in contacts_of(container, loan.loan_id)] == ["SENT"]


@pytest.mark.parametrize("code", ["OptedOut", "InvalidParameter", "EndpointDisabled"])
def test_a_refusal_of_the_contact_itself_ends_failed(
    container: Container, ports: DispatchPorts, code: str
) -> None:
    loan = overdue(container, cn_cash_loan(f"L-P-{code}"), borrower_for(cn_cash_loan(f"L-P-{code}")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    faulty, client = _sms_ports(ports)

    with Stubber(client) as stub:
        stub.add_client_error("publish", service_error_code=code, http_status_code=400)
        result = dispatch(action.action_id, replace(faulty, clock=FixedClock(NOON_SHANGHAI)))

    assert result.status is ActionStatus.FAILED
    assert [c["status"] for c in contacts_of(container, loan.loan_id)] == ["FAILED"]


@pytest.mark.parametrize(
    ("code", "status"),
    [("KmsThrottled", 400), ("KMS.ThrottlingException", 400), ("RequestThrottled", 403)],
)
def test_an_sqs_throttle_keeps_the_call_task_pending_and_queues_it_once(
    container: Container, ports: DispatchPorts, stack: LocalStack, code: str, status: int
) -> None:
    loan = overdue(container, cn_cash_loan(f"L-Q-{code}"), borrower_for(cn_cash_loan(f"L-Q-{code}")))
    action = plan(container, loan, Channel.CALL_TASK, "call_task")
    faulty, client = _call_ports(ports, container)

    with Stubber(client) as stub:
        stub.add_client_error("send_message", service_error_code=code, http_status_code=status)
        with pytest.raises(TransientSendError):
            dispatch(action.action_id, replace(faulty, clock=FixedClock(NOON_SHANGHAI)))

    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert stored.status is ActionStatus.PENDING
    assert contacts_of(container, loan.loan_id) == []
    assert (
        dispatch(action.action_id, replace(faulty, clock=FixedClock(NOON_SHANGHAI))).status
        is ActionStatus.SENT
    )
    assert len(queue_bodies(stack, "CallTaskQueue")) == 1


@pytest.mark.parametrize(
    "fault",
    [
        EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com"),
        ConnectionClosedError(endpoint_url="https://sns.us-east-1.amazonaws.com"),
    ],
    ids=lambda fault: type(fault).__name__,
)
def test_a_connection_fault_below_the_client_is_retried(
    container: Container, ports: DispatchPorts, fault: Exception
) -> None:
    name = type(fault).__name__
    loan = overdue(container, cn_cash_loan(f"L-C-{name}"), borrower_for(cn_cash_loan(f"L-C-{name}")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    faulty, client = _sms_ports(ports)
    faults = [fault]

    def fail_once(**_: Any) -> None:
        if faults:
            raise faults.pop()

    client.meta.events.register("before-send.sns.Publish", fail_once)
    with pytest.raises(TransientSendError, match=name):
        dispatch(action.action_id, replace(faulty, clock=FixedClock(NOON_SHANGHAI)))
    assert contacts_of(container, loan.loan_id) == []
    assert (
        dispatch(action.action_id, replace(faulty, clock=FixedClock(NOON_SHANGHAI))).status
        is ActionStatus.SENT
    )
    assert [c["status"] for c in contacts_of(container, loan.loan_id)] == ["SENT"]


@pytest.mark.parametrize("after", [False, True], ids=["before-the-call", "after-it-applied"])
def test_a_send_is_judged_settled_and_recorded_in_one_dispatch_while_one_table_call_in_three_fails(
    container: Container, ports: DispatchPorts, after: bool
) -> None:
    # The gate's read, the outbox claim, the SENT transition and the contact record each meet
    # DynamoDB faults; the idempotent ones are retried alone, so the record is not failed for them.
    outbox = SendOutbox(container.outbox._table, FixedClock(NOON_SHANGHAI))
    sent = []
    for n in range(3):
        loan = overdue(container, cn_cash_loan(f"L-D-{n}"), borrower_for(cn_cash_loan(f"L-D-{n}")))
        action = plan(container, loan, Channel.SMS, "sms_overdue")
        with every_third_call_fails(after=after, service="dynamodb") as failing:
            result = dispatch(action.action_id, replace(ports, once=outbox, clock=FixedClock(NOON_SHANGHAI)))
        assert result.status is ActionStatus.SENT
        assert [c["status"] for c in contacts_of(container, loan.loan_id)] == ["SENT"]
        sent += failing
    assert len(sent) >= 3
    assert len(sms_sent()) == 3  # one text per action, none twice
