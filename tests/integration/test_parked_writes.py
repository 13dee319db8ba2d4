"""On moto: a write that keeps a listed loan's next review date, or moves it later, asks for no listing;
one that brings it forward, or creates the loan, asks the review lister for one (`list_on`)."""

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


def test_an_event_keeping_or_postponing_the_date_asks_for_no_listing_and_one_advancing_it_does(
    loans: Any,
) -> None:
    repository, table = loans
    # Given a loan the sweep wrote parked (listed by the sweep itself) with its next review date
    repository.create(_loan())
    stored = repository.save(repository.get("L-1"), parked=True)
    item = table.get_item(Key={"loan_id": "L-1"})["Item"]
    assert "list_on" not in item
    assert "review_on" not in item

    # When an event changes the loan but not that date
    repository.update("L-1", lambda current: replace(current, risk_band="HIGH"))
    # Then the write asks for no listing: the sweep's entry under the date names the loan
    item = table.get_item(Key={"loan_id": "L-1"})["Item"]
    assert "list_on" not in item
    assert item["next_review_on"] == ON.isoformat()
    assert int(item["version"]) == stored.version + 1

    # When an event moves the date later (the due list's entry under ON lists it again on ON)
    later = ON + timedelta(days=5)
    repository.update("L-1", lambda current: replace(current, next_review_on=later))
    # Then it still asks for none
    item = table.get_item(Key={"loan_id": "L-1"})["Item"]
    assert "list_on" not in item
    assert item["next_review_on"] == later.isoformat()

    # When an event brings the date forward, before the date it is listed under
    sooner = ON - timedelta(days=1)
    repository.update("L-1", lambda current: replace(current, next_review_on=sooner))
    # Then the write asks the review lister to list it under the new date; ReviewIndex is not written
    item = table.get_item(Key={"loan_id": "L-1"})["Item"]
    assert item["list_on"] == sooner.isoformat()
    assert "review_on" not in item


def test_a_new_loan_asks_for_a_listing_and_an_event_keeping_its_date_keeps_that_request(loans: Any) -> None:
    repository, table = loans
    # Given a new loan: onboarding's write asks for a listing under its first review date
    repository.create(_loan())
    item = table.get_item(Key={"loan_id": "L-1"})["Item"]
    assert (item["list_on"], "review_on" in item) == (ON.isoformat(), False)
    # When an event writes it without moving its date
    repository.update("L-1", lambda current: replace(current, risk_band="HIGH"))
    # Then it asks for no other: it keeps the request onboarding made (a repeat the lister skips, kept
    # for the census to relist the loan should the lister have lost it)
    assert table.get_item(Key={"loan_id": "L-1"})["Item"]["list_on"] == ON.isoformat()
    # and the sweep's parked write drops it (the sweep lists the loans it writes itself)
    repository.save(repository.get("L-1"), parked=True)
    assert "list_on" not in table.get_item(Key={"loan_id": "L-1"})["Item"]


def test_a_loan_left_in_the_review_index_asks_for_a_listing_when_an_event_writes_it(loans: Any) -> None:
    repository, table = loans
    # Given a loan in ReviewIndex, written before the review lister existed
    repository.create(_loan())
    table.update_item(
        Key={"loan_id": "L-1"},
        UpdateExpression="SET review_on = :on REMOVE list_on",
        ExpressionAttributeValues={":on": ON.isoformat()},
    )
    # When an event writes it without moving its date
    repository.update("L-1", lambda current: replace(current, risk_band="HIGH"))
    # Then it leaves the index and asks the lister to list it
    item = table.get_item(Key={"loan_id": "L-1"})["Item"]
    assert (item["list_on"], "review_on" in item) == (ON.isoformat(), False)
