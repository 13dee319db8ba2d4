"""The daily open-loan census: tally, continuation, the claim, the task body and malformed bodies."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.adapters.dynamodb import CensusPage
from arrears.adapters.items import MalformedItem, census_review_from_item, census_row_from_item
from arrears.adapters.sweep_runs import CensusClaim
from arrears.config.playbook import bundled_playbook
from arrears.config.settings import ConfigurationError, load_settings
from arrears.usecases.census import (
    CensusRow,
    CensusTask,
    census_rows,
    count_shard,
    counts_from_body,
    counts_to_body,
    parse_task,
    run_census_task,
    tally,
)
from arrears.usecases.sweep import SweepTask
from tests.unit.memory_loans import MemoryDueList

AT = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 Shanghai on 2 March
BUCKETS = ("M0", "M1", "M2", "M3", "M4+")
JURISDICTIONS = ("CN", "US-REGF")


class ShardInMemory:
    """A shard of the ReviewIndex in memory, paged like Query with Limit (keys: loan ids in order)."""

    def __init__(
        self,
        rows: Sequence[tuple[str, str]],
        reviews: Mapping[int, tuple[date, date | None]] | None = None,
    ) -> None:
        self.rows = list(rows)
        # row number (the loan id) -> (its next review date, its listing request or None)
        self.reviews = dict(reviews or {})
        self.pages_served = 0
        self.due_list = MemoryDueList()

    def census_page(
        self, shard: int, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> CensusPage:
        begin = int(start_key["loan_id"]) + 1 if start_key else 0
        page = self.rows[begin : begin + limit]
        self.pages_served += 1
        last = begin + len(page) - 1
        more = begin + limit < len(self.rows)
        key = {"review_shard": shard, "next_review_on": "2026-03-05", "loan_id": str(last)} if more else None
        reviews = [(str(n), *self.reviews[n]) for n in range(begin, begin + len(page)) if n in self.reviews]
        return CensusPage(page, len(page), key, reviews)


class ListQueue:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def send(self, bodies: Sequence[Mapping[str, Any]]) -> int:
        self.bodies.extend(json.loads(json.dumps(dict(b))) for b in bodies)  # as SQS carries them
        return len(bodies)


class Ledger:
    """The run ledger's census claims: each (date, shard) once, its counts added to the date's totals."""

    def __init__(self) -> None:
        self.claims: set[tuple[date, int]] = set()
        self.expiries: list[int] = []
        self.totals: Counter[tuple[str, str]] = Counter()

    def claim_census_counts(
        self,
        business_date: date,
        shard: int,
        expires_at: int,
        counts: Mapping[tuple[str, str], int],
        *,
        shard_count: int,
    ) -> CensusClaim:
        self.expiries.append(expires_at)
        if (business_date, shard) in self.claims:
            counted = {s for d, s in self.claims if d == business_date}
            return CensusClaim(
                claimed=False, totals=dict(self.totals) if counted >= set(range(shard_count)) else None
            )
        self.claims.add((business_date, shard))
        self.totals.update(counts)
        counted = {s for d, s in self.claims if d == business_date}
        complete = counted >= set(range(shard_count))
        totals = dict(self.totals) if complete else None
        return CensusClaim(
            claimed=True, totals=totals, snapshot={} if complete else None, completed_now=complete
        )


def budget(pages: int) -> Callable[[], bool]:
    """A time check that lets a segment read `pages` pages, then says time is up."""
    calls = iter(range(pages - 1))
    return lambda: next(calls, None) is not None


rows_strategy = st.lists(st.tuples(st.sampled_from(JURISDICTIONS), st.sampled_from(BUCKETS)), max_size=40)


# --------------------------------------------------------------------------------------------------
# Tally and continuation
# --------------------------------------------------------------------------------------------------
def test_tally_adds_one_per_row_and_leaves_its_input_alone() -> None:
    start = {("CN", "M1"): 2}
    total = tally(start, [("CN", "M1"), ("US-REGF", "M0"), ("CN", "M1")])
    assert total == {("CN", "M1"): 4, ("US-REGF", "M0"): 1}
    assert start == {("CN", "M1"): 2}


@settings(max_examples=60, deadline=None)
@given(rows=rows_strategy, page_size=st.integers(1, 7), stop_after=st.integers(1, 4))
def test_a_census_in_segments_counts_what_one_pass_counts(
    rows: list[tuple[str, str]], page_size: int, stop_after: int
) -> None:
    shard = ShardInMemory(rows)
    truth = Counter(rows)

    # One pass with all the time in the world
    whole = count_shard(shard, 3, page_size=page_size)
    assert whole.continuation is None
    assert whole.counts == truth
    assert whole.items_read == whole.counted == len(rows)

    # Segments that run out of time every `stop_after` pages, resumed from start_key and the partial counts
    key: dict[str, Any] | None = None
    counts: dict[tuple[str, str], int] = {}
    segments = read = 0
    while True:
        part = count_shard(
            shard, 3, start_key=key, counts=counts, has_time_left=budget(stop_after), page_size=page_size
        )
        segments += 1
        read += part.items_read
        assert part.pages >= 1  # progress on every segment
        counts, key = part.counts, part.continuation
        if key is None:
            break
    assert counts == truth
    assert read == len(rows)  # no page read twice
    assert segments == max(1, -(-len(rows) // (page_size * stop_after)))


def test_a_segment_always_reads_a_page_even_without_time() -> None:
    shard = ShardInMemory([("CN", "M0")] * 5)
    part = count_shard(shard, 0, has_time_left=lambda: False, page_size=2)
    assert (part.counted, part.pages, part.continuation) == (
        2,
        1,
        {"review_shard": 0, "next_review_on": "2026-03-05", "loan_id": "1"},
    )


# --------------------------------------------------------------------------------------------------
# Rows to emit
# --------------------------------------------------------------------------------------------------
def test_rows_cover_every_bucket_of_every_jurisdiction_of_the_policy_with_zeros() -> None:
    assert bundled_playbook().jurisdictions == JURISDICTIONS
    assert bundled_playbook().buckets.names == BUCKETS
    rows = census_rows({("CN", "M2"): 4, ("US-REGF", "M0"): 1}, bundled_playbook())
    assert [(r.jurisdiction, r.bucket) for r in rows] == [(j, b) for j in JURISDICTIONS for b in BUCKETS]
    assert {(r.jurisdiction, r.bucket): r.count for r in rows if r.count} == {
        ("CN", "M2"): 4,
        ("US-REGF", "M0"): 1,
    }


def test_pairs_outside_the_policy_are_counted_too() -> None:
    rows = census_rows({("JP", "M1"): 2, ("CN", "M9"): 1}, bundled_playbook())
    assert CensusRow("JP", "M1", 2) in rows
    assert CensusRow("JP", "M0", 0) in rows  # a jurisdiction the shard holds gets the policy's buckets
    assert CensusRow("CN", "M9", 1) in rows
    assert len(rows) == 3 * len(BUCKETS) + 1
    assert sum(r.count for r in rows) == 3


def test_an_empty_shard_emits_zeros_only() -> None:
    rows = census_rows({}, bundled_playbook())
    assert len(rows) == len(JURISDICTIONS) * len(BUCKETS)
    assert all(r.count == 0 for r in rows)


def test_an_index_item_without_bucket_counts_as_m0_one_without_jurisdiction_is_malformed() -> None:
    assert census_row_from_item({"loan_id": "L-1", "jurisdiction": "CN"}) == ("CN", "M0")
    assert census_row_from_item({"loan_id": "L-1", "jurisdiction": "CN", "bucket": "M3"}) == ("CN", "M3")
    with pytest.raises(MalformedItem, match="L-2"):
        census_row_from_item({"loan_id": "L-2", "bucket": "M1"})


# --------------------------------------------------------------------------------------------------
# The task: continuation, claim, emission
# --------------------------------------------------------------------------------------------------
def test_a_census_task_continues_with_its_partial_counts_then_claims_once() -> None:
    # Given a shard of 5 loans read 2 at a time, and a worker that has time for one page per segment
    shard = ShardInMemory([("CN", "M1"), ("CN", "M1"), ("US-REGF", "M0"), ("CN", "M4+"), ("CN", "M1")])
    queue, ledger = ListQueue(), Ledger()
    task = CensusTask(AT, 3, 16)

    # When each segment's continuation is run in turn
    outcomes = []
    while True:
        outcome = run_census_task(
            task,
            loans=shard,
            playbook=bundled_playbook(),
            queue=queue,
            runs=ledger,
            has_time_left=lambda: False,
            page_size=2,
        )
        outcomes.append(outcome)
        if not queue.bodies:
            break
        continuation = parse_task(json.dumps(queue.bodies.pop()))
        assert isinstance(continuation, CensusTask)
        assert continuation.counts == outcome.result.counts  # the partial counts travel with it
        task = continuation

    # Then three segments ran, the last claimed (business date 2 March, shard 3) and added its counts
    assert [o.re_enqueued for o in outcomes] == [True, True, False]
    assert [o.claimed for o in outcomes] == [False, False, True]
    assert ledger.claims == {(date(2026, 3, 2), 3)}
    assert ledger.expiries == [int(datetime(2026, 5, 30, 16, 30, tzinfo=UTC).timestamp())]  # 90 days
    assert ledger.totals == {("CN", "M1"): 3, ("US-REGF", "M0"): 1, ("CN", "M4+"): 1}
    assert outcomes[-1].result.total == 5
    assert all(o.totals is None for o in outcomes)  # 15 other shards of the date still to count

    # When the final segment is delivered again
    again = run_census_task(
        task, loans=shard, playbook=bundled_playbook(), queue=queue, runs=ledger, page_size=2
    )

    # Then it claims nothing and adds nothing
    assert (again.claimed, again.totals, again.re_enqueued) == (False, None, False)
    assert ledger.totals == {("CN", "M1"): 3, ("US-REGF", "M0"): 1, ("CN", "M4+"): 1}
    assert not queue.bodies


def test_the_census_lists_overdue_reviews_and_open_listing_requests_for_the_sweeps_to_come() -> None:
    # Given a shard whose loans are due: two days ago (off the wheel: no sweep reached it), the day
    # before the run's date (a jurisdiction a day behind: not yet due), tomorrow with a listing request
    # still on the item (maybe lost by the lister), in ten days with one (after the next census) and
    # tomorrow with none (listed by the sweep), read over pages
    run_date = CensusTask(AT, 0, 1).run_date
    day = timedelta(days=1)
    shard = ShardInMemory(
        [("CN", "M1"), ("US-REGF", "M1"), ("CN", "M0"), ("CN", "M0"), ("CN", "M0"), ("CN", "M0")],
        {
            0: (run_date - 2 * day, None),
            1: (run_date - day, None),
            2: (run_date + day, run_date + day),
            3: (run_date + 10 * day, run_date + 10 * day),
            4: (run_date + day, None),
        },
    )

    # When its census runs, a segment at a time, relisting requests due within the week
    outcomes, task = [], CensusTask(AT, 0, 1, relist_through=run_date + 7 * day)
    while True:
        outcome = run_census_task(
            task,
            loans=shard,
            playbook=bundled_playbook(),
            queue=ListQueue(),
            runs=Ledger(),
            has_time_left=lambda: False,
            page_size=1,
        )
        outcomes.append(outcome)
        if outcome.result.continuation is None:
            break
        task = task.continued(outcome.result.continuation, outcome.result.counts)

    # Then the overdue loan is listed under the run's date, the request due within the week under its
    # own date, nothing else; and every loan is counted
    assert [o.result.overdue for o in outcomes] == [["0"], [], [], [], [], []]
    assert shard.due_list.dates_of("0") == {run_date}
    assert shard.due_list.dates_of("2") == {run_date + day}
    assert {loan_id for (_, _), ids in shard.due_list.items.items() for loan_id in ids} == {"0", "2"}
    assert sum(outcomes[-1].result.counts.values()) == 6


def test_a_census_task_carries_its_relisting_horizon_through_its_continuations() -> None:
    task = CensusTask(AT, 3, 16, sweep_after=True, relist_through=date(2026, 3, 9))
    body = json.loads(json.dumps(task.to_body()))
    assert body["relist_through"] == "2026-03-09"
    parsed = parse_task(json.dumps(body))
    assert parsed == task
    assert isinstance(parsed, CensusTask)
    assert parsed.continued({"loan_id": "L-9"}, {}).relist_through == date(2026, 3, 9)
    with pytest.raises(MalformedItem, match="relist_through"):
        parse_task(json.dumps({**body, "relist_through": "next week"}))


def test_the_census_of_the_last_shard_gets_the_totals_of_the_book() -> None:
    # Given two shards counted, one of them redelivered
    ledger, queue = Ledger(), ListQueue()
    shards = {0: ShardInMemory([("CN", "M1"), ("CN", "M0")]), 1: ShardInMemory([("CN", "M0")])}
    first = run_census_task(
        CensusTask(AT, 0, 2), loans=shards[0], playbook=bundled_playbook(), queue=queue, runs=ledger
    )
    again = run_census_task(
        CensusTask(AT, 0, 2), loans=shards[0], playbook=bundled_playbook(), queue=queue, runs=ledger
    )
    last = run_census_task(
        CensusTask(AT, 1, 2), loans=shards[1], playbook=bundled_playbook(), queue=queue, runs=ledger
    )
    # Then only the last shard's claim gets the totals, each shard counted once
    assert (first.totals, again.totals) == (None, None)
    assert last.totals == {("CN", "M1"): 1, ("CN", "M0"): 2}


def test_a_census_day_task_keeps_its_order_across_continuations_and_completes_once() -> None:
    # Given the census tasks of a census day (the sweep after), two segments, one read in two parts
    shard = ShardInMemory([("CN", "M1"), ("CN", "M0"), ("CN", "M0")])
    queue, ledger = ListQueue(), Ledger()
    first = run_census_task(
        CensusTask(AT, 0, 2, sweep_after=True),
        loans=shard,
        playbook=bundled_playbook(),
        queue=queue,
        runs=ledger,
        has_time_left=lambda: False,
        page_size=2,
    )
    # Then the continuation keeps the order (count, then sweep)
    (continuation,) = queue.bodies
    assert first.re_enqueued
    assert continuation["sweep_after"] is True
    queue.bodies.clear()
    resumed = parse_task(json.dumps(continuation))
    assert isinstance(resumed, CensusTask)
    assert resumed.sweep_after
    one = run_census_task(resumed, loans=shard, playbook=bundled_playbook(), queue=queue, runs=ledger)
    other = run_census_task(
        CensusTask(AT, 1, 2, sweep_after=True),
        loans=ShardInMemory([("CN", "M1")]),
        playbook=bundled_playbook(),
        queue=queue,
        runs=ledger,
    )
    # And only the segment that completes the date has the totals and reconciles; nothing is sent
    assert (one.completed, one.completed_now) == (False, False)
    assert (other.completed, other.completed_now) == (True, True)
    assert other.totals == {("CN", "M1"): 2, ("CN", "M0"): 2}
    assert queue.bodies == []


# --------------------------------------------------------------------------------------------------
# Message bodies
# --------------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    shard=st.integers(0, 63),
    counts=st.dictionaries(
        st.tuples(st.sampled_from(JURISDICTIONS), st.sampled_from(BUCKETS)), st.integers(0, 10**7)
    ),
    keyed=st.booleans(),
)
def test_a_census_task_survives_the_queue(
    shard: int, counts: dict[tuple[str, str], int], keyed: bool
) -> None:
    key = {"loan_id": "L-000042", "review_shard": shard, "next_review_on": "2026-04-01"} if keyed else None
    task = CensusTask(AT, shard, 64, key, counts)
    text = json.dumps(task.to_body(), sort_keys=True)
    assert parse_task(text) == task
    assert json.loads(text)["kind"] == "census"
    assert counts_from_body(counts_to_body(counts)) == counts


def test_a_body_without_kind_is_a_sweep_task_as_before() -> None:
    body = '{"business_time": "2026-03-01T16:30:00Z", "shard": 0, "shard_count": 16}'
    assert parse_task(body) == SweepTask(AT, 0, 16)
    assert parse_task(json.dumps({**json.loads(body), "kind": "sweep"})) == SweepTask(AT, 0, 16)
    assert "kind" not in SweepTask(AT, 0, 16).to_body()  # sweep bodies are unchanged


CENSUS = {"kind": "census", "business_time": "2026-03-01T16:30:00Z", "shard": 1, "shard_count": 16}


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "",
        "[1, 2]",
        '"census"',
        json.dumps({**CENSUS, "kind": "tally"}),
        json.dumps({**CENSUS, "kind": None}),
        json.dumps({k: v for k, v in CENSUS.items() if k != "business_time"}),
        json.dumps({**CENSUS, "business_time": "yesterday"}),
        json.dumps({**CENSUS, "shard": 16}),
        json.dumps({**CENSUS, "shard": "1"}),
        json.dumps({**CENSUS, "shard": True}),
        json.dumps({**CENSUS, "start_key": "L-1"}),
        json.dumps({**CENSUS, "counts": [["CN", "M1", 3]]}),
        json.dumps({**CENSUS, "counts": {"CN": {"M1": -1}}}),
        json.dumps({**CENSUS, "counts": {"CN": {"M1": 2.5}}}),
        json.dumps({**CENSUS, "counts": {"CN": {"M1": True}}}),
        json.dumps({**CENSUS, "counts": {"CN": 3}}),
        json.dumps({**CENSUS, "counts": {"": {"M1": 3}}}),
        json.dumps({"shard": "x"}),
        json.dumps({**CENSUS, "sweep_after": "yes"}),
        json.dumps({k: v for k, v in CENSUS.items() if k != "kind"} | {"last_shard": 0}),
        json.dumps({k: v for k, v in CENSUS.items() if k != "kind"} | {"last_shard": 16}),
        json.dumps({k: v for k, v in CENSUS.items() if k != "kind"} | {"last_shard": "3"}),
    ],
)
def test_a_malformed_body_raises_malformed_item(body: str) -> None:
    with pytest.raises(MalformedItem):
        parse_task(body)


# --------------------------------------------------------------------------------------------------
# The switch
# --------------------------------------------------------------------------------------------------
GLOBALS = (
    "LOANS_TABLE",
    "BORROWERS_TABLE",
    "ACTIONS_TABLE",
    "CONTACTS_TABLE",
    "IDEMPOTENCY_TABLE",
    "ARCHIVE_CHAIN_TABLE",
    "REMINDERS_TOPIC_ARN",
    "FIELD_VISIT_QUEUE_URL",
    "ARCHIVE_BUCKET",
    "ARCHIVE_KMS_KEY_ID",
    "TOKEN_SECRET_ARN",
)
BASE_ENV = dict.fromkeys(GLOBALS, "x")


def test_the_census_is_on_unless_the_environment_turns_it_off() -> None:
    assert load_settings(BASE_ENV).census_enabled
    assert load_settings({**BASE_ENV, "OPEN_LOAN_CENSUS": "Enabled"}).census_enabled
    assert not load_settings({**BASE_ENV, "OPEN_LOAN_CENSUS": "Disabled"}).census_enabled
    with pytest.raises(ConfigurationError, match="OPEN_LOAN_CENSUS"):
        load_settings({**BASE_ENV, "OPEN_LOAN_CENSUS": "off"})


def test_a_census_item_with_a_date_that_is_not_a_date_is_malformed_and_names_its_loan() -> None:
    assert census_review_from_item({"loan_id": "L-1", "next_review_on": "2026-03-05"}) == (
        "L-1",
        date(2026, 3, 5),
        None,
    )
    with pytest.raises(MalformedItem, match="loan L-1: next_review_on or list_on"):
        census_review_from_item({"loan_id": "L-1", "next_review_on": "2026-03-05", "list_on": "soon"})
