"""The risk score's behaviour counters on moto: calls reported by the dialer, promises broken.

`unanswered_contacts` is fed by `CallOutcome` events through call-outcomes (once per call id, a
conditional write on the loan's version); `broken_promises` by the sweep's assessment the day after
a promise ends (once per promise), which also plans the escalation once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from arrears.adapters.clock import FixedClock
from arrears.adapters.container import Container
from arrears.adapters.dynamodb import LoanRepository
from arrears.config.playbook import bundled_playbook
from arrears.domain.actions import Action, ActionStatus
from arrears.domain.calendar import format_utc
from arrears.domain.loans import Holds, Loan
from arrears.domain.risk import score
from arrears.domain.strategy import Channel
from arrears.events.bus import CallOutcomeDetail
from arrears.usecases.call_outcomes import report_call_outcome
from arrears.usecases.dispatch import DispatchPorts
from arrears.usecases.payments import PaymentReceived, receive_payment
from localcloud.cloud import LocalCloud
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc

SWEEP = "SweepFunction"
RELEASE = "DeferredReleaseFunction"
PLANNER = "PlannerFunction"
DUE = date(2026, 3, 1)


def sweep_days(cloud: LocalCloud, first_day: int, last_day: int) -> None:
    """The daily sweep at 00:30 Shanghai for DPD `first_day`..`last_day` of a loan due on 1 March."""
    for day in range(first_day, last_day + 1):
        cloud.advance_to(utc(2026, 2, 28, 16, 30) + timedelta(days=day))
        cloud.schedule(SWEEP)


def loan_of(container: Container, loan_id: str) -> Loan:
    loan = container.loans.get(loan_id)
    assert loan is not None
    return loan


def actions_of(container: Container, loan_id: str) -> dict[str, tuple[str, ActionStatus]]:
    return {a.action_id: (a.step_id, a.status) for a in container.actions.for_loan(loan_id)}


def started(make_cloud: CloudFactory, container: Container) -> tuple[LocalCloud, Loan]:
    loan = cn_cash_loan(due=DUE)
    cloud = make_cloud(utc(2026, 2, 20, 2, 0))
    register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()
    return cloud, loan


def a_call_was_queued(make_cloud: CloudFactory, container: Container) -> tuple[LocalCloud, Loan, Action]:
    """A loan overdue since 1 March whose first call task the dispatcher queued on 7 March."""
    cloud, loan = started(make_cloud, container)
    sweep_days(cloud, 1, 6)
    cloud.advance_to(utc(2026, 3, 7, 2, 0))  # 10:00 in Shanghai: deferred actions are due
    cloud.schedule(RELEASE)
    (call, *_) = [
        a
        for a in container.actions.for_loan(loan.loan_id)
        if a.channel is Channel.CALL_TASK and a.status is ActionStatus.SENT
    ]
    return cloud, loan_of(container, loan.loan_id), call


def outcome(call_id: str, action: Action, at: datetime, *, connected: bool) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "action_id": action.action_id,
        "borrower_id": action.borrower_id,
        "occurred_at": format_utc(at),
        "connected": connected,
        "conversation": connected,
    }


def run_always(
    key: str,
    effect: Callable[[], str],
    *,
    retry_safe: bool = False,
    recorded: Callable[[], object] | None = None,
    decision: object = None,
    guard: object = None,
) -> str:
    """An idempotency runner that remembers nothing: every call is a first delivery."""
    message_id = effect()
    if recorded is not None:
        recorded()
    return message_id


def report(cloud: LocalCloud, detail: dict[str, Any]) -> dict[str, Any]:
    (response,) = cloud.put_event("LoanEventsBus", "arrears.dialer", "CallOutcome", detail)
    assert isinstance(response, dict)
    return response


def feature(loan: Loan, name: str) -> tuple[str, int, int]:
    return next(f for f in loan.risk_features if f[0] == name)


def test_unanswered_calls_count_up_a_connected_call_resets_and_assessments_score_them(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud, loan, call = a_call_was_queued(make_cloud, container)
    planned = actions_of(container, loan.loan_id)
    planner_runs = cloud.counts[PLANNER]
    on = date(2026, 3, 7)

    # When the dialer reports three calls that did not connect
    for n in (1, 2, 3):
        cloud.advance_to(utc(2026, 3, 7, 2, 10 * n))
        response = report(cloud, outcome(f"CALL-{n}", call, cloud.clock, connected=False))
        assert response["task_id"], "the CallOutcome was matched to its call task"
        assert {k: v for k, v in response.items() if k != "task_id"} == {
            "call_id": f"CALL-{n}",
            "duplicate": False,
            "loan_id": loan.loan_id,
            "unanswered_contacts": n,
            "loan_changed": True,
            "task_closed": False,
            "breach": "",
        }
        # Then the counter counts them, and the score computed from the loan reads it
        counted = loan_of(container, loan.loan_id)
        assert counted.unanswered_contacts == n
        unanswered = next(f for f in score(counted, on).features if f.name == "unanswered_contacts")
        assert (unanswered.value, unanswered.points) == (n, 5 if n >= 2 else 0)

    # A counter-only write reaches the planner (the Loans stream), which plans nothing new; the
    # stored score stays the one of the last assessment (docs/decisions.md)
    assert cloud.counts[PLANNER] == planner_runs + 3
    assert actions_of(container, loan.loan_id) == planned
    counted = loan_of(container, loan.loan_id)
    assert feature(counted, "unanswered_contacts") == ("unanswered_contacts", 0, 0)
    assert (counted.dpd, counted.next_review_on, counted.risk_score) == (
        loan.dpd,
        loan.next_review_on,
        loan.risk_score,
    )

    # When the next milestone comes, the sweep's assessment scores the three unanswered calls
    assert counted.next_review_on is not None
    milestone = (counted.next_review_on - DUE).days
    sweep_days(cloud, 7, milestone)
    assessed = loan_of(container, loan.loan_id)
    assert assessed.evaluated_on == counted.next_review_on
    assert feature(assessed, "unanswered_contacts") == ("unanswered_contacts", 3, 5)

    # When a call connects, the count starts again from 0, and the next assessment scores that
    cloud.advance_to(cloud.clock + timedelta(hours=10))
    assert report(cloud, outcome("CALL-4", call, cloud.clock, connected=True))["unanswered_contacts"] == 0
    assert loan_of(container, loan.loan_id).unanswered_contacts == 0
    after_reset = loan_of(container, loan.loan_id)
    assert after_reset.next_review_on is not None
    sweep_days(cloud, milestone + 1, (after_reset.next_review_on - DUE).days)
    assert feature(loan_of(container, loan.loan_id), "unanswered_contacts") == ("unanswered_contacts", 0, 0)
    # The connected call also fed the call caps, as before
    assert len(container.call_ledger.ledger(loan.borrower_id).connected) == 1


def test_a_redelivered_call_outcome_does_not_count_twice(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud, loan, call = a_call_was_queued(make_cloud, container)
    detail = outcome("CALL-1", call, cloud.clock, connected=False)

    first = report(cloud, detail)
    again = report(cloud, detail)  # EventBridge delivers at least once

    assert (first["duplicate"], again["duplicate"]) == (False, True)
    stored = loan_of(container, loan.loan_id)
    assert (stored.unanswered_contacts, stored.applied_call_ids) == (1, ("CALL-1",))
    version = stored.version

    # Even a retry that finds no idempotency record (one released after a failure further on, or
    # expired) finds the call id on the loan and writes nothing
    ports = replace(DispatchPorts.from_container(container, run_always), clock=FixedClock(cloud.clock))
    result = report_call_outcome(CallOutcomeDetail.model_validate(detail).report(), ports)
    assert (result.new, result.loan_changed, result.unanswered_contacts) == (True, False, 1)
    assert loan_of(container, loan.loan_id).version == version


def test_a_report_for_an_unknown_action_is_refused_and_counts_nothing(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud, loan, call = a_call_was_queued(make_cloud, container)
    stranger = {**outcome("CALL-9", call, cloud.clock, connected=True), "action_id": "not-ours"}

    # The archive could not attribute it to a task: it goes to the failure path, not to the caps
    assert cloud.put_event("LoanEventsBus", "arrears.dialer", "CallOutcome", stranger) == [None]
    assert container.call_ledger.ledger(loan.borrower_id).connected == ()


class RacingLoans(LoanRepository):
    """The Loans table, where a payment lands between the dispatcher's first read and its write."""

    def __init__(self, inner: LoanRepository, race: Any) -> None:
        self._inner = inner
        self._race = race
        self.reads = 0

    def get(self, loan_id: str) -> Loan | None:
        loan = self._inner.get(loan_id)
        self.reads += 1
        if self.reads == 1:
            self._race()
        return loan

    def save(self, loan: Loan, *, parked: bool = False) -> Loan:
        return self._inner.save(loan, parked=parked)


def test_a_call_outcome_racing_a_payment_keeps_both(make_cloud: CloudFactory, container: Container) -> None:
    cloud, loan, call = a_call_was_queued(make_cloud, container)
    payment = PaymentReceived("PAY-1", loan.loan_id, 1_000, "CNY", cloud.clock)

    def pay() -> None:
        receive_payment(
            payment, loans=container.loans, ledger=container.payments, playbook=bundled_playbook()
        )

    racing = RacingLoans(container.loans, pay)
    ports = replace(
        DispatchPorts.from_container(container, run_always), loans=racing, clock=FixedClock(cloud.clock)
    )

    result = report_call_outcome(
        CallOutcomeDetail.model_validate(outcome("CALL-1", call, cloud.clock, connected=False)).report(),
        ports,
    )

    # Then the conditional write failed once, the loan was re-read, and both changes are kept
    assert racing.reads == 2
    assert result.loan_changed
    stored = loan_of(container, loan.loan_id)
    assert (stored.ledger_count, stored.last_payment_id) == (1, "PAY-1")
    assert stored.unanswered_contacts == 1
    assert stored.version == loan.version + 2


def test_a_broken_promise_is_counted_once_by_the_sweep_and_escalated_once(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud, loan = started(make_cloud, container)
    promised = DUE + timedelta(days=3)
    held = loan_of(container, loan.loan_id)
    container.loans.save(held.with_changes(holds=Holds(promise_to_pay_until=promised)))
    cloud.settle()

    # Until the promised date has passed, nothing is counted
    sweep_days(cloud, 1, 3)
    kept_so_far = loan_of(container, loan.loan_id)
    assert (kept_so_far.broken_promises, kept_so_far.risk_band) == (0, "MEDIUM")
    assert kept_so_far.next_review_on == promised + timedelta(days=1)  # the sweep wakes it then

    # The day after, still unpaid: counted once, and the score takes it into account at once
    sweep_days(cloud, 4, 4)
    broken = loan_of(container, loan.loan_id)
    assert (broken.broken_promises, broken.last_broken_promise) == (1, promised)
    assert feature(broken, "broken_promises") == ("broken_promises", 1, 15)
    assert (kept_so_far.risk_score, broken.risk_score) == (40, 55)
    assert broken.risk_band == "HIGH"  # MEDIUM -> HIGH because of the broken promise

    # A re-run of the same day's sweep changes nothing; the following weeks count nothing more
    cloud.schedule(SWEEP)
    assert loan_of(container, loan.loan_id).version == broken.version
    sweep_days(cloud, 5, 40)
    assert loan_of(container, loan.loan_id).broken_promises == 1

    # And the escalation was planned once, from the assessment that counted the promise
    escalations = [a for a in container.actions.for_loan(loan.loan_id) if a.step_id.startswith("ptp-broken")]
    assert [a.step_id for a in escalations] == ["ptp-broken-call-2026-03-04"]
    (escalation,) = escalations
    assert escalation.receipt["step"]["trigger"] == "broken_promise"
    assert escalation.receipt["risk"]["band"] == "HIGH"
    assert "broken_promises=1:15" in escalation.receipt["risk"]["features"]
