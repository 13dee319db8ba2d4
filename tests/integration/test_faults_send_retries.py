"""botocore's own retries never repeat a send that may have been made (faults on the wire, below them).

The dispatcher's clients are the deployed ones (`Container`: standard retry mode, 5 attempts). A
``lost`` fault of `localcloud.faults` lets moto apply the request and then loses its answer inside
botocore's HTTP exchange, so botocore's retry handler sees a `ReadTimeoutError` or a
`ConnectionClosedError` exactly as it would in Lambda. Without the channels' retry rule botocore
retries the Publish or SendMessage, and each retry is one more SMS or call task delivered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.endpoint import Endpoint
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from arrears.adapters.container import Container
from arrears.domain.actions import ActionStatus
from arrears.domain.strategy import Channel
from arrears.usecases.dispatch import DispatchPorts, TransientSendError
from localcloud.faults import FaultInjector, FaultPlan
from localcloud.stack import LocalStack
from tests.integration.conftest import borrower_for, cn_cash_loan
from tests.integration.test_dispatch import (
    NOON_SHANGHAI,
    contacts_of,
    dispatch_at,
    overdue,
    plan,
    queue_bodies,
    sms_sent,
)

ALWAYS = 0.999
"""Every HTTP attempt of the faulted operation loses its answer (a rate must stay below 1)."""


@pytest.fixture
def ports(container: Container) -> DispatchPorts:
    return DispatchPorts.from_container(container, container.outbox)


def _lost(operation: str, service: str) -> FaultInjector:
    plan = FaultPlan(ALWAYS, seed=3, kinds=("lost",), services=(service,), operations=(operation,))
    return FaultInjector(plan)


def _lost_answers(injector: FaultInjector) -> int:
    return sum(n for (kind, _, _), n in injector.injected.items() if kind == "lost")


def test_a_publish_whose_answer_was_lost_is_not_retried_by_botocore(
    container: Container, ports: DispatchPorts
) -> None:
    loan = overdue(container, cn_cash_loan("L-W-SMS"), borrower_for(cn_cash_loan("L-W-SMS")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    injector = _lost("Publish", "sns")

    with injector.invocation("DispatcherFunction"):
        result = dispatch_at(action.action_id, NOON_SHANGHAI, ports)

    assert len(sms_sent()) == 1  # botocore's retries (5, after the first attempt) made it 6
    assert _lost_answers(injector) == 1
    assert result.status is ActionStatus.SENT
    [record] = contacts_of(container, loan.loan_id)
    assert record["status"] == "SENT"
    assert str(record["reason"]).startswith("unconfirmed: ")


def test_a_call_task_whose_answer_was_lost_is_queued_once(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    loan = overdue(container, cn_cash_loan("L-W-CALL"), borrower_for(cn_cash_loan("L-W-CALL")))
    action = plan(container, loan, Channel.CALL_TASK, "call_task")
    injector = _lost("SendMessage", "sqs")

    with injector.invocation("DispatcherFunction"):
        result = dispatch_at(action.action_id, NOON_SHANGHAI, ports)

    assert len(queue_bodies(stack, "CallTaskQueue")) == 1
    assert _lost_answers(injector) == 1
    assert result.status is ActionStatus.SENT
    [record] = contacts_of(container, loan.loan_id)
    assert str(record["reason"]).startswith("unconfirmed: ")


def test_a_deduplicated_field_visit_is_still_retried_by_botocore_and_queued_once(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    loan = overdue(container, cn_cash_loan("L-W-FV"), borrower_for(cn_cash_loan("L-W-FV")))
    action = plan(container, loan, Channel.FIELD_VISIT, "field_visit")
    injector = _lost("SendMessage", "sqs")

    with injector.invocation("DispatcherFunction"), pytest.raises(TransientSendError):
        dispatch_at(action.action_id, NOON_SHANGHAI, ports)

    assert _lost_answers(injector) == 6  # every attempt: the first and botocore's 5 retries
    assert injector.backoff_seconds > 0  # counted, not slept
    assert len(queue_bodies(stack, "FieldVisitQueue")) == 1  # the deduplication id absorbed 5
    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert stored.status is ActionStatus.PENDING  # the outbox gave the claim back: retried later


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


THROTTLED = (
    b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
    b"<Message>Rate exceeded</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
)


@pytest.mark.parametrize(
    "refusal",
    [
        "throttled",
        EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com"),
        ConnectTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com"),
    ],
    ids=lambda refusal: refusal if isinstance(refusal, str) else type(refusal).__name__,
)
def test_a_send_refused_before_the_call_is_still_retried_by_botocore(
    container: Container, ports: DispatchPorts, refusal: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = refusal if isinstance(refusal, str) else type(refusal).__name__
    loan = overdue(container, cn_cash_loan(f"L-W-{name}"), borrower_for(cn_cash_loan(f"L-W-{name}")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    pending = [refusal]
    exchange = getattr(Endpoint, "_do_get_response")  # noqa: B009 (private to botocore, not typed)

    def refuse_once(endpoint: Endpoint, request: Any, operation_model: Any, context: Any) -> Any:
        """The first Publish never reaches SNS (moto): a throttle answer, or no connection."""
        if not pending or operation_model.name != "Publish":
            return exchange(endpoint, request, operation_model, context)
        fault = pending.pop()
        if isinstance(fault, str):
            response = AWSResponse(request.url, 400, HTTPHeaders(), _Body(THROTTLED))
            parsed = {
                "Error": {"Code": "Throttling", "Message": "Rate exceeded"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            return (response, parsed), None
        return None, fault

    monkeypatch.setattr(Endpoint, "_do_get_response", refuse_once)
    with FaultInjector(None).invocation("DispatcherFunction"):  # backoff counted, not slept
        result = dispatch_at(action.action_id, NOON_SHANGHAI, ports)

    assert not pending
    assert result.status is ActionStatus.SENT
    assert len(sms_sent()) == 1
    [record] = contacts_of(container, loan.loan_id)
    assert record["status"] == "SENT"
    assert not record.get("reason")
