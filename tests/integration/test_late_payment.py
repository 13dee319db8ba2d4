"""A payment the lending core delivers late is valued on its own date but never moves the loan back."""

from __future__ import annotations

from datetime import date, timedelta

from arrears.adapters.container import Container
from arrears.config.playbook import bundled_playbook
from arrears.usecases.payments import PaymentReceived, receive_payment
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, in_arm, register, utc
from tests.integration.test_sweep import sweep_on, worker_container


def test_a_late_delivered_partial_payment_keeps_the_loans_state_as_of_its_last_assessment(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given a loan due on Sunday 1 March (on time until Monday 2 March, the next working day), its
    # borrower in the CN champion arm (a hash of the borrower id), swept every night through 10 March
    # (last milestone: 10 March, DPD 8)
    container: Container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 20))
    loan = in_arm(cn_cash_loan("L-LATE", due=date(2026, 3, 1), principal=100_000), "champion")
    register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()
    day = date(2026, 3, 2)
    while day <= date(2026, 3, 10):
        sweep_on(cloud, day)
        day += timedelta(days=1)
    before = container.loans.get("L-LATE")
    assert before is not None
    assert before.strategy_arm == "champion"
    assert (before.evaluated_on, before.dpd) == (date(2026, 3, 10), 8)

    # When a partial payment made on 5 March arrives only now
    outcome = receive_payment(
        PaymentReceived("P-LATE", "L-LATE", 30_000, "CNY", utc(2026, 3, 5, 2)),
        loans=container.loans,
        ledger=container.payments,
        playbook=bundled_playbook(),
    )

    # Then the payment is applied on its own date, but the loan stays assessed as of 10 March (DPD 8),
    # not 5 March (DPD 3), and its next milestone stays ahead of the last assessment, not in the past
    after = outcome.loan
    assert (sum(outcome.applied.values()), outcome.unapplied_minor) == (30_000, 0)
    assert (after.evaluated_on, after.dpd, after.bucket) == (date(2026, 3, 10), 8, before.bucket)
    assert after.next_review_on is not None
    assert after.next_review_on > date(2026, 3, 10)
    assert after.last_value_date == date(2026, 3, 5)
