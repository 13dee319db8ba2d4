"""The delinquency history on moto: every bucket transition of a loan, dated, recorded once."""

from __future__ import annotations

from datetime import date

import boto3

from arrears.adapters.delinquency_history import DelinquencyHistoryRepository
from arrears.config.playbook import bundled_playbook
from arrears.config.settings import load_settings
from arrears.domain.transitions import Transition
from arrears.usecases.delinquency_history import record_transition
from arrears.usecases.payments import PaymentReceived, receive_payment
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc
from tests.integration.test_sweep import sweep_on, worker_container


def history(stack: LocalStack) -> DelinquencyHistoryRepository:
    settings = load_settings(stack.functions["PlannerFunction"].environment)
    assert settings.delinquency_history_table == stack.physical["DelinquencyHistoryTable"]
    return DelinquencyHistoryRepository(boto3.resource("dynamodb").Table(settings.delinquency_history_table))


def test_registration_delinquency_and_cure_are_each_recorded_once_with_their_business_dates(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given a CN loan due on Tuesday 3 March, registered on 20 February (current)
    container = worker_container(stack)
    cloud = make_cloud(utc(2026, 2, 20))
    loan = cn_cash_loan("L-H", due=date(2026, 3, 3), principal=100_000)
    register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()

    # When it is swept past due on 4 March (DPD 1) and on 3 April (DPD 31), then paid in full
    sweep_on(cloud, date(2026, 3, 4))
    cloud.settle()
    sweep_on(cloud, date(2026, 4, 3))
    cloud.settle()
    receive_payment(
        PaymentReceived("P-1", "L-H", 200_000, "CNY", cloud.clock),
        loans=container.loans,
        ledger=container.payments,
        playbook=bundled_playbook(),
    )
    cloud.settle()

    # Then the history holds registration, M0 -> M1 -> M2, and the repayment (a cure to CLOSED)
    recorded = history(stack).transitions("L-H")
    assert [(t.from_state, t.to_state, t.on) for t in recorded] == [
        (None, "M0", date(2026, 2, 20)),
        ("M0", "M1", date(2026, 3, 4)),
        ("M1", "M2", date(2026, 4, 3)),
        ("M2", "CLOSED", date(2026, 4, 3)),
    ]
    assert [t.dpd for t in recorded][:3] == [0, 1, 31]
    assert recorded[-1].is_cure
    assert not recorded[1].is_cure
    assert sorted({t.version for t in recorded}) == [t.version for t in recorded]

    # And a replayed change (the same loan versions) adds nothing
    repository = history(stack)
    loans = container.loans
    after = loans.get("L-H")
    assert after is not None
    again = Transition(recorded[-1].on, "M2", "CLOSED", after.dpd, after.version)
    assert repository.append(after, again) is False
    assert record_transition(None, after, history=repository) is None  # version already recorded
    assert len(repository.transitions("L-H")) == 4
    (item,) = [i for i in repository.items() if i["loan_id"] == "L-H"]
    assert item["jurisdiction"] == "CN"
    assert item["strategy_arm"] == after.strategy_arm
    assert item["disbursed_on"] == loan.disbursed_on.isoformat()
