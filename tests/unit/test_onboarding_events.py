"""LoanDisbursed and BorrowerUpdated: the book file's rows in an event (the same validation), and the
onboarding rule that an older profile never wins over a newer one while a move is taken."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from pydantic import ValidationError

from arrears.domain.borrowers import Borrower
from arrears.events.onboarding import BorrowerUpdatedEvent, LoanDisbursedEvent
from arrears.usecases.onboarding import BorrowerOutcome, onboard_borrower

EVENTS = Path(__file__).resolve().parents[2] / "events" / "book_import"
T1 = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
T0 = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)


def _sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def test_a_disbursed_loan_becomes_the_rows_of_a_book_file() -> None:
    asked = parse(event=_sample("loan-disbursed.json"), model=LoanDisbursedEvent).unwrap()
    assert asked.at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    (loan,) = asked.records.loans
    assert (loan.loan.loan_id, loan.loan.principal_minor, len(loan.loan.instalments)) == (
        "L-SAMPLE-0101",
        600_000,
        3,
    )
    (borrower,) = asked.records.borrowers
    assert borrower.borrower.phone == "+8613800138000"
    assert asked.records.rows_read == 2


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["loan"].update(disbursed_on="2026-02-30"), "detail.loan.disbursed_on"),
        (lambda d: d["borrower"].update(phone="+8612"), "detail.borrower.phone"),
        (lambda d: d["borrower"].update(borrower_id="B-OTHER"), "not the loan's borrower_id"),
        (lambda d: d["loan"].update(jurisdiction="XX"), "detail.loan.jurisdiction"),
        (lambda d: d.update(payments=[]), "detail.payments"),
    ],
)
def test_a_bad_detail_is_refused_naming_the_field_never_the_value(change: Any, problem: str) -> None:
    event = _sample("loan-disbursed.json")
    change(event["detail"])
    with pytest.raises(ValidationError) as raised:
        parse(event=event, model=LoanDisbursedEvent)
    text = str(raised.value)
    assert problem.rsplit(".", maxsplit=1)[-1] in text
    assert "+8612" not in text


def test_an_update_from_the_future_is_refused() -> None:
    event = _sample("borrower-updated.json")
    event["detail"]["updated_at"] = "2026-03-10T10:00:00Z"
    with pytest.raises(ValueError, match=r"detail\.updated_at: .* later than the event"):
        parse(event=event, model=BorrowerUpdatedEvent).unwrap()
    del event["detail"]["updated_at"]
    assert parse(event=event, model=BorrowerUpdatedEvent).unwrap().at == datetime(
        2026, 3, 9, 10, 0, 5, tzinfo=UTC
    )


class _Borrowers:
    """In memory, with the write condition `update_contact` has on DynamoDB."""

    def __init__(self) -> None:
        self.items: dict[str, Borrower] = {}
        self.writes = 0

    def get(self, borrower_id: str) -> Borrower | None:
        return self.items.get(borrower_id)

    def create(self, borrower: Borrower) -> bool:
        if borrower.borrower_id in self.items:
            return False
        self.items[borrower.borrower_id] = borrower
        self.writes += 1
        return True

    def update_contact(self, borrower: Borrower) -> bool:
        stored = self.items.get(borrower.borrower_id)
        if stored is None or (
            stored.profile_at is not None
            and borrower.profile_at is not None
            and stored.profile_at > borrower.profile_at
        ):
            return False
        self.items[borrower.borrower_id] = replace(borrower, opted_out_channels=stored.opted_out_channels)
        self.writes += 1
        return True

    def was_erased(self, borrower: Borrower) -> bool:
        return False


PERSON = Borrower(
    "B-1", "America/New_York", region="MA", phone="+16175550100", opted_out_channels=frozenset()
)


def test_an_older_update_never_wins_and_a_redelivery_writes_nothing() -> None:
    borrowers = _Borrowers()
    assert onboard_borrower(PERSON, borrowers, T0) == (BorrowerOutcome.CREATED, [])
    moved = replace(PERSON, timezone="America/Los_Angeles", region="WA", phone="+12065550100")
    assert onboard_borrower(moved, borrowers, T1) == (
        BorrowerOutcome.UPDATED,
        ["timezone", "region", "phone"],
    )
    assert onboard_borrower(moved, borrowers, T1) == (BorrowerOutcome.UNCHANGED, [])
    # The update made before the move, delivered after it: nothing is written.
    writes = borrowers.writes
    assert onboard_borrower(PERSON, borrowers, T0) == (BorrowerOutcome.STALE, [])
    assert borrowers.writes == writes
    stored = borrowers.get("B-1")
    assert stored is not None
    assert (stored.region, stored.phone, stored.profile_at) == ("WA", "+12065550100", T1)


def test_a_later_update_landing_between_the_read_and_the_write_makes_this_one_stale() -> None:
    borrowers = _Borrowers()
    onboard_borrower(PERSON, borrowers, T0)
    real_get = borrowers.get
    calls = {"n": 0}

    def get(borrower_id: str) -> Borrower | None:
        found = real_get(borrower_id)
        calls["n"] += 1
        if calls["n"] == 1:  # another writer stores a newer profile after this read
            borrowers.items["B-1"] = replace(PERSON, language="es", profile_at=T1)
        return found

    borrowers.get = get  # type: ignore[method-assign]
    middle = datetime(2026, 3, 7, tzinfo=UTC)
    assert onboard_borrower(replace(PERSON, language="fr"), borrowers, middle) == (BorrowerOutcome.STALE, [])
    assert borrowers.items["B-1"].language == "es"
