"""The review lister: a stream batch of listing requests becomes a few due-list items, each loan under its
date or an earlier one (`arrears.usecases.review_listing`), and the stream record it reads."""

from __future__ import annotations

import copy
import json
import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from arrears.adapters.items import shard_for
from arrears.events.streams import LoanListingRecord
from arrears.usecases.review_listing import ListingRequest, list_for_review
from tests.unit.memory_loans import MemoryDueList

ON = date(2026, 3, 2)
SAMPLE = Path(__file__).resolve().parents[2] / "events" / "review_lister" / "loan-listing-requests.json"


def listed_under(due_list: MemoryDueList) -> dict[str, date]:
    """Each loan id -> the earliest date an item lists it under."""
    earliest: dict[str, date] = {}
    for (_, key), ids in due_list.items.items():
        on = date.fromisoformat(key.split("#")[0])
        for loan_id in ids:
            earliest[loan_id] = min(on, earliest.get(loan_id, on))
    return earliest


def test_a_batch_is_one_item_under_its_earliest_date_in_its_first_loans_partition() -> None:
    due_list = MemoryDueList()
    requests = [
        ListingRequest("L-2", ON + timedelta(days=9)),
        ListingRequest("L-1", ON + timedelta(days=3)),
        ListingRequest("L-3", ON + timedelta(days=30)),
        ListingRequest("L-1", ON + timedelta(days=1)),  # the same loan again, brought forward
    ]

    outcome = list_for_review(requests, due_list, shard_count=16)

    assert (outcome.requests, outcome.listed, outcome.items) == (4, 3, 1)
    assert outcome.earliest == ON + timedelta(days=1)
    [((shard, key), ids)] = due_list.items.items()
    assert key.startswith(f"{ON + timedelta(days=1)}#")
    assert ids == ("L-1", "L-2", "L-3")
    assert shard == shard_for("L-1", 16)  # the first loan by (date, id)


def test_a_request_its_previous_version_made_already_is_not_listed_again() -> None:
    due_list = MemoryDueList()
    outcome = list_for_review([ListingRequest("L-1", ON, listed_on=ON)], due_list, shard_count=4)
    assert (outcome.requests, outcome.listed, outcome.items, outcome.earliest) == (1, 0, 0, None)
    assert due_list.items == {}
    # a request for another date than the previous version's is listed
    list_for_review([ListingRequest("L-1", ON, listed_on=ON + timedelta(days=5))], due_list, shard_count=4)
    assert listed_under(due_list) == {"L-1": ON}


def test_a_large_batch_is_chunked_each_chunk_under_its_own_earliest_date() -> None:
    due_list = MemoryDueList()
    requests = [ListingRequest(f"L-{n}", ON + timedelta(days=n)) for n in range(5)]

    outcome = list_for_review(requests, due_list, shard_count=4, ids_per_item=2)

    assert outcome.items == 3
    assert listed_under(due_list) == {
        "L-0": ON,
        "L-1": ON,
        "L-2": ON + timedelta(days=2),
        "L-3": ON + timedelta(days=2),
        "L-4": ON + timedelta(days=4),
    }


def test_a_redelivered_batch_writes_the_same_items() -> None:
    due_list = MemoryDueList()
    requests = [ListingRequest(f"L-{n}", ON + timedelta(days=n % 3)) for n in range(7)]
    list_for_review(requests, due_list, shard_count=4, ids_per_item=3)
    first = dict(due_list.items)
    list_for_review(list(reversed(requests)), due_list, shard_count=4, ids_per_item=3)
    assert due_list.items == first


def test_an_item_needs_room_for_one_id() -> None:
    with pytest.raises(ValueError, match="ids_per_item"):
        list_for_review([], MemoryDueList(), shard_count=4, ids_per_item=0)


@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 40), st.one_of(st.none(), st.integers(0, 40))),
        max_size=60,
    ),
    st.integers(1, 7),
)
def test_every_new_request_is_listed_on_or_before_its_date(
    raw: list[tuple[int, int, int | None]], ids_per_item: int
) -> None:
    requests = [
        ListingRequest(f"L-{n}", ON + timedelta(days=d), None if p is None else ON + timedelta(days=p))
        for n, d, p in raw
    ]
    due_list = MemoryDueList()

    outcome = list_for_review(requests, due_list, shard_count=8, ids_per_item=ids_per_item)

    wanted: dict[str, date] = {}
    for request in requests:
        if not request.repeated:
            wanted[request.loan_id] = min(request.list_on, wanted.get(request.loan_id, request.list_on))
    listed = listed_under(due_list)
    assert set(listed) == set(wanted)
    assert all(listed[loan_id] <= on for loan_id, on in wanted.items())
    assert outcome.items == math.ceil(len(wanted) / ids_per_item)


# -- the stream record ----------------------------------------------------------------------------------


def sample_records() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(SAMPLE.read_text())["Records"]
    return records


def test_a_new_loans_record_asks_for_its_date_with_nothing_listed_before() -> None:
    inserted = sample_records()[0]
    request = parse(event=inserted, model=LoanListingRecord).unwrap()
    assert request == ListingRequest(
        "L-SAMPLE-0002", date.fromisoformat(inserted["dynamodb"]["NewImage"]["list_on"]["S"])
    )


def test_a_record_whose_previous_version_asked_for_the_same_date_is_a_repeat() -> None:
    modified = copy.deepcopy(sample_records()[1])
    images = modified["dynamodb"]
    images["OldImage"]["list_on"] = images["NewImage"]["list_on"]
    request = parse(event=modified, model=LoanListingRecord).unwrap()
    assert request is not None
    assert request.repeated


def test_a_write_bringing_the_date_back_to_an_earlier_request_is_listed_again() -> None:
    # Given a loan asking for D5 whose payment postponed it to D10 (the request carried: the sweep may
    # since have listed it again under D10 and dropped the D5 entry), and the payment then reversed
    modified = copy.deepcopy(sample_records()[1])
    images = modified["dynamodb"]
    images["OldImage"]["list_on"] = {"S": "2026-03-05"}
    images["OldImage"]["next_review_on"] = {"S": "2026-03-10"}
    images["NewImage"]["list_on"] = {"S": "2026-03-05"}
    images["NewImage"]["next_review_on"] = {"S": "2026-03-05"}
    # Then the reversal's record is not a repeat: the loan is listed under D5 again
    request = parse(event=modified, model=LoanListingRecord).unwrap()
    assert request == ListingRequest("L-SAMPLE-0001", date(2026, 3, 5), None)
    assert not request.repeated
    # while a write that keeps the date (an UpdateItem writer, a postponing write) is a repeat
    images["OldImage"]["next_review_on"] = {"S": "2026-03-05"}
    images["NewImage"]["next_review_on"] = {"S": "2026-03-09"}
    kept = parse(event=modified, model=LoanListingRecord).unwrap()
    assert kept is not None
    assert kept.repeated


def test_a_record_without_a_request_lists_nothing() -> None:
    modified = copy.deepcopy(sample_records()[1])
    del modified["dynamodb"]["NewImage"]["list_on"]
    assert parse(event=modified, model=LoanListingRecord).unwrap() is None


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda d: d["NewImage"].__setitem__("list_on", {"S": "next week"}), "ISO date"),
        (lambda d: d["NewImage"].__setitem__("list_on", {"N": "20260302"}), "not a string"),
        (lambda d: d["NewImage"].__setitem__("loan_id", {"S": "L 1; drop"}), "id's shape"),
        (lambda d: d.__setitem__("NewImage", {}), "empty image"),
    ],
)
def test_a_malformed_record_is_refused_with_its_reason(damage: Any, problem: str) -> None:
    modified = copy.deepcopy(sample_records()[1])
    damage(modified["dynamodb"])
    with pytest.raises((ValidationError, ValueError), match=problem):
        parse(event=modified, model=LoanListingRecord).unwrap()


def test_a_date_with_more_ids_than_an_item_holds_is_split() -> None:
    from arrears.adapters.due_list import MAX_IDS_PER_ITEM, chunks_by_date

    due = {f"L-{n:05d}": ON for n in range(2 * MAX_IDS_PER_ITEM + 5)} | {"L-X": ON + timedelta(days=1)}
    chunks = chunks_by_date(due)
    assert [(on, len(ids)) for on, ids in chunks] == [
        (ON, MAX_IDS_PER_ITEM),
        (ON, MAX_IDS_PER_ITEM),
        (ON, 5),
        (ON + timedelta(days=1), 1),
    ]
    assert sorted(i for _, ids in chunks for i in ids) == sorted(due)
