"""The review lister on moto: the Loans stream's writes that ask for a listing, gathered over the batching
window, become one due-list item the sweep reaches them through; a malformed record fails alone."""

from __future__ import annotations

import copy
import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3

from arrears.adapters.container import Container
from arrears.adapters.due_list import DueList
from arrears.adapters.tables import all_items
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, in_arm, register, utc
from tests.integration.test_sweep import DUE, sweep_on

LISTER = "ReviewListerFunction"
SAMPLE = Path(__file__).resolve().parents[2] / "events" / "review_lister" / "loan-listing-requests.json"


def due_items(stack: LocalStack) -> list[dict[str, Any]]:
    return list(all_items(boto3.resource("dynamodb").Table(stack.physical["ReviewDueTable"]).scan))


def test_onboarded_loans_are_listed_together_once_the_window_passes_and_the_sweep_reaches_them(
    stack: LocalStack, container: Container, make_cloud: CloudFactory
) -> None:
    window = int(stack.functions[LISTER].events[0].properties["MaximumBatchingWindowInSeconds"])
    assert window == 300  # the template's default (ReviewListingWindowSeconds)
    # Given three loans onboarded a minute apart, due on 2 March, in the arms the test was written for
    # (the champion and challenger strategies reach their first milestones on different days)
    cloud = make_cloud(utc(2026, 2, 20, 2))
    for n, arm in enumerate(("champion", "challenger", "champion")):
        loan = in_arm(cn_cash_loan(f"L-{n}", due=DUE), arm)
        register(container, loan, borrower_for(loan), cloud.clock)
        cloud.settle()
        cloud.advance_to(cloud.clock + timedelta(minutes=1))

    # Then nothing is listed while the window is open
    assert due_items(stack) == []
    assert not [c for c in cloud.invocations if c.function == LISTER]

    # When the window has passed
    cloud.advance_to(cloud.clock + timedelta(seconds=window))
    cloud.settle()

    # Then one invocation listed the three in one item, under their first review date
    [call] = [c for c in cloud.invocations if c.function == LISTER]
    assert len(call.event["Records"]) == 3
    assert call.response == {"batchItemFailures": []}
    [item] = due_items(stack)
    first_review = container.loans.get("L-0")
    assert first_review is not None
    assert first_review.next_review_on is not None
    assert str(item["due_key"]).startswith(first_review.next_review_on.isoformat())
    assert item["loan_ids"] == {"L-0", "L-1", "L-2"}

    # When the sweep of that date runs
    workers = sweep_on(cloud, first_review.next_review_on)

    # Then it reached the three through the lister's item: those due it wrote parked (no listing
    # request left), the others (a later first milestone) it listed again under their own date; each is
    # listed under its next review date, and the lister's item is gone
    swept = [w.response["sweep"] for w in workers]
    assert sum(s["from_due_list"] for s in swept) == 3
    assert sum(s["from_index"] for s in swept) == 0
    assert sum(s["writes"] + s["relisted"] for s in swept) == 3
    keys = {str(i["due_key"]) for i in due_items(stack)}
    assert str(item["due_key"]) not in keys
    table = boto3.resource("dynamodb").Table(container.settings.loans_table)
    for n in range(3):
        stored = table.get_item(Key={"loan_id": f"L-{n}"})["Item"]
        assert "review_on" not in stored
        assert ("list_on" in stored) == (stored["version"] == 0)  # written by the sweep, or not
        assert any(k.startswith(str(stored["next_review_on"])) for k in keys)


def test_a_malformed_record_fails_alone_and_the_records_before_it_are_listed(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    # Given a batch whose second record has a list_on that is not a date
    event = json.loads(SAMPLE.read_text())
    bad = copy.deepcopy(event["Records"][1])
    bad["dynamodb"]["NewImage"]["list_on"] = {"S": "soon"}
    event["Records"][1] = bad
    cloud = make_cloud(utc(2026, 3, 2, 8))

    # When the lister gets it
    response = cloud.invoke(LISTER, event)

    # Then the malformed record is the batch's item failure (Lambda retries from it), with a log line
    # saying why, and the record before it is listed
    assert response == {"batchItemFailures": [{"itemIdentifier": bad["dynamodb"]["SequenceNumber"]}]}
    assert isinstance(cloud.log, io.StringIO)
    assert "malformed loan listing record" in cloud.log.getvalue()
    [item] = due_items(stack)
    assert item["loan_ids"] == {"L-SAMPLE-0002"}
    listed_on = date.fromisoformat(event["Records"][0]["dynamodb"]["NewImage"]["list_on"]["S"])
    assert str(item["due_key"]).startswith(listed_on.isoformat())


def test_listing_requests_lost_in_an_outage_are_relisted_by_the_census_before_the_loans_are_due(
    stack: LocalStack, container: Container, make_cloud: CloudFactory
) -> None:
    # Given a daily census, and a review lister down for 48 hours from before three loans are onboarded
    stack.functions["SweepFunction"].environment["CENSUS_INTERVAL_DAYS"] = "1"
    cloud = make_cloud(utc(2026, 2, 20, 2))
    cloud.pause_stream(LISTER, cloud.clock + timedelta(hours=48))
    for n in range(3):
        loan = cn_cash_loan(f"L-{n}", due=DUE)
        register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()
    first: dict[str, date] = {}
    for n in range(3):
        onboarded = container.loans.get(f"L-{n}")
        assert onboarded is not None
        assert onboarded.next_review_on is not None
        first[onboarded.loan_id] = onboarded.next_review_on

    # When the lister comes back, its records past the stream's 24 hours are gone: nothing is listed
    cloud.advance_to(cloud.clock + timedelta(hours=49))
    cloud.settle()
    assert cloud.stream_records_expired == {LISTER: 3}
    assert due_items(stack) == []

    # When the daily sweeps (each after its census) run up to the loans' first review
    day = date(2026, 2, 23)
    reached: dict[str, date | None] = {}
    while day <= max(first.values()):
        sweep_on(cloud, day)
        for loan_id, due_on in first.items():
            if due_on == day:
                swept = container.loans.get(loan_id)
                assert swept is not None
                reached[loan_id] = swept.evaluated_on
        day += timedelta(days=1)

    # Then a census listed them again before they were due (they still carry onboarding's request),
    # and the sweep of their first review reached them on time
    assert isinstance(cloud.log, io.StringIO)
    relisted = [
        json.loads(line).get("requests_relisted", 0)
        for line in cloud.log.getvalue().splitlines()
        if '"census shard segment done"' in line
    ]
    assert sum(relisted) >= 3
    assert reached == first


def test_a_due_list_page_ends_before_the_entry_that_would_take_it_past_a_thousand_loans(
    stack: LocalStack,
) -> None:
    # Given three entries of a partition due on one date: 600, 300 and 200 loans
    due_list = DueList(boto3.resource("dynamodb").Table(stack.physical["ReviewDueTable"]))
    on = date(2026, 3, 2)
    for start, count in ((0, 600), (600, 300), (900, 200)):
        due_list.put(0, on, [f"L-{n:05d}" for n in range(start, start + count)])

    # When the sweep reads the partition's page by page
    pages, key = [], None
    while True:
        page = due_list.page(0, on, key, limit=20)
        pages.append(sorted(len(e.loan_ids) for e in page.entries))
        key = page.last_evaluated_key
        if key is None:
            break

    # Then no page holds more than a thousand loans, and every entry is read once
    assert all(sum(p) <= 1000 for p in pages)
    assert sorted(n for p in pages for n in p) == [200, 300, 600]


def test_a_loan_off_the_wheel_is_found_by_the_census_swept_that_day_and_rings_the_alarm(
    stack: LocalStack, container: Container, make_cloud: CloudFactory
) -> None:
    # Given a daily census, and a loan due on 2 March that nothing lists (its listing lost: written
    # parked, no request, no entry)
    stack.functions["SweepFunction"].environment["CENSUS_INTERVAL_DAYS"] = "1"
    cloud = make_cloud(utc(2026, 2, 20, 2))
    loan = cn_cash_loan("L-LOST", due=DUE)
    register(container, loan, borrower_for(loan), cloud.clock)
    onboarded = container.loans.get("L-LOST")
    assert onboarded is not None
    assert onboarded.next_review_on is not None
    container.loans.save(onboarded, parked=True)
    cloud.pause_stream(LISTER, cloud.clock + timedelta(days=2))  # its request lost with the stream
    cloud.advance_to(cloud.clock + timedelta(days=3))
    cloud.settle()
    assert due_items(stack) == []

    # When the sweep runs two days after the loan's first review date (after that day's census)
    late = onboarded.next_review_on + timedelta(days=2)
    sweep_on(cloud, late)

    # Then the census found it overdue and listed it for that day's sweep, which reached it, and the
    # OverdueReviews metric rang the timer-wheel-overdue alarm's metric (an EMF document, no loan id)
    swept = container.loans.get("L-LOST")
    assert swept is not None
    assert swept.evaluated_on == late
    assert isinstance(cloud.log, io.StringIO)
    documents = [
        json.loads(line)
        for line in cloud.log.getvalue().splitlines()
        if line.startswith("{") and '"OverdueReviews"' in line
    ]
    values = [d["OverdueReviews"] for d in documents]
    assert [v if isinstance(v, list) else [v] for v in values] == [[1]]
    assert documents[0]["service"] == "sweep-worker"
    assert "L-LOST" not in json.dumps(documents)
    assert "open loans whose review passed unswept" in cloud.log.getvalue()
