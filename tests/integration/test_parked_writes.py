"""On moto: a write that keeps a parked loan's next review date, or moves it later, leaves it out of
ReviewIndex; one that brings it forward puts it back."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arrears.adapters.dynamodb import LoanRepository
from arrears.domain.loans import Instalment, Loan
from localcloud.stack import load_template
from tests.integration.conftest import TEMPLATE

ON = date(2026, 3, 2)


@pytest.fixture
def loans() -> Any:
    with mock_aws():
        properties = load_template(TEMPLATE)["Resources"]["LoansTable"]["Properties"]
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        resource.meta.client.create_table(
            TableName="loans",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=properties["AttributeDefinitions"],
            KeySchema=properties["KeySchema"],
            GlobalSecondaryIndexes=properties["GlobalSecondaryIndexes"],
        )
        table = resource.Table("loans")
        yield LoanRepository(table, shard_count=2), table


def _loan() -> Loan:
    return Loan(
        "L-1",
        "B-1",
        "CN",
        "CNY",
        100_000,
        ON - timedelta(days=30),
        (Instalment(1, ON, 100_000, 0),),
        500,
        2400,
        next_review_on=ON,
    )


def test_an_event_keeping_or_postponing_the_date_stays_parked_and_one_advancing_it_goes_back_to_the_index(
    loans: Any,
) -> None:
    repository, table = loans
    # Given a loan the sweep wrote parked (out of ReviewIndex) with its next review date
    repository.create(_loan())
    stored = repository.save(repository.get("L-1"), parked=True)
    assert "review_on" not in table.get_item(Key={"loan_id": "L-1"})["Item"]

    # When an event changes the loan but not that date
    repository.update("L-1", lambda current: replace(current, risk_band="HIGH"))
    # Then the item is still parked: ReviewIndex was not written
    item = table.get_item(Key={"loan_id": "L-1"})["Item"]
    assert "review_on" not in item
    assert item["next_review_on"] == ON.isoformat()
    assert int(item["version"]) == stored.version + 1

    # When an event moves the date later (the due list's entry under ON lists it again on ON)
    later = ON + timedelta(days=5)
    repository.update("L-1", lambda current: replace(current, next_review_on=later))
    # Then it is still parked
    item = table.get_item(Key={"loan_id": "L-1"})["Item"]
    assert "review_on" not in item
    assert item["next_review_on"] == later.isoformat()

    # When an event brings the date forward, before the date it is listed under
    sooner = ON - timedelta(days=1)
    repository.update("L-1", lambda current: replace(current, next_review_on=sooner))
    # Then the loan is back in the index under the new date
    item = table.get_item(Key={"loan_id": "L-1"})["Item"]
    assert item["review_on"] == sooner.isoformat()


def test_a_loan_in_the_index_stays_in_it_when_an_event_writes_it(loans: Any) -> None:
    repository, table = loans
    # Given a new loan (in the index)
    repository.create(_loan())
    # When an event writes it without moving its date
    repository.update("L-1", lambda current: replace(current, risk_band="HIGH"))
    # Then it is still in the index
    assert table.get_item(Key={"loan_id": "L-1"})["Item"]["review_on"] == ON.isoformat()
