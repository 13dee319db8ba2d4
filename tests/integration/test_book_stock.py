"""The stock from flows on moto: counted from the history's appends, replays and retries included."""

from __future__ import annotations

import json
import random
from collections import Counter
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws

from arrears.adapters.book_stock import BookStockRepository
from arrears.adapters.credit_facts import CreditFactsRepository
from arrears.adapters.delinquency_history import DelinquencyHistoryRepository
from arrears.domain.loans import Instalment, Loan, LoanStatus
from arrears.domain.transitions import delinquency_state
from arrears.usecases.book_stock import open_stock, reconcile
from arrears.usecases.credit_facts import record_bureau_facts
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


def _deliveries(
    rng: random.Random,
) -> tuple[list[tuple[Loan | None, Loan]], list[tuple[Loan | None, Loan]], dict[str, Loan]]:
    """(records, deliveries, final loans) of 60 loans in two jurisdictions, each registered (None -> M0)
    and moved 0..6 times, every record delivered once, some twice in a row, some replayed later."""
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
    return records, deliveries, final


@pytest.mark.parametrize("batch_size", [0, 100])
def test_the_stock_after_transitions_replays_and_duplicates_is_the_census_of_the_book(
    repositories: Any, batch_size: int
) -> None:
    history, stock = repositories
    # Given 60 loans in two jurisdictions, each registered (None -> M0) and moved 0..6 times,
    # every stream record delivered once, some twice in a row, some replayed later out of order
    records, deliveries, final = _deliveries(random.Random(7))

    # When the planner records each delivery, counted one by one (0) or per stream batch of 100
    counted = []
    for start in range(0, len(deliveries), batch_size or 1):
        with stock.batched() if batch_size else nullcontext():
            counted += [
                record_transition(before, after, history=history, stock=stock)
                for before, after in deliveries[start : start + (batch_size or 1)]
            ]

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


def _update_items(resource_table: Any) -> list[str]:
    """The UpdateItems sent to the table from now on (their request bodies)."""
    sent: list[str] = []

    def record(params: Any, **_: Any) -> None:
        if json.loads(params["body"])["TableName"] == resource_table.name:
            sent.append(params["body"])

    resource_table.meta.client.meta.events.register("before-call.dynamodb.UpdateItem", record)
    return sent


def test_a_stream_batch_of_one_jurisdiction_writes_one_stock_and_one_flows_item(repositories: Any) -> None:
    history, stock = repositories
    # Given a sweep day's batch: 100 CN loans registered, 60 of them moving to M1 on the same date
    day = date(2026, 2, 1)
    batch: list[tuple[Loan | None, Loan]] = []
    for n in range(100):
        registered = replace(loan(n, "CN"), evaluated_on=day)
        batch.append((None, registered))
        if n < 60:
            batch.append((registered, moved(registered, "M1", day)))
    sent = _update_items(stock._table)
    # When the planner records the batch, a replay of its first record included
    with stock.batched() as tally:
        for before, after in [*batch, batch[0]]:
            record_transition(before, after, history=history, stock=stock)
    # Then its 160 transitions are counted in two UpdateItems: the jurisdiction's stock and the day's flows
    assert tally.transitions == 160
    assert len(sent) == 2
    assert stock.stock() == {("CN", "M0"): 40, ("CN", "M1"): 60}
    assert stock.flows(day) == {("CN", "NEW>M0"): 100, ("CN", "M0>M1"): 60}


def test_a_batch_whose_counts_cannot_be_written_reports_what_it_lost(repositories: Any) -> None:
    history, stock = repositories
    first = replace(loan(1, "CN"), evaluated_on=date(2026, 2, 1))
    lost: list[tuple[int, str]] = []

    def refused(**_: Any) -> Any:
        raise RuntimeError("throttled after retries")

    # Given a counter write that fails (after botocore's retries)
    stock._table.update_item = refused
    # When a batch's transition is recorded
    with stock.batched(on_lost=lambda tally, error: lost.append((tally.transitions, str(error)))):
        recorded = record_transition(None, first, history=history, stock=stock)
    # Then the append stands and the lost count is reported for the census to correct
    assert recorded is not None
    assert lost == [(1, "throttled after retries")]
    # and without a handler the failure is raised
    with pytest.raises(RuntimeError), stock.batched():
        record_transition(first, moved(first, "M1", date(2026, 2, 3)), history=history, stock=stock)


@pytest.mark.parametrize("applied", [False, True], ids=["lost-before", "applied-answer-lost"])
def test_a_counter_write_that_times_out_is_retried_and_counted_once(repositories: Any, applied: bool) -> None:
    history, stock = repositories
    first = replace(loan(1, "CN"), evaluated_on=date(2026, 2, 1))
    real = stock._table.update_item
    timed_out: list[str] = []

    def times_out_once(**request: Any) -> Any:
        if not timed_out:
            timed_out.append(request["Key"]["kind"])
            if applied:
                real(**request)  # the ADD was applied, its answer lost
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        return real(**request)

    # Given the batch's first counter write (the stock item) timing out once
    stock._table.update_item = times_out_once
    lost: list[int] = []
    with stock.batched(on_lost=lambda tally, _: lost.append(tally.transitions)):
        record_transition(None, first, history=history, stock=stock)
    # Then it is retried alone: counted once, neither lost nor doubled
    assert timed_out == ["stock"]
    assert lost == []
    assert stock.stock() == {("CN", "M0"): 1}
    assert stock.flows(date(2026, 2, 1)) == {("CN", "NEW>M0"): 1}


def test_a_transition_and_its_bureau_facts_are_one_write_of_the_history_item(repositories: Any) -> None:
    history, stock = repositories
    facts = CreditFactsRepository(history._table)
    at = datetime(2026, 2, 1, 4, tzinfo=UTC)
    registered = replace(loan(1, "US-REGF"), evaluated_on=date(2026, 2, 1))
    late = moved(registered, "M1", date(2026, 3, 3))
    sent = _update_items(history._table)

    # When the planner records the registration and the move to M1 (each a transition)
    for before, after in ((None, registered), (registered, late)):
        record_bureau_facts(
            before,
            after,
            at,
            store=facts,
            cn_writer=None,
            communications=lambda _: (),
            history=True,
            stock=stock,
        )
    # Then each change wrote the history item once: the transition and the facts together
    assert len(sent) == 2
    assert [(t.from_state, t.to_state) for t in history.transitions("L-1")] == [(None, "M0"), ("M0", "M1")]
    stored = facts.facts("L-1")
    assert stored is not None
    assert stored.version == late.version
    assert stock.stock() == {("US-REGF", "M0"): 0, ("US-REGF", "M1"): 1}

    # When the first record is replayed after the second (its facts were moved on already)
    record_bureau_facts(
        None,
        registered,
        at,
        store=facts,
        cn_writer=None,
        communications=lambda _: (),
        history=True,
        stock=stock,
    )
    # Then nothing more is appended or counted
    assert len(history.transitions("L-1")) == 2
    assert stock.stock() == {("US-REGF", "M0"): 0, ("US-REGF", "M1"): 1}


def test_a_transition_retried_after_a_later_version_of_the_loan_is_still_appended(repositories: Any) -> None:
    history, stock = repositories
    facts = CreditFactsRepository(history._table)
    at = datetime(2026, 2, 1, 4, tzinfo=UTC)
    registered = replace(loan(1, "CN"), evaluated_on=date(2026, 2, 1))
    late = moved(registered, "M1", date(2026, 3, 3))
    paid = replace(late, risk_band="HIGH", version=late.version + 1)
    record_bureau_facts(
        None,
        registered,
        at,
        store=facts,
        cn_writer=None,
        communications=lambda _: (),
        history=True,
        stock=stock,
    )
    # Given the move to M1 failed before its write, and the loan's next version (no transition) succeeded
    record_bureau_facts(
        late, paid, at, store=facts, cn_writer=None, communications=lambda _: (), history=True, stock=stock
    )
    # When the move to M1 is retried
    record_bureau_facts(
        registered,
        late,
        at,
        store=facts,
        cn_writer=None,
        communications=lambda _: (),
        history=True,
        stock=stock,
    )
    # Then its transition is appended and counted once (the facts stay those of the later version)
    assert [(t.from_state, t.to_state) for t in history.transitions("L-1")] == [(None, "M0"), ("M0", "M1")]
    assert stock.stock() == {("CN", "M0"): 0, ("CN", "M1"): 1}
    stored = facts.facts("L-1")
    assert stored is not None
    assert stored.version == paid.version
