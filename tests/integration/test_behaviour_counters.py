"""The risk score's behaviour counters on moto: promises broken.

`broken_promises` is fed by the sweep's assessment the day after a promise ends (once per
promise), which also plans the escalation once.
"""

from __future__ import annotations

from datetime import date, timedelta

from arrears.adapters.container import Container
from arrears.domain.loans import Holds, Loan
from arrears_local.cloud import LocalCloud
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc

SWEEP = "SweepFunction"
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


def started(make_cloud: CloudFactory, container: Container) -> tuple[LocalCloud, Loan]:
    loan = cn_cash_loan(due=DUE)
    cloud = make_cloud(utc(2026, 2, 20, 2, 0))
    register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()
    return cloud, loan


def feature(loan: Loan, name: str) -> tuple[str, int, int]:
    return next(f for f in loan.risk_features if f[0] == name)


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
