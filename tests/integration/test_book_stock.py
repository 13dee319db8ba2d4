"""The stock from flows on moto: counted from the history's appends, replays and retries included."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arrears.adapters.book_stock import BookStockRepository
from arrears.adapters.delinquency_history import DelinquencyHistoryRepository
from arrears.domain.loans import Instalment, Loan, LoanStatus
from arrears.domain.transitions import delinquency_state
from arrears.usecases.book_stock import open_stock, reconcile
from arrears.usecases.delinquency_history import record_transition
from localcloud.stack import load_template
from tests.integration.conftest import TEMPLATE

STATES = ("M0", "M1", "M2", "M3", "M4+", "CLOSED", "CHARGED_OFF")


def _table(resource: Any, logical_id: str, name: str) -> Any:
    properties = load_template(TEMPLATE)["Resources"][logical_id]["Properties"]
    resource.meta.client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
    )
    return resource.Table(name)


@pytest.fixture
def repositories() -> Any:
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        history = DelinquencyHistoryRepository(_table(resource, "DelinquencyHistoryTable", "history"))
        stock = BookStockRepository(_table(resource, "BookStockTable", "stock"))
        yield history, stock


def loan(n: int, jurisdiction: str) -> Loan:
    return Loan(
        loan_id=f"L-{n}",
        borrower_id=f"B-{n}",
        jurisdiction=jurisdiction,
        currency="CNY",
        principal_minor=100_000,
        disbursed_on=date(2026, 1, 1),
        instalments=(Instalment(1, date(2026, 2, 1), 100_000, 900, 0),),
        penalty_daily_ppm=500,
        apr_cap_bps=2400,
    )


def moved(current: Loan, state: str, on: date) -> Loan:
    """The loan's next version in `state` (a bucket while open, else its status)."""
    if state in ("CLOSED", "CHARGED_OFF"):
        return replace(current, status=LoanStatus(state), evaluated_on=on, version=current.version + 1)
    return replace(current, bucket=state, evaluated_on=on, version=current.version + 1)


def test_the_stock_after_transitions_replays_and_duplicates_is_the_census_of_the_book(
    repositories: Any,
) -> None:
    history, stock = repositories
    rng = random.Random(7)
    # Given 60 loans in two jurisdictions, each registered (None -> M0) and moved 0..6 times,
    # every stream record delivered once, some twice in a row, some replayed later out of order
    records: list[tuple[Loan | None, Loan]] = []
    final: dict[str, Loan] = {}
    for n in range(60):
        current = replace(loan(n, "CN" if n % 3 else "US-REGF"), evaluated_on=date(2026, 2, 1))
        records.append((None, current))
        on = date(2026, 2, 1)
        for _ in range(rng.randrange(7)):
            if current.status is not LoanStatus.OPEN:
                break
            on += timedelta(days=rng.randrange(1, 20))
            after = moved(current, rng.choice(STATES), on)
            records.append((current, after))
            current = after
        final[current.loan_id] = current
    deliveries = list(records)
    for record in rng.sample(records, 40):
        deliveries.insert(deliveries.index(record) + 1, record)  # redelivered at once
    deliveries += rng.sample(records, 30)  # replayed after the rest (a stream retried from a checkpoint)

    # When the planner records each delivery
    counted = [record_transition(before, after, history=history, stock=stock) for before, after in deliveries]

    # Then each transition was counted once, and the stock is a census of the book's final states
    assert sum(1 for c in counted if c is not None) == sum(
        1
        for before, after in records
        if before is None or delinquency_state(before) != delinquency_state(after)
    )
    census = Counter((item.jurisdiction, delinquency_state(item)) for item in final.values())
    assert +Counter(stock.stock()) == +census
    assert open_stock(stock.stock()) == {
        k: n for k, n in census.items() if k[1] not in ("CLOSED", "CHARGED_OFF")
    } | {k: 0 for k, n in stock.stock().items() if n == 0 and k[1] not in ("CLOSED", "CHARGED_OFF")}
    # and the day's flows are the transitions of that business date, registrations as NEW>
    flows = stock.flows(date(2026, 2, 1))
    assert flows == {("CN", "NEW>M0"): 40, ("US-REGF", "NEW>M0"): 20}


def test_a_retried_append_whose_first_attempt_was_applied_is_still_counted_once(repositories: Any) -> None:
    # Given an append that DynamoDB applied but whose answer was lost: botocore sends it again
    history, stock = repositories
    first = replace(loan(1, "CN"), evaluated_on=date(2026, 2, 1))
    table = history._table
    real_update = table.update_item
    calls = {"n": 0}

    def applied_then_retried(**request: Any) -> Any:
        calls["n"] += 1
        real_update(**request)  # applied...
        return real_update(**request)  # ...and retried: refused, the stored token is this write's own

    table.update_item = applied_then_retried
    # When the planner records the registration
    counted = record_transition(None, first, history=history, stock=stock)
    # Then the transition is counted (once), not lost
    assert counted is not None
    assert stock.stock() == {("CN", "M0"): 1}


def test_the_reconciliation_finds_an_injected_drift_and_corrects_it(repositories: Any) -> None:
    _, stock = repositories
    # Given a stock that lost one M1 count and counted one M0 twice
    stock.add_stock({("CN", "M0"): 4, ("CN", "M1"): 1, ("CN", "CLOSED"): 2})
    census = {("CN", "M0"): 3, ("CN", "M1"): 2}
    # When reconciled with the census of the book (against the stock read at the sweep's start)
    result = reconcile(date(2026, 3, 1), census, stock.stock(), stock)
    # Then the differences are reported and added, the loans that left untouched
    assert result.drift == {("CN", "M0"): -1, ("CN", "M1"): 1}
    assert result.absolute_drift == 2
    assert result.corrected
    assert stock.stock() == {("CN", "M0"): 3, ("CN", "M1"): 2, ("CN", "CLOSED"): 2}
    # And a clean stock reconciles to no drift, nothing written
    again = reconcile(date(2026, 3, 8), census, stock.stock(), stock)
    assert (again.drift, again.corrected, again.absolute_drift) == ({}, False, 0)
