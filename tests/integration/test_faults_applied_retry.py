"""A conditional write applied by DynamoDB, whose response was lost and which botocore retried.

The fault is injected on a real client: a `needs-retry` hook makes botocore retry an UpdateItem that
succeeded, as it does when the response of an applied write is lost (a timeout, a closed connection,
a 5xx from a front end). The retry is refused by the write's own condition; the writer must count the
change as its own rather than as "someone else did it".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import boto3
import pytest

from arrears.adapters.clock import FixedClock
from arrears.adapters.container import Container
from arrears.adapters.dynamodb import ActionRepository
from arrears.adapters.idempotency import OnceRunner
from arrears.adapters.sweep_runs import SweepRunRepository
from arrears.domain.actions import ActionStatus
from arrears.domain.strategy import Channel
from arrears.usecases.dispatch import DispatchPorts, dispatch
from localcloud.stack import LocalStack
from tests.integration.conftest import borrower_for, cn_cash_loan
from tests.integration.test_dispatch import NOON_SHANGHAI, contacts_of, overdue, plan, sms_sent
from tests.integration.test_sweep import worker_container


class RetryApplied:
    """Make botocore retry the first `times` UpdateItem calls that succeeded, once each."""

    def __init__(self, times: int = 1) -> None:
        self.left = times
        self.retried = 0

    def __call__(self, attempts: int, response: Any = None, **_: Any) -> int | None:
        if attempts == 1 and response is not None and response[0].status_code == 200 and self.left:
            self.left -= 1
            self.retried += 1
            return 0  # retry at once, the first attempt having been applied
        return None


def table_with_fault(name: str, fault: RetryApplied) -> Any:
    resource = boto3.resource("dynamodb")
    events: Any = resource.meta.client.meta.events  # botocore types hooks as returning None
    events.register("needs-retry.dynamodb.UpdateItem", fault)
    return resource.Table(name)


@pytest.fixture
def ports(container: Container) -> DispatchPorts:
    return DispatchPorts.from_container(container, OnceRunner(container.settings.idempotency_table))


def test_a_retried_status_transition_is_ours_and_its_contact_record_is_written(
    container: Container, ports: DispatchPorts
) -> None:
    loan = overdue(container, cn_cash_loan("L-RA"), borrower_for(cn_cash_loan("L-RA")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    fault = RetryApplied()
    faulty = replace(
        ports, actions=ActionRepository(table_with_fault(container.settings.actions_table, fault))
    )

    result = dispatch(action.action_id, replace(faulty, clock=FixedClock(NOON_SHANGHAI)))

    assert fault.retried == 1
    assert result.status is ActionStatus.SENT
    assert [c["status"] for c in contacts_of(container, loan.loan_id)] == ["SENT"]
    assert len(sms_sent()) == 1
    stored = container.actions.get(action.action_id)
    assert stored is not None
    assert stored.version == action.version + 1


def test_a_transition_someone_else_made_is_still_refused(container: Container) -> None:
    loan = overdue(container, cn_cash_loan("L-RB"), borrower_for(cn_cash_loan("L-RB")))
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    assert container.actions.transition(action, ActionStatus.CANCELLED, reason="cured") is not None

    assert container.actions.transition(action, ActionStatus.SENT) is None
    assert container.actions.transition(action, ActionStatus.CANCELLED, reason="other") is None


@pytest.fixture
def worker(stack: LocalStack) -> Container:
    return worker_container(stack)


def test_a_retried_heartbeat_claim_is_still_ours_and_claimed_once(worker: Container) -> None:
    fault = RetryApplied(times=2)  # shard_done's ADD is retried too: counted once all the same
    runs = SweepRunRepository(table_with_fault(worker.settings.sweep_runs_table, fault))
    day = date(2026, 3, 10)

    assert runs.shard_done(day, 0, 1, 2_000_000_000) == 1
    assert runs.claim_heartbeat(day, "2026-03-09T16:30:00Z")
    assert fault.retried == 2
    assert not runs.claim_heartbeat(day, "2026-03-09T16:30:00Z")
    assert not worker.sweep_runs.claim_heartbeat(day, "2026-03-09T16:30:00Z")
    assert worker.sweep_runs.progress(day).completed


def test_a_retried_census_claim_is_still_ours_and_claimed_once(worker: Container) -> None:
    fault = RetryApplied()
    runs = SweepRunRepository(table_with_fault(worker.settings.sweep_runs_table, fault))
    day = date(2026, 3, 10)

    assert runs.claim_census(day, 3, 2_000_000_000)
    assert fault.retried == 1
    assert not runs.claim_census(day, 3, 2_000_000_000)
    assert worker.sweep_runs.claim_census(day, 4, 2_000_000_000)
