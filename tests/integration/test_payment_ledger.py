"""Payments through the payments function on the local cloud: the ledger, value dates, reversals,
recoveries and the borrower's own date, end to end."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from typing import Any

import pytest

from arrears.adapters.container import Container
from arrears.config.playbook import bundled_playbook
from arrears.domain.costcap import ContractOverCap
from arrears.domain.delinquency import loan_dpd
from arrears.domain.loans import Instalment, Loan, LoanStatus
from arrears.domain.money import amount_due, penalty_charged
from arrears.usecases.onboarding import register_loan
from arrears.usecases.payments import PaymentReceived, receive_payment
from localcloud.cloud import LocalCloud
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, us_regf_loan, utc

pytestmark = pytest.mark.integration

SOURCE = "arrears.lending-core"


def pay(cloud: LocalCloud, loan: Loan, payment_id: str, amount: int, paid_at: str) -> dict[str, Any]:
    detail = {
        "payment_id": payment_id,
        "loan_id": loan.loan_id,
        "amount_minor": amount,
        "currency": loan.currency,
        "paid_at": paid_at,
    }
    (response,) = cloud.put_event("LoanEventsBus", SOURCE, "PaymentReceived", detail)
    assert isinstance(response, dict), response
    return response


def reverse(cloud: LocalCloud, loan_id: str, payment_id: str, at: str) -> dict[str, Any]:
    detail = {"payment_id": payment_id, "loan_id": loan_id, "reversed_at": at, "reason": "RETURNED"}
    (response,) = cloud.put_event("LoanEventsBus", SOURCE, "PaymentReversed", detail)
    assert isinstance(response, dict), response
    return response


def stored(container: Container, loan_id: str) -> Loan:
    loan = container.loans.get(loan_id)
    assert loan is not None
    return loan


def test_a_redelivered_payment_is_applied_once_however_many_came_after(
    make_cloud: CloudFactory, container: Container
) -> None:
    """Fault 6: the loan remembered the last 50 payment ids, so a redelivery after 51 newer payments
    was applied twice. The ledger is keyed by payment id for ever."""
    loan = cn_cash_loan("L-IDEM", due=date(2026, 3, 10), principal=500_000)
    cloud = make_cloud(utc(2026, 2, 20))
    register(container, loan, borrower_for(loan), cloud.clock)
    for n in range(52):
        receive_payment(
            PaymentReceived(f"P-{n:03d}", "L-IDEM", 1_000, "CNY", utc(2026, 2, 21, 2) + timedelta(hours=n)),
            loans=container.loans,
            ledger=container.payments,
            playbook=bundled_playbook(),
        )
    before = stored(container, "L-IDEM")
    again = receive_payment(
        PaymentReceived("P-000", "L-IDEM", 1_000, "CNY", utc(2026, 2, 21, 2)),
        loans=container.loans,
        ledger=container.payments,
        playbook=bundled_playbook(),
    )
    assert again.duplicate
    after = stored(container, "L-IDEM")
    assert after == before
    assert after.ledger_count == 52
    assert len(container.payments.entries("L-IDEM")) == 52
    paid = sum(i.principal_paid + i.interest_paid + i.fee_paid for i in after.instalments)
    assert paid == 52_000


def test_a_los_angeles_borrower_paying_at_2130_on_the_due_date_is_on_time(
    make_cloud: CloudFactory, container: Container
) -> None:
    """Fault 8: every US loan was judged on New York's date."""
    loan = us_regf_loan("L-LA", due=date(2026, 3, 10), penalty_daily_ppm=300)
    borrower = borrower_for(loan, "America/Los_Angeles", region="CA", language="en")
    cloud = make_cloud(utc(2026, 3, 1))
    register(container, loan, borrower, cloud.clock)
    assert stored(container, "L-LA").timezone == "America/Los_Angeles"
    cloud.advance_to(utc(2026, 3, 11, 4, 30))  # 21:30 on 10 March in Los Angeles, 00:30 on the 11th in NY
    response = pay(cloud, loan, "P-LA", 121_500, "2026-03-11T04:30:00Z")
    assert response["closed"] is True
    closed = stored(container, "L-LA")
    assert closed.status is LoanStatus.CLOSED
    assert closed.last_value_date == date(2026, 3, 10)
    assert closed.penalty_paid_minor == 0
    assert closed.instalments[0].settled_on == date(2026, 3, 10)


def test_a_payment_dated_before_one_already_applied_takes_effect_on_its_own_date(
    make_cloud: CloudFactory, container: Container
) -> None:
    """Fault 3: a payment dated 11 March that settles the instalment on its due date, delivered after
    a 10,000 payment dated 13 March, leaves it settled on 11 March with no penalty."""
    loan = cn_cash_loan("L-ORDER", due=date(2026, 3, 11), principal=100_000)
    cloud = make_cloud(utc(2026, 3, 1))
    register(container, loan, borrower_for(loan), cloud.clock)
    cloud.advance_to(utc(2026, 3, 14))
    late = pay(cloud, loan, "P-13", 10_000, "2026-03-13T02:00:00Z")
    assert late["replayed"] is False
    assert stored(container, "L-ORDER").penalty_paid_minor > 0  # as it stood: two days overdue
    on_time = pay(cloud, loan, "P-11", loan.instalments[0].total_due, "2026-03-11T02:00:00Z")
    assert on_time["replayed"] is True
    after = stored(container, "L-ORDER")
    assert after.instalments[0].settled_on == date(2026, 3, 11)
    assert (after.penalty_accrued_minor, after.penalty_paid_minor) == (0, 0)
    assert after.status is LoanStatus.CLOSED
    assert after.closed_on == date(2026, 3, 11)
    assert after.overpaid_minor == 10_000  # the 13 March payment came after the loan was paid off


def test_a_reversed_payment_reopens_the_loan_and_the_planner_plans_what_is_due(
    make_cloud: CloudFactory, container: Container
) -> None:
    """Fault 5: a loan paid 3 March (its due date) and reversed 7 March is open again, 4 DPD."""
    loan = cn_cash_loan("L-REV", due=date(2026, 3, 3), principal=100_000)
    cloud = make_cloud(utc(2026, 2, 20), log=io.StringIO())
    register(container, loan, borrower_for(loan), cloud.clock)
    cloud.advance_to(utc(2026, 3, 3, 2))
    assert pay(cloud, loan, "P-REV", loan.instalments[0].total_due, "2026-03-03T02:00:00Z")["closed"]
    cloud.settle()
    assert stored(container, "L-REV").status is LoanStatus.CLOSED

    cloud.advance_to(utc(2026, 3, 7, 2))
    response = reverse(cloud, "L-REV", "P-REV", "2026-03-07T02:00:00Z")
    cloud.settle()
    assert (response["verdict"], response["rebuilt"]) == ("REVERSED", True)
    reopened = stored(container, "L-REV")
    assert reopened.status is LoanStatus.OPEN
    assert (reopened.dpd, reopened.bucket, reopened.evaluated_on) == (4, "M1", date(2026, 3, 7))
    assert reopened.next_review_on is not None
    assert reopened.ledger_count == 0
    assert amount_due(reopened, date(2026, 3, 7)) == 100_900 + penalty_charged(reopened, date(2026, 3, 7))
    assert {a.step_id for a in container.actions.for_loan("L-REV")}, "the planner planned what is due"

    # The same reversal again, and one for a payment the ledger does not know: logged no-ops
    cloud.advance_to(utc(2026, 3, 7, 3))
    again = reverse(cloud, "L-REV", "P-REV", "2026-03-07T03:00:00Z")
    unknown = reverse(cloud, "L-REV", "P-NOPE", "2026-03-07T03:00:00Z")
    assert (again["verdict"], again["rebuilt"]) == ("ALREADY_REVERSED", False)
    assert (unknown["verdict"], unknown["rebuilt"]) == ("UNKNOWN", False)
    assert stored(container, "L-REV").version == reopened.version
    assert isinstance(cloud.log, io.StringIO)
    ignored = [
        json.loads(line) for line in cloud.log.getvalue().splitlines() if '"payment reversal ignored"' in line
    ]
    assert [(e["level"], e["verdict"]) for e in ignored] == [
        ("WARNING", "ALREADY_REVERSED"),
        ("WARNING", "UNKNOWN"),
    ]


def test_payments_on_a_charged_off_loan_are_recoveries(
    make_cloud: CloudFactory, container: Container
) -> None:
    """Fault 4: money for a charged-off loan was returned in full; fault 10: US closed-end loans
    charge off at 120 days past due."""
    due = date(2025, 11, 3)
    loan = us_regf_loan("L-REC", due=due, penalty_daily_ppm=300)
    loan = loan.with_changes(terms=bundled_playbook().terms_for("us-closed-end"))
    cloud = make_cloud(utc(2026, 3, 5))
    register(container, loan, borrower_for(loan, "America/New_York", region="NY"), cloud.clock)
    charged = stored(container, "L-REC")
    assert charged.status is LoanStatus.CHARGED_OFF
    assert charged.charged_off_on == due + timedelta(days=120)
    balance = amount_due(charged, date(2026, 3, 5))
    assert balance == 121_500 + charged.penalty_accrued_minor

    cloud.advance_to(utc(2026, 3, 5, 15))
    part = pay(cloud, loan, "R-1", 50_000, "2026-03-05T15:00:00Z")
    assert part["recovered_minor"] == 50_000
    cloud.advance_to(utc(2026, 3, 6, 15))
    rest = pay(cloud, loan, "R-2", balance - 50_000, "2026-03-06T15:00:00Z")
    assert rest["closed"] is True
    closed = stored(container, "L-REC")
    assert closed.status is LoanStatus.CLOSED
    assert closed.charged_off_on == due + timedelta(days=120)
    assert closed.recovered_minor == balance
    assert loan_dpd(charged, date(2026, 3, 5)) == 120


def test_a_contract_over_the_cost_cap_is_refused_at_registration(
    make_cloud: CloudFactory, container: Container
) -> None:
    """Fault 9: 3 % a month is 36.5 % a year; the CN cap for a contract of March 2026 is 12 %."""
    loan = Loan(
        "L-DEAR",
        "B-DEAR",
        "CN",
        "CNY",
        100_000,
        date(2026, 3, 2),
        (Instalment(1, date(2026, 4, 1), 100_000, 3_000),),
        500,
        0,
    )
    cloud = make_cloud(utc(2026, 3, 2))
    with pytest.raises(ContractOverCap, match=r"36\.50 % a year, over the cost cap of 12\.00 % a year"):
        register_loan(
            loan,
            borrower_for(loan),
            cloud.clock,
            loans=container.loans,
            borrowers=container.borrowers,
            playbook=bundled_playbook(),
        )
    assert container.loans.get("L-DEAR") is None
