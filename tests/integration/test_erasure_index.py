"""Erasure finds a borrower's loans through BorrowerIndex: a Query of that borrower's keys, never a Scan.

The requests are recorded where DynamoDB (moto) receives them, whichever client sent them, so these
tests see what the deployed function would send and fail for a Scan of the Loans table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from arrears.adapters.container import Container
from arrears.adapters.dynamodb import loan_ids_for_borrower
from arrears.domain.actions import ContactRecord
from tests.integration.archive_support import contacts
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc

# The borrower asked to be forgotten holds five loans spread through a book of other borrowers' loans,
# among them borrowers whose ids start with the same characters (a key condition is equality, not a prefix).
SUBJECT = "B-7"
SUBJECT_LOANS = ["L-0005", "L-0031", "L-0058", "L-0077", "L-0103"]
BOOK_SIZE = 120


@dataclass(frozen=True)
class Request:
    operation: str
    body: dict[str, Any]


@pytest.fixture
def dynamodb_requests(monkeypatch: pytest.MonkeyPatch) -> list[Request]:
    """Every Query and Scan that reaches moto's DynamoDB, with its request parameters."""
    from moto.dynamodb.responses import DynamoHandler

    seen: list[Request] = []
    for operation in ("query", "scan"):
        original = getattr(DynamoHandler, operation)

        def recorded(self: Any, __operation: str = operation, __original: Any = original) -> Any:
            seen.append(Request(__operation, dict(self.body)))
            return __original(self)

        monkeypatch.setattr(DynamoHandler, operation, recorded)
    return seen


def borrower_of(n: int) -> str:
    loan_id = f"L-{n:04d}"
    if loan_id in SUBJECT_LOANS:
        return SUBJECT
    return ("B-70", "B-71", "B-7X", "B-17")[n % 4] if n % 3 == 0 else f"B-{1000 + n // 2}"


def seed_book(container: Container) -> None:
    for n in range(1, BOOK_SIZE + 1):
        loan_id = f"L-{n:04d}"
        loan = cn_cash_loan(loan_id).with_changes(borrower_id=borrower_of(n))
        if loan_id == SUBJECT_LOANS[0]:
            register(container, loan, borrower_for(loan), utc(2026, 2, 20))
        else:
            assert container.loans.create(loan)
    # One hot contact record on each of the subject's loans, and one on a neighbour's.
    for contact, loan_id in zip(contacts(8), [*SUBJECT_LOANS, "L-0006"], strict=False):
        fields = {name: getattr(contact, name) for name in ContactRecord.__dataclass_fields__}
        assert container.contacts.record(
            ContactRecord(**{**fields, "loan_id": loan_id, "borrower_id": borrower_of(int(loan_id[2:]))})
        )


def on_table(requests: list[Request], table: str) -> list[Request]:
    return [r for r in requests if r.body.get("TableName") == table]


def test_erasure_finds_every_loan_of_the_borrower_with_one_index_query_and_no_scan(
    make_cloud: CloudFactory, container: Container, dynamodb_requests: list[Request]
) -> None:
    cloud = make_cloud(utc(2026, 3, 6, 9, 0))
    seed_book(container)
    cloud.settle()
    loans_table = container.settings.loans_table
    dynamodb_requests.clear()

    (response,) = cloud.put_event(
        "LoanEventsBus",
        "arrears.privacy",
        "ErasureRequested",
        {"request_id": "ER-IDX-1", "borrower_id": SUBJECT, "requested_at": "2026-03-06T08:59:00Z"},
    )

    assert response["borrower_found"] is True
    assert response["loans"] == len(SUBJECT_LOANS)
    assert response["contacts_pseudonymised"] == len(SUBJECT_LOANS)
    # Each of the subject's loans was visited, and nobody else's: the neighbour's contact keeps its link.
    assert all(
        c["borrower_id"].startswith("erased:")
        for loan_id in SUBJECT_LOANS
        for c in container.contacts.for_loan(loan_id)
    )
    (neighbour,) = container.contacts.for_loan("L-0006")
    assert neighbour["borrower_id"] == borrower_of(6)
    # What DynamoDB saw: no Scan of any table; on the Loans table, two Queries of the index keys: the
    # borrower's id and their pseudonym (the loans a partial earlier run re-keyed already).
    assert [r for r in dynamodb_requests if r.operation == "scan"] == []
    queries = on_table(dynamodb_requests, loans_table)
    assert [q.operation for q in queries] == ["query", "query"]
    assert all(q.body["IndexName"] == "BorrowerIndex" for q in queries)
    keys = [list(q.body["ExpressionAttributeValues"].values()) for q in queries]
    assert keys[0] == [{"S": SUBJECT}]
    assert keys[1][0]["S"].startswith("erased:")
    assert all("ConsistentRead" not in q.body for q in queries)  # a GSI cannot be read consistently


def test_the_borrower_query_pages_through_the_index_in_loan_order(
    container: Container, dynamodb_requests: list[Request]
) -> None:
    seed_book(container)
    table = boto3.resource("dynamodb").Table(container.settings.loans_table)
    dynamodb_requests.clear()

    found = loan_ids_for_borrower(table, SUBJECT, page_size=2)

    assert found == SUBJECT_LOANS
    pages = on_table(dynamodb_requests, container.settings.loans_table)
    assert [r.operation for r in pages] == ["query"] * len(pages)
    assert len(pages) >= 3  # 5 loans, 2 a page
    assert "ExclusiveStartKey" not in pages[0].body
    assert all("ExclusiveStartKey" in r.body for r in pages[1:])
    assert loan_ids_for_borrower(table, "B-NOBODY") == []
    assert loan_ids_for_borrower(table, "B-70") == [
        f"L-{n:04d}" for n in range(1, BOOK_SIZE + 1) if borrower_of(n) == "B-70"
    ]
