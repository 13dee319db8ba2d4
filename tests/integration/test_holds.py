"""Holds recorded through `HoldChanged` events on the local cloud, end to end.

A hold travels: the event on LoanEventsBus -> the holds function (the loan written conditionally)
-> the Loans stream -> the planner (cancels under a stop hold, plans later steps under the holds)
-> the dispatcher's gate, which re-reads the loan's holds before every send, so an action planned
before the hold is deferred or suppressed when its time comes.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from arrears.adapters.container import Container
from arrears.config.playbook import bundled_playbook
from arrears.domain.actions import Action, ActionStatus
from arrears.domain.borrowers import Borrower
from arrears.domain.calendar import format_utc
from arrears.domain.holds import HoldChange
from arrears.domain.loans import HoldKind, Loan, LoanStatus
from arrears.domain.strategy import Channel
from arrears.usecases.holds import record_hold
from localcloud.cloud import LocalCloud
from localcloud.emf import emf_points, emf_totals
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, us_regf_loan, utc

pytestmark = pytest.mark.integration

BUS = "LoanEventsBus"
HOLDS = "HoldsFunction"
SWEEP = "SweepFunction"
RELEASE = "DeferredReleaseFunction"
PLANNER = "PlannerFunction"
DUE = date(2026, 3, 2)  # a Monday: a working day in CN (a Sunday due date would be met on Monday)


# -- helpers -------------------------------------------------------------------------------------------


def sms_sent() -> list[tuple[str, str]]:
    backend = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [(str(number), str(message)) for number, message in backend.sms_messages.values()]


def sweep_day(cloud: LocalCloud, day: int) -> None:
    """The daily sweep at 00:30 Shanghai on day `day` past the 2 March due date (CN business date)."""
    cloud.advance_to(utc(2026, 3, 1, 16, 30) + timedelta(days=day))
    cloud.schedule(SWEEP)


def dispatch_at(cloud: LocalCloud, moment: datetime) -> None:
    """The deferred release's 15-minute schedule at `moment` (deferred actions whose time has come)."""
    cloud.advance_to(moment)
    cloud.schedule(RELEASE)


def hold(
    cloud: LocalCloud,
    loan: Loan,
    kind: str,
    *,
    active: bool = True,
    until: date | None = None,
    request_id: str = "H-1",
    at: datetime | None = None,
    source: str = "arrears.collections",
) -> dict[str, Any]:
    """Put a HoldChanged event on the bus now (`at`: when the change was made, default now)."""
    detail: dict[str, Any] = {
        "request_id": request_id,
        "loan_id": loan.loan_id,
        "hold": kind,
        "active": active,
        "occurred_at": format_utc(at or cloud.clock),
    }
    if until is not None:
        detail["until"] = until.isoformat()
    (response,) = cloud.put_event(BUS, source, "HoldChanged", detail)
    assert isinstance(response, dict), response
    return response


def stored(container: Container, loan_id: str) -> Loan:
    loan = container.loans.get(loan_id)
    assert loan is not None
    return loan


def by_step(container: Container, loan_id: str) -> dict[str, Action]:
    return {a.step_id: a for a in container.actions.for_loan(loan_id)}


def contacts(container: Container, loan_id: str, step: str) -> list[tuple[str, str]]:
    return sorted(
        (c["status"], c["reason"]) for c in container.contacts.for_loan(loan_id) if c["step"] == step
    )


def cn_loan_with_a_planned_sms(
    make_cloud: CloudFactory, container: Container, loan_id: str
) -> tuple[LocalCloud, Loan, Action]:
    """A CN loan one day overdue: the sweep (00:30 Shanghai, 3 March) planned sms-d1 for 08:00."""
    loan = cn_cash_loan(loan_id, due=DUE)
    cloud = make_cloud(utc(2026, 2, 21, 2, 0), log=io.StringIO())
    register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()
    sweep_day(cloud, 1)
    sms = by_step(container, loan_id)["sms-d1"]
    assert (sms.status, sms.not_before) == (ActionStatus.DEFERRED, utc(2026, 3, 3, 0, 0))
    return cloud, stored(container, loan_id), sms


def us_borrower(loan: Loan) -> Borrower:
    return Borrower(
        borrower_id=loan.borrower_id,
        timezone="Pacific/Honolulu",
        language="en",
        region="HI",
        name="Jane Doe",
        phone="+18085550100",
        email="jane.doe@example.com",
    )


# -- promise to pay --------------------------------------------------------------------------------------


def test_a_promise_defers_the_planned_sms_to_the_day_after_and_the_broken_promise_is_counted(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud, loan, _ = cn_loan_with_a_planned_sms(make_cloud, container, "L-PTP")

    # When, at 01:00 in Shanghai, the collector desk records a promise to pay by 4 March
    cloud.advance_to(utc(2026, 3, 2, 17, 0))
    response = hold(cloud, loan, "promise_to_pay", until=date(2026, 3, 4))
    assert (response["outcome"], response["changed"]) == ("applied", True)
    held = stored(container, loan.loan_id)
    assert held.holds.promise_to_pay_until == date(2026, 3, 4)
    assert held.version == loan.version + 1

    # Then at 08:00 the gate re-reads the loan and defers the SMS to 08:00 on 5 March: nothing sent
    dispatch_at(cloud, utc(2026, 3, 3, 0, 0))
    deferred = by_step(container, loan.loan_id)["sms-d1"]
    assert (deferred.status, deferred.not_before) == (ActionStatus.DEFERRED, utc(2026, 3, 5, 0, 0))
    assert contacts(container, loan.loan_id, "sms-d1") == [("DEFERRED", "promise to pay until 2026-03-04")]
    assert sms_sent() == []

    # The sweeps of 4 and 5 March: the day after the promise is a milestone; still unpaid, the
    # promise is counted as broken (once) and the escalation call is planned
    sweep_day(cloud, 2)
    assert stored(container, loan.loan_id).broken_promises == 0
    dispatch_at(cloud, utc(2026, 3, 4, 0, 0))  # 4 March, 08:00: the promise still holds
    assert sms_sent() == []
    sweep_day(cloud, 3)
    broken = stored(container, loan.loan_id)
    assert (broken.broken_promises, broken.last_broken_promise) == (1, date(2026, 3, 4))
    assert "ptp-broken-call-2026-03-04" in by_step(container, loan.loan_id)

    # And on 5 March at 08:00 the SMS goes out, once
    dispatch_at(cloud, utc(2026, 3, 5, 0, 0))
    assert by_step(container, loan.loan_id)["sms-d1"].status is ActionStatus.SENT
    assert sum(1 for number, _ in sms_sent() if number == "+8613800138000") >= 1
    assert isinstance(cloud.log, io.StringIO)
    totals = emf_totals(emf_points(cloud.log.getvalue().splitlines()))
    assert totals.sum("HoldsChanged", hold="promise_to_pay", change="set") == 1


# -- stops: cease contact, bankruptcy ---------------------------------------------------------------------


def test_a_us_cease_contact_suppresses_an_sms_planned_before_it(
    make_cloud: CloudFactory, container: Container
) -> None:
    # Given a US loan loaded days past due, at 06:30 in Honolulu: the e-mail it reached waits for the
    # borrower's contact window (08:00 Honolulu = 18:00 UTC); the reminders of the days before the due
    # date are not caught up (a "due in N days" text to a late borrower)
    loan = us_regf_loan("L-US-CEASE")
    cloud = make_cloud(utc(2026, 3, 5, 16, 30))
    register(container, loan, us_borrower(loan), cloud.clock)
    cloud.settle()
    planned = by_step(container, loan.loan_id)
    assert not any(step.startswith("reminder-") for step in planned)
    message = next(a for a in planned.values() if a.channel in (Channel.SMS, Channel.EMAIL))
    assert (message.status, message.not_before) == (ActionStatus.DEFERRED, utc(2026, 3, 5, 18, 0))

    # When the borrower asks the lender to cease communication (FDCPA 805(c))
    cloud.advance_to(utc(2026, 3, 5, 17, 0))
    ceased = hold(cloud, stored(container, loan.loan_id), "cease_contact", source="arrears.lending-core")
    assert ceased["outcome"] == "applied"

    # Then when the window opens the gate suppresses every timed contact: nothing is sent
    dispatch_at(cloud, utc(2026, 3, 5, 18, 0))
    after = by_step(container, loan.loan_id)
    for action in planned.values():
        if action.channel in (Channel.SMS, Channel.EMAIL, Channel.CALL_TASK):
            assert after[action.step_id].status is ActionStatus.SUPPRESSED, action.step_id
    assert contacts(container, loan.loan_id, message.step_id) == [
        ("SUPPRESSED", "borrower asked to cease contact")
    ]
    assert sms_sent() == []

    # And the steps the loan reaches later are suppressed by the planner itself
    for day in range(5, 10):
        cloud.advance_to(utc(2026, 3, 1, 16, 30) + timedelta(days=day))
        cloud.schedule(SWEEP)
        cloud.advance_to(cloud.clock + timedelta(hours=2))
        cloud.schedule(RELEASE)
    later = [a for a in container.actions.for_loan(loan.loan_id) if a.step_id not in planned]
    assert later, "the loan reached later steps"
    assert {a.status for a in later if a.channel is not Channel.BUREAU} == {ActionStatus.SUPPRESSED}
    assert sms_sent() == []


def test_a_bankruptcy_stops_a_planned_sms_even_before_the_planner_sees_it(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud, loan, _ = cn_loan_with_a_planned_sms(make_cloud, container, "L-BANKRUPT")

    # The hold is written, and the dispatcher's run at 08:00 comes before the planner got the Loans
    # stream record (the race the planner's cancellation cannot close): the gate still stops it
    cloud.advance_to(utc(2026, 3, 2, 23, 55))
    change = HoldChange("H-1", loan.loan_id, HoldKind.BANKRUPTCY, True, cloud.clock)
    record_hold(change, loans=container.loans, playbook=bundled_playbook())
    dispatch_at(cloud, utc(2026, 3, 3, 0, 0))  # the dispatcher runs first, then the streams settle

    assert by_step(container, loan.loan_id)["sms-d1"].status is ActionStatus.SUPPRESSED
    assert contacts(container, loan.loan_id, "sms-d1") == [
        ("SUPPRESSED", "bankruptcy or death recorded: all collection stopped")
    ]
    assert sms_sent() == []


def test_a_bankruptcy_event_cancels_every_open_action(make_cloud: CloudFactory, container: Container) -> None:
    cloud, loan, _ = cn_loan_with_a_planned_sms(make_cloud, container, "L-BANKRUPT-2")
    assert sms_sent() == []

    cloud.advance_to(utc(2026, 3, 2, 18, 0))
    hold(cloud, loan, "bankruptcy", source="arrears.lending-core")

    # The planner cancelled the open SMS from the Loans stream record; at 08:00 nothing goes out,
    # and no later sweep plans anything
    assert by_step(container, loan.loan_id)["sms-d1"].status is ActionStatus.CANCELLED
    dispatch_at(cloud, utc(2026, 3, 3, 0, 0))
    for day in range(2, 6):
        sweep_day(cloud, day)
    assert {a.step_id: a.status for a in container.actions.for_loan(loan.loan_id)} == {
        "sms-d1": ActionStatus.CANCELLED
    }
    assert sms_sent() == []


# -- dispute opened, then lifted ------------------------------------------------------------------------


def test_lifting_a_dispute_lets_contact_resume(make_cloud: CloudFactory, container: Container) -> None:
    # "L-DISPUTE-2" is on the CN champion arm, whose next step after D+1 is a text (sms-d3)
    cloud, loan, _ = cn_loan_with_a_planned_sms(make_cloud, container, "L-DISPUTE-2")
    sent_before = len(sms_sent())

    # A dispute opened before 08:00: the planned SMS is suppressed when its time comes
    cloud.advance_to(utc(2026, 3, 2, 18, 0))
    hold(cloud, loan, "dispute", request_id="D-OPEN", source="arrears.lending-core")
    dispatch_at(cloud, utc(2026, 3, 3, 0, 0))
    assert by_step(container, loan.loan_id)["sms-d1"].status is ActionStatus.SUPPRESSED
    assert len(sms_sent()) == sent_before

    # The dispute is resolved on 4 March and lifted
    cloud.advance_to(utc(2026, 3, 4, 2, 0))
    lifted = hold(
        cloud, stored(container, loan.loan_id), "dispute", active=False, request_id="D-CLOSE",
        source="arrears.lending-core",
    )  # fmt: skip
    assert (lifted["outcome"], lifted["changed"]) == ("applied", True)
    assert not stored(container, loan.loan_id).holds.dispute_open

    # Then the next step of the ladder goes out again (the suppressed one stays a record of the dispute)
    sweep_day(cloud, 3)
    dispatch_at(cloud, utc(2026, 3, 5, 0, 0))
    steps = by_step(container, loan.loan_id)
    assert steps["sms-d1"].status is ActionStatus.SUPPRESSED
    resumed = [a for a in steps.values() if a.planned_at >= utc(2026, 3, 4, 16, 30)]
    assert resumed, "the sweep of 5 March planned the next steps"
    assert any(a.status is ActionStatus.SENT and a.channel is Channel.SMS for a in resumed)
    assert len(sms_sent()) > sent_before


# -- redelivery, order, failures -------------------------------------------------------------------------


def test_a_redelivered_event_changes_nothing(make_cloud: CloudFactory, container: Container) -> None:
    cloud, loan, _ = cn_loan_with_a_planned_sms(make_cloud, container, "L-REDELIVER")
    cloud.advance_to(utc(2026, 3, 2, 18, 0))
    first = hold(cloud, loan, "cease_contact")
    written = stored(container, loan.loan_id)
    planner_runs = cloud.counts[PLANNER]

    again = hold(cloud, loan, "cease_contact")  # EventBridge delivers at least once

    assert (first["outcome"], again["outcome"]) == ("applied", "duplicate")
    assert stored(container, loan.loan_id) == written
    assert cloud.counts[PLANNER] == planner_runs  # nothing was written, so no stream record


def test_an_older_change_arriving_late_does_not_undo_a_newer_one(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud, loan, _ = cn_loan_with_a_planned_sms(make_cloud, container, "L-ORDER")
    cloud.advance_to(utc(2026, 3, 2, 19, 0))
    opened_at, lifted_at = utc(2026, 3, 2, 17, 0), utc(2026, 3, 2, 18, 0)

    # The lift (18:00) is delivered before the opening (17:00) it follows
    assert hold(cloud, loan, "dispute", active=False, request_id="D-2", at=lifted_at)["outcome"] == "applied"
    late = hold(cloud, loan, "dispute", request_id="D-1", at=opened_at)

    assert late["outcome"] == "superseded"
    assert not stored(container, loan.loan_id).holds.dispute_open


def drain(stack: LocalStack, queue: str) -> list[dict[str, Any]]:
    response = boto3.client("sqs").receive_message(QueueUrl=stack.physical[queue], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in response.get("Messages", [])]


def test_a_malformed_hold_lands_in_the_async_failure_queue_after_retries(
    make_cloud: CloudFactory, stack: LocalStack
) -> None:
    cloud = make_cloud(utc(2026, 3, 6), log=io.StringIO())
    detail = {
        "request_id": "H-BAD",
        "loan_id": "L-1",
        "hold": "promise_to_pay",  # no `until`
        "active": True,
        "occurred_at": "2026-03-06T00:00:00Z",
    }

    assert cloud.put_event(BUS, "arrears.collections", "HoldChanged", detail) == [None]

    (failure,) = drain(stack, "AsyncFailureQueue")
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestPayload"]["detail"]["request_id"] == "H-BAD"
    assert "until: required to set promise_to_pay" in failure["responsePayload"]["errorMessage"]
    assert cloud.counts[HOLDS] == 3
    assert isinstance(cloud.log, io.StringIO)
    errors = [json.loads(line) for line in cloud.log.getvalue().splitlines() if '"level":"ERROR"' in line]
    assert {e["message"] for e in errors} == {"malformed HoldChanged event"}


def test_a_hold_for_an_unknown_loan_is_not_lost(make_cloud: CloudFactory, stack: LocalStack) -> None:
    cloud = make_cloud(utc(2026, 3, 6))
    detail = {
        "request_id": "H-NOPE",
        "loan_id": "L-NOPE",
        "hold": "cease_contact",
        "active": True,
        "occurred_at": "2026-03-06T00:00:00Z",
    }
    cloud.put_event(BUS, "arrears.lending-core", "HoldChanged", detail)
    (failure,) = drain(stack, "AsyncFailureQueue")
    assert "loan L-NOPE not found" in failure["responsePayload"]["errorMessage"]


def test_a_hold_on_a_closed_loan_is_ignored(make_cloud: CloudFactory, container: Container) -> None:
    loan = cn_cash_loan("L-CLOSED", due=DUE).with_changes(
        status=LoanStatus.CLOSED, closed_on=date(2026, 2, 26)
    )
    cloud = make_cloud(utc(2026, 3, 6))
    register(container, loan, borrower_for(loan), cloud.clock)
    before = stored(container, loan.loan_id)

    response = hold(cloud, loan, "dispute")

    assert (response["outcome"], response["changed"]) == ("loan_closed", False)
    assert stored(container, loan.loan_id) == before


def test_other_sources_cannot_record_holds(make_cloud: CloudFactory, container: Container) -> None:
    cloud, loan, _ = cn_loan_with_a_planned_sms(make_cloud, container, "L-SOURCE")
    detail = {
        "request_id": "H-X",
        "loan_id": loan.loan_id,
        "hold": "cease_contact",
        "active": True,
        "occurred_at": format_utc(cloud.clock),
    }
    assert cloud.put_event(BUS, "arrears.dialer", "HoldChanged", detail) == []
    assert not stored(container, loan.loan_id).holds.cease_contact
