"""The planner's cancellation and the dispatcher's send claim: whichever lands first, the other yields.

The race: a loan cures while its text is being dispatched. The planner judged the open action
cancellable (no send claimed yet), the dispatcher judged it sendable (not cancelled yet). Before, the
dispatcher's claim could land between the planner's read of the claim and its cancellation: the text
went out, the cancellation landed, and the dispatcher's SENT transition was refused ("settled by
another run"): a text delivered for an action recorded CANCELLED. And a cancellation that landed
between the dispatcher's read of the action and its claim did not stop the send.

Now the two writes are conditional on each other (one transaction each): the cancellation checks that
no claim exists, the claim checks that the action is still as the dispatcher judged it. Each test
interleaves the two runs on one thread, at the exact point between one run's read and its write.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest

from arrears.adapters.container import Container
from arrears.domain.actions import ActionStatus
from arrears.domain.loans import Loan, LoanStatus
from arrears.domain.strategy import Channel
from arrears.usecases.dispatch import DispatchPorts, DispatchResult
from arrears.usecases.planning import cancel_open_actions
from tests.integration.conftest import borrower_for, cn_cash_loan
from tests.integration.test_dispatch import NOON_SHANGHAI, contacts_of, overdue, plan, sms_sent
from tests.integration.test_faults_decided_send import dispatch_at

CURED_AT = NOON_SHANGHAI + timedelta(minutes=1)


@pytest.fixture
def ports(container: Container) -> DispatchPorts:
    return DispatchPorts.from_container(container, container.outbox)


def _cancel(container: Container, loan: Loan) -> list[str]:
    """The planner on the loan's closing (paid off): cancel its open actions, as the planner does."""
    return cancel_open_actions(
        loan.with_changes(status=LoanStatus.CLOSED),
        CURED_AT,
        actions=container.actions,
        contacts=container.contacts,
        borrowers=container.borrowers,
        field_visits=container.field_visits,
        call_tasks=container.call_tasks,
        call_ledger=container.call_ledger,
        unclaimed=container.outbox.unclaimed,
    )


def test_a_claim_landing_between_the_planners_read_and_its_cancellation_wins(
    container: Container, ports: DispatchPorts
) -> None:
    loan = overdue(container, cn_cash_loan("L-RACE1"), borrower_for(cn_cash_loan("L-RACE1")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    transition = container.actions.transition
    dispatched: list[DispatchResult] = []
    cancel_write: list[Callable[[], Any]] = []
    cancel_result: list[Any] = []

    def interleaved(target: Any, to: ActionStatus, **kwargs: Any) -> Any:
        if to is ActionStatus.CANCELLED and not dispatched:
            # The planner read the action (and found no claim); before its write lands, the
            # dispatcher reads, claims and sends...
            cancel_write.append(lambda: transition(target, to, **kwargs))
            dispatched.append(dispatch_at(action.action_id, NOON_SHANGHAI, ports))
            return cancel_result[0]
        if to is ActionStatus.SENT and cancel_write and not cancel_result:
            # ...and between the dispatcher's send and its SENT transition, the planner's write lands.
            cancel_result.append(cancel_write[0]())
        return transition(target, to, **kwargs)

    with mock.patch.object(container.actions, "transition", side_effect=interleaved):
        cancelled = _cancel(container, loan)

    assert cancel_result == [None]  # the cancellation was refused: a send was claimed
    assert cancelled == []
    assert dispatched[0].status is ActionStatus.SENT
    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert stored.status is ActionStatus.SENT
    assert len(sms_sent()) == 1
    assert [r["status"] for r in contacts_of(container, loan.loan_id)] == ["SENT"]


def test_a_cancellation_landing_between_the_dispatchers_read_and_its_claim_stops_the_send(
    container: Container, ports: DispatchPorts
) -> None:
    loan = overdue(container, cn_cash_loan("L-RACE2"), borrower_for(cn_cash_loan("L-RACE2")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    read = ports.gate_reads.read
    cancelled: list[list[str]] = []

    def read_then_cancel(*args: Any, **kwargs: Any) -> Any:
        state = read(*args, **kwargs)  # the dispatcher judged the action PENDING...
        if not cancelled:
            cancelled.append(_cancel(container, loan))  # ...the planner cancels it before the claim
        return state

    with mock.patch.object(ports.gate_reads, "read", side_effect=read_then_cancel):
        result = dispatch_at(action.action_id, NOON_SHANGHAI, ports)

    assert cancelled == [[action.action_id]]
    assert (result.status, result.reason) == (None, "settled by another run")
    assert sms_sent() == []  # no text for an action cancelled
    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert stored.status is ActionStatus.CANCELLED
    assert [r["status"] for r in contacts_of(container, loan.loan_id)] == ["CANCELLED"]
    # The claim was refused whole: no outbox item is left to hold the key.
    outbox: Any = container.outbox
    assert outbox._table.get_item(Key={"id": f"outbox#{action.action_id}"}).get("Item") is None
