"""A deferred action released by the 15-minute schedule never loses its contact record.

The fault: the release moves the action out of DEFERRED (SENT, with the outcome's facts) and then the
contact record's write fails (or the invocation dies there). Nothing redelivers a released action, so
the action keeps `record_pending` and stays in the deferred index until its record exists; the next
release run completes it, exactly once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from arrears.adapters.clock import FixedClock
from arrears.adapters.container import Container
from arrears.domain.actions import ActionStatus
from arrears.domain.strategy import Channel
from arrears.usecases.deferred_release import release_deferred
from arrears.usecases.dispatch import DispatchPorts, DispatchResult
from arrears.usecases.outcomes import settle
from tests.integration.conftest import borrower_for, cn_cash_loan
from tests.integration.test_dispatch import NOON_SHANGHAI, PLANNED_AT, contacts_of, overdue, plan, sms_sent


class Observer:
    def __init__(self) -> None:
        self.results: list[DispatchResult] = []
        self.failed: list[str] = []

    def backlog(self, due: int) -> None:
        pass

    def dispatched(self, result: DispatchResult, at: datetime) -> None:
        self.results.append(result)

    def not_dispatched(self, action_id: str) -> None:
        self.failed.append(action_id)


@pytest.fixture
def ports(container: Container) -> DispatchPorts:
    return DispatchPorts.from_container(container, container.outbox)


def release(ports: DispatchPorts, at: datetime) -> Observer:
    observer = Observer()
    release_deferred(
        replace(ports, clock=FixedClock(at)), limit=100, has_time_left=lambda: True, observer=observer
    )
    return observer


def throttled_put(*_: Any) -> None:
    raise ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "PutItem"
    )


def test_a_record_lost_after_the_release_is_written_by_the_next_run_exactly_once(
    container: Container, ports: DispatchPorts
) -> None:
    loan = overdue(container, cn_cash_loan("L-DR"), borrower_for(cn_cash_loan("L-DR")))
    planned = plan(container, loan, Channel.SMS, "sms_overdue")
    deferred = container.actions.transition(planned, ActionStatus.DEFERRED, not_before=PLANNED_AT)
    assert deferred is not None

    with mock.patch.object(ports.contacts, "record", side_effect=throttled_put):
        first = release(ports, NOON_SHANGHAI)

    assert first.failed == [planned.action_id]  # logged as not dispatched
    stored = container.actions.get(planned.action_id)
    assert stored is not None
    assert stored.status is ActionStatus.SENT
    assert stored.record_pending
    assert contacts_of(container, loan.loan_id) == []
    assert list(container.actions.deferred_due(NOON_SHANGHAI)) == [planned.action_id]

    second = release(ports, NOON_SHANGHAI + timedelta(minutes=15))

    assert second.failed == []
    assert [c["status"] for c in contacts_of(container, loan.loan_id)] == ["SENT"]
    completed = container.actions.get(planned.action_id)
    assert completed is not None
    assert not completed.record_pending
    assert list(container.actions.deferred_due(NOON_SHANGHAI + timedelta(days=30))) == []
    assert len(sms_sent()) == 1

    release(ports, NOON_SHANGHAI + timedelta(minutes=30))
    assert len(contacts_of(container, loan.loan_id)) == 1
    assert len(sms_sent()) == 1


def test_a_release_that_records_at_once_leaves_nothing_in_the_deferred_index(
    container: Container, ports: DispatchPorts
) -> None:
    loan = overdue(container, cn_cash_loan("L-DR2"), borrower_for(cn_cash_loan("L-DR2")))
    planned = plan(container, loan, Channel.SMS, "sms_overdue")
    assert container.actions.transition(planned, ActionStatus.DEFERRED, not_before=PLANNED_AT) is not None

    (result,) = release(ports, NOON_SHANGHAI).results

    assert result.status is ActionStatus.SENT
    assert [c["status"] for c in contacts_of(container, loan.loan_id)] == ["SENT"]
    assert list(container.actions.deferred_due(NOON_SHANGHAI + timedelta(days=30))) == []
    stored = container.actions.get(planned.action_id)
    assert stored is not None
    assert not stored.record_pending


def test_a_cancelled_deferred_action_due_later_completes_its_record_on_the_next_run(
    container: Container, ports: DispatchPorts
) -> None:
    loan = overdue(container, cn_cash_loan("L-DR3"), borrower_for(cn_cash_loan("L-DR3")))
    planned = plan(container, loan, Channel.SMS, "sms_overdue")
    later = NOON_SHANGHAI + timedelta(days=3)
    deferred = container.actions.transition(planned, ActionStatus.DEFERRED, not_before=later)
    assert deferred is not None

    with mock.patch.object(ports.contacts, "record", side_effect=throttled_put), pytest.raises(ClientError):
        settle(
            ports.actions,
            ports.contacts,
            deferred,
            ActionStatus.CANCELLED,
            at=NOON_SHANGHAI,
            borrower_timezone="Asia/Shanghai",
            rule_pack="CN@1",
            reason="loan cured",
        )

    assert list(container.actions.deferred_due(NOON_SHANGHAI)) == [planned.action_id]
    release(ports, NOON_SHANGHAI + timedelta(minutes=15))
    assert [c["status"] for c in contacts_of(container, loan.loan_id)] == ["CANCELLED"]
    assert list(container.actions.deferred_due(later)) == []
