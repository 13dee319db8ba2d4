"""The loan item mapping: every field round-trips, items written before a field existed still load, and
an item carries its ReviewIndex shard exactly while the loan has a next review date."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from arrears.adapters.items import (
    MalformedItem,
    loan_from_item,
    loan_to_item,
    outcome_from_item,
    outcome_to_item,
    plain,
    shard_for,
)
from arrears.domain.actions import ActionOutcome, ActionStatus, StatedFigures
from arrears.domain.loans import Holds, Instalment, Loan


def _as_stored(value: Any) -> Any:
    """What DynamoDB gives back: numbers as Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | dict | list):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, dict):
        return {k: _as_stored(v) for k, v in value.items()}
    return [_as_stored(v) for v in value]


def _loan(**changes: Any) -> Loan:
    loan = Loan(
        "L-1",
        "B-1",
        "CN",
        "CNY",
        10_000,
        date(2026, 2, 1),
        (Instalment(1, date(2026, 3, 1), 10_000, 300),),
        500,
        3600,
        dpd=9,
        evaluated_on=date(2026, 3, 10),
        holds=Holds(promise_to_pay_until=date(2026, 3, 8)),
    )
    return loan.with_changes(**changes)


def test_the_behaviour_counters_and_their_guards_round_trip() -> None:
    loan = _loan(
        broken_promises=2,
        unanswered_contacts=3,
        last_broken_promise=date(2026, 3, 8),
        last_kept_promise=date(2026, 2, 20),
        applied_call_ids=("CALL-1", "CALL-2"),
        risk_score=55,
        risk_band="HIGH",
        risk_features=(("broken_promises", 2, 30), ("unanswered_contacts", 3, 5)),
    )
    item = loan_to_item(loan, shard_count=16)
    assert item["last_broken_promise"] == "2026-03-08"
    assert item["last_kept_promise"] == "2026-02-20"
    assert item["applied_call_ids"] == ["CALL-1", "CALL-2"]
    assert loan_from_item(_as_stored(item)) == loan


def test_an_item_without_the_new_fields_loads_with_none_counted() -> None:
    item = loan_to_item(_loan(), shard_count=16)
    for absent in ("broken_promises", "unanswered_contacts", "last_broken_promise", "last_kept_promise"):
        assert absent not in item  # zero / none is not written: older items look the same
    assert "applied_call_ids" not in item
    loan = loan_from_item(_as_stored(item))
    assert (loan.broken_promises, loan.unanswered_contacts) == (0, 0)
    assert (loan.last_broken_promise, loan.last_kept_promise, loan.applied_call_ids) == (None, None, ())


def test_shards_are_stable_and_spread() -> None:
    shards = [shard_for(f"loan-{n}", 16) for n in range(1600)]
    assert shard_for("loan-1", 16) == shards[1]
    assert min(shards.count(s) for s in range(16)) > 60


def test_the_shard_of_a_loan_never_moves() -> None:
    # FNV-1a of the id's UTF-8 bytes: the values every stored item was written with
    assert [shard_for(i, 16) for i in ("L-7", "L-00000001", "CN-000042", "贷款-1")] == [15, 5, 13, 4]
    assert (shard_for("L-7", 4096), shard_for("L-7", 1)) == (959, 0)
    with pytest.raises(ValueError, match="shard_count"):
        shard_for("L-7", 0)


def test_a_loan_with_a_next_review_carries_its_shard_and_one_without_carries_neither() -> None:
    reviewed = loan_to_item(_loan(next_review_on=date(2026, 3, 31)), shard_count=16)
    assert (reviewed["review_shard"], reviewed["next_review_on"]) == (shard_for("L-1", 16), "2026-03-31")
    assert list(reviewed).index("review_shard") + 1 == list(reviewed).index("next_review_on")
    unreviewed = loan_to_item(_loan(), shard_count=16)
    assert "review_shard" not in unreviewed
    assert "next_review_on" not in unreviewed
    assert loan_from_item(_as_stored(reviewed)) == _loan(next_review_on=date(2026, 3, 31))


def test_default_terms_and_unset_hold_flags_are_not_stored_and_read_back_as_such() -> None:
    # Given a loan on the default product with no hold flag set
    loan = _loan(holds=Holds())

    # Then its item carries neither terms nor holds (each write pays 1 write unit per KB)
    item = loan_to_item(loan, shard_count=16)
    assert "terms" not in item
    assert "holds" not in item
    assert loan_from_item(_as_stored(item)) == loan


def test_terms_that_differ_from_the_default_product_are_stored_alone_and_round_trip() -> None:
    from arrears.domain.terms import LoanTerms

    loan = _loan(terms=LoanTerms(product="bnpl", tolerance_minor=100), holds=Holds(cease_contact=True))
    item = loan_to_item(loan, shard_count=16)
    assert item["terms"] == {"product": "bnpl", "tolerance_minor": 100}
    assert item["holds"] == {"cease_contact": True}
    assert loan_from_item(_as_stored(item)) == loan


def test_a_parked_loan_keeps_its_shard_and_date_and_asks_for_no_listing() -> None:
    # Given a loan with a next review date, written by the sweep (parked), by a write that postponed
    # a listed loan (parked, carrying the request its previous version made) and by anyone else
    loan = _loan(next_review_on=date(2026, 3, 31))
    parked = loan_to_item(loan, shard_count=16, parked=True)
    carried = loan_to_item(loan, shard_count=16, parked=True, carried="2026-03-20")
    listed = loan_to_item(loan, shard_count=16)

    # Then only the unparked item asks the review lister for a listing under its date; the postponing
    # write keeps the earlier request; all keep the shard and the date; none is put in ReviewIndex
    assert (listed["review_shard"], listed["list_on"]) == (shard_for("L-1", 16), "2026-03-31")
    assert "list_on" not in parked
    assert carried["list_on"] == "2026-03-20"
    assert (parked["review_shard"], parked["next_review_on"]) == (shard_for("L-1", 16), "2026-03-31")
    assert not any("review_on" in item for item in (parked, carried, listed))
    assert loan_from_item(_as_stored(parked)) == loan_from_item(_as_stored(listed)) == loan


def test_plain_turns_every_decimal_into_an_int_at_any_depth() -> None:
    item = {
        "n": Decimal(3),
        "s": "x",
        "flag": True,
        "none": None,
        "list": [Decimal(1), {"deep": [Decimal(-2)]}],
        "set": {Decimal(4), Decimal(5)},
        "tuple": (Decimal(6),),
        "ordered": OrderedDict(a=Decimal(7)),
    }
    assert plain(item) == {
        "n": 3,
        "s": "x",
        "flag": True,
        "none": None,
        "list": [1, {"deep": [-2]}],
        "set": {4, 5},
        "tuple": [6],
        "ordered": {"a": 7},
    }
    assert type(plain(item)["n"]) is int
    with pytest.raises(MalformedItem, match="non-integer"):
        plain({"list": [Decimal("1.5")]})
    for number in ("NaN", "Infinity", "-Infinity", "1E-3"):
        with pytest.raises(MalformedItem, match="non-integer"):
            plain({"n": Decimal(number)})
    assert plain({"n": Decimal("1E+3")}) == {"n": 1000}


def test_an_outcome_keeps_what_its_contact_stated_and_one_stored_before_reads_as_stating_nothing() -> None:
    """A SENT outcome's `stated` figures round-trip (DynamoDB's Decimals included); an outcome map
    written before outcomes carried them reads back with `stated` None, and its record falls back
    to the action's planned figures."""
    outcome = ActionOutcome(
        ActionStatus.SENT,
        occurred_at=datetime(2026, 3, 13, 4, tzinfo=UTC),
        borrower_timezone="Asia/Shanghai",
        rule_pack="CN@2026.1",
        message_sha256="ab" * 32,
        stated=StatedFigures(dpd=11, bucket="M1", amount_due_minor=306_410),
    )
    item = outcome_to_item(outcome)
    assert item["stated"] == {"dpd": 11, "bucket": "M1", "amount_due_minor": 306_410}
    assert outcome_from_item(_as_stored(item)) == outcome
    older = {key: value for key, value in item.items() if key != "stated"}
    read = outcome_from_item(_as_stored(older))
    assert read is not None
    assert read.stated is None
