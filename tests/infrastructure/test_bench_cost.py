"""The benchmark's capacity-unit rules (benchmarks/cost.py): DynamoDB's sizing, not moto's constants."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.cost import CapacityMeter, IndexSchema, TableSchema, item_size, to_wire

REVIEW = IndexSchema(("review_shard", "next_review_on"), "INCLUDE", ("bucket",))
WHOLE = IndexSchema(("review_shard", "next_review_on"), "ALL")


def loan(**changes: Any) -> dict[str, Any]:
    item = {
        "loan_id": "L-1",
        "review_shard": 3,
        "next_review_on": "2026-06-15",
        "bucket": "M1",
        "pad": "x" * 600,
    }
    item.update(changes)
    return {k: to_wire(v) for k, v in item.items()}


def write(index: IndexSchema, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, float]:
    meter = CapacityMeter({"t": TableSchema(("loan_id",), {"Ix": index})})
    meter._write("t", old, new)
    return dict(meter.write_units)


def test_item_size_counts_names_and_values() -> None:
    assert item_size({"ab": {"S": "xyz"}}) == 5
    assert item_size({"n": {"N": "12345"}}) == 1 + 4  # 3 bytes for 5 digits, plus 1
    assert item_size({"m": {"M": {"k": {"BOOL": True}}}}) == 1 + 3 + 1 + 1 + 1


def test_a_moved_index_key_is_a_delete_and_a_put() -> None:
    assert write(REVIEW, loan(), loan(next_review_on="2026-06-20")) == {"t": 1, "t/Ix": 2}


def test_an_include_index_is_not_written_when_nothing_it_holds_changes() -> None:
    assert write(REVIEW, loan(), loan(pad="y" * 600)) == {"t": 1}
    assert write(WHOLE, loan(), loan(pad="y" * 600)) == {"t": 1, "t/Ix": 1}
    assert write(REVIEW, loan(), loan(bucket="M2")) == {"t": 1, "t/Ix": 1}


def test_whole_items_over_a_kilobyte_cost_two_units_everywhere() -> None:
    big = loan(pad="x" * 1100)
    assert write(WHOLE, None, big) == {"t": 2, "t/Ix": 2}
    assert write(REVIEW, None, big) == {"t": 2, "t/Ix": 1}
    assert write(WHOLE, big, None) == {"t": 2, "t/Ix": 2}  # leaving a sparse index is a delete


def test_reads_are_charged_per_4kb_and_halved_when_eventually_consistent() -> None:
    meter = CapacityMeter({"t": TableSchema(("loan_id",), {"Ix": REVIEW})})
    meter.seed(
        "t",
        [
            {"loan_id": f"L-{n}", "review_shard": 1, "next_review_on": "d", "pad": "x" * 900}
            for n in range(10)
        ],
    )
    page = {"TableName": "t", "IndexName": "Ix"}
    meter._on_Query(page, {"Items": [{"loan_id": f"L-{n}"} for n in range(10)]})
    batch = {"RequestItems": {"t": {"Keys": [{"loan_id": {"S": f"L-{n}"}} for n in range(10)]}}}
    meter._on_BatchGetItem(batch, {})
    assert meter.read_units == {"t/Ix": 0.5, "t": 5.0}


def test_the_due_list_at_full_flushes_is_priced_in_items() -> None:
    from benchmarks.model import due_list_units_per_listed_loan

    # one next date: a flush of 200 ids of 10 bytes is one 2,056-byte item (3 units), deleted once
    assert due_list_units_per_listed_loan({"2026-06-20": 7}, 200, 10) == pytest.approx(2 * 3 / 200)
    # 1,000 equally likely dates: an item per distinct date of the flush, E = D * (1 - (1 - 1/D)^200)
    spread = {f"d{n}": 1 for n in range(1_000)}
    distinct = 1_000 * (1 - (1 - 1 / 1_000) ** 200)
    assert due_list_units_per_listed_loan(spread, 200, 10) == pytest.approx(2 * distinct / 200)


def bench_day(
    listings: float, *, scan_read_units: float = 0.0, census_read_units: float = 0.0
) -> dict[str, Any]:
    """A day's sweep results as `benchmarks.run` writes them: 1,000 loans, 50 due, `listings` of them
    reached through the review lister's items (one loan an item: the lister put them, the sweep
    deleted them)."""
    empty: dict[str, Any] = {"requests": {}, "write_units": {}, "read_units": {}}
    return {
        "loans": 1_000,
        "shards": 2,
        "loans_due": 50,
        "segments": 1,
        "sweep_tasks": 1,
        "assess_ms_per_loan": 0.05,
        "from_index": 0,
        "from_lister": listings,
        "lister_put_units": float(listings),
        "census_items_read": 1_000,
        "flows_stock_items_read": 1,
        "flows_transitions": 0,
        "mean_item_bytes": 1000,
        "capacity": {
            "sweep": {
                **empty,
                "write_units": {"bench-loans": 50.0, "bench-review-due": float(listings)},
                "read_units": {"bench-loans": 25.0},
            },
            "census": {**empty, "read_units": {"bench-loans": census_read_units}},
            "flows": empty,
            "naive": {
                **empty,
                "write_units": {"bench-scan-writes": 50.0},
                "read_units": {"bench-loans": scan_read_units},
            },
            "index_storage_bytes": {},
        },
    }


def test_the_listers_puts_are_counted_on_arrears_side_only() -> None:
    from benchmarks.model import cost_section

    without, with_puts = cost_section(bench_day(0)), cost_section(bench_day(20))
    arrears = [
        c["designs"]["arrears"]["measured_book"]["write_units_per_loan_day"] for c in (without, with_puts)
    ]
    naive = [
        c["designs"]["naive_nightly_scan"]["measured_book"]["write_units_per_loan_day"]
        for c in (without, with_puts)
    ]
    # 20 lister items put a day on 1,000 loans: 0.02 write units per loan-day more for Arrears, none
    # for the Scan (besides the sweep's 20 deletes of them, 0.02 more)
    assert arrears[1] - arrears[0] == pytest.approx(0.04)
    assert naive[0] == naive[1]
    assert with_puts["write_units_by_table_and_index"]["arrears_lister_puts"] == {"bench-review-due": 20.0}


def test_a_listing_costs_an_item_alone_and_a_share_of_one_with_a_relisting_in_a_batch() -> None:
    from benchmarks.model import due_list_units_per_listed_loan, lister_batch_loans, lister_units_per_listing

    dates = {"2026-06-20": 5, "2026-06-27": 5}
    # alone: its own item, written and deleted (what a ReviewIndex entry cost: a put and a delete)
    assert lister_units_per_listing(1, dates, 1000, 10) == {"write_units": 2.0, "read_units": 0.0}
    # 95 ids of 10 bytes: one 1,006-byte item for the batch; 94 of them read on its date and listed
    # again in the sweep's full flushes
    flush = due_list_units_per_listed_loan(dates, 1000, 10)
    batch = lister_units_per_listing(95, dates, 1000, 10)
    assert batch["write_units"] == pytest.approx(2 / 95 + 94 / 95 * flush)
    assert batch["read_units"] == pytest.approx(94 / 95 * 0.5)
    # 110,000 listings a day over 4 stream shards and a 300 s window: 95 a batch; a few: one
    assert lister_batch_loans(110_000, 4) == 95
    assert lister_batch_loans(22, 1) == 1


def test_the_bill_against_the_scan_adds_up_and_its_break_evens_are_where_the_bills_meet() -> None:
    from benchmarks.model import bill_against_scan, cost_section

    day = bench_day(10, scan_read_units=125.0, census_read_units=125.0)
    bill = bill_against_scan(day, 2, 1.0)
    designs = cost_section(day)["designs"]
    assert bill["arrears_total"] == pytest.approx(
        designs["arrears"]["measured_book"]["dynamodb_per_1000_loans_usd_per_month"], abs=2e-6
    )
    assert bill["naive_total"] == pytest.approx(
        designs["naive_nightly_scan"]["measured_book"]["dynamodb_per_1000_loans_usd_per_month"], abs=2e-6
    )
    # 10 loans listed a day on 1,000 loans, an item each (put, then deleted by the sweep)
    assert bill["listings_per_1000_loans_day"] == pytest.approx(10)
    assert bill["write_units_per_listing"] == pytest.approx(2)
    even = bill["listings_break_even_per_1000_loans_day"]
    assert even is not None
    assert 0 < even < 10
    # with the break-even's listings (a fractional count is fine for the model) the bills meet
    at_even = bill_against_scan(bench_day(even, scan_read_units=125.0, census_read_units=125.0), 2, 1.0)
    assert at_even["arrears_total"] == pytest.approx(at_even["naive_total"], rel=1e-6)
    # the item size: the Scan's and the census's read units grow with the item, nothing else does
    size = bill["loan_item_bytes_break_even"]
    assert size is not None
    assert size > 1000
    k = size / 1000
    bigger = bill_against_scan(bench_day(10, scan_read_units=125.0 * k, census_read_units=125.0 * k), 2, 1.0)
    assert bigger["arrears_total"] == pytest.approx(bigger["naive_total"], rel=1e-3)
    # a Scan that reads nothing the census does not: no size where the Scan costs more
    assert (
        bill_against_scan(bench_day(10, scan_read_units=10.0, census_read_units=10.0), 2, 1.0)[
            "loan_item_bytes_break_even"
        ]
        is None
    )


def modelled_day(listings: float) -> dict[str, Any]:
    """`bench_day` with what the model scales from: the next review dates the sweep wrote, the
    flush, the ids' length and the census's relisting."""
    day = bench_day(listings, scan_read_units=125.0, census_read_units=125.0)
    day.update(
        {
            "page_size": 200,
            "flush_loans": 1000,
            "loan_id_bytes": 10.0,
            "next_review_dates": {"2026-06-16": 20, "2026-06-22": 20, "2026-07-15": 10},
            "due_listed": 50,
            "census_relisted": 20,
        }
    )
    return day


def test_the_shards_of_a_book_and_its_flushes_follow_its_size() -> None:
    from benchmarks.model import flush_fill, shards_for, stream_shards_for

    assert (shards_for(200), shards_for(9_999_999), shards_for(10_000_000)) == (16, 16, 64)
    assert (stream_shards_for(200), stream_shards_for(2_500_000), stream_shards_for(10_000_000)) == (1, 1, 4)
    day = modelled_day(10)
    # 50 due loans of 1,000 in one task: a flush of 50; ten million loans over 64 shards: 500
    # tasks of 20,000 loans, 1,000 due each, a full flush
    assert flush_fill(day, 1.0) == 50
    assert flush_fill(day, 10_000) == 1000


def test_the_bill_by_book_size_prices_each_book_and_finds_where_the_model_crosses_the_scan() -> None:
    from benchmarks.model import bill_against_scan, bill_by_book

    main, small = modelled_day(11), modelled_day(11)
    small["loans"] = 200
    by_book = bill_by_book(main, [small])
    assert [row["loans"] for row in by_book["measured"]] == [200, 1000]
    assert by_book["measured"][1]["arrears"] == bill_against_scan(main, 2, 1.0)["arrears_total"]
    assert by_book["modelled"][0]["loans"] == 1000
    assert by_book["modelled"][-1]["loans"] == 10_000_000
    even = by_book["break_even_loans"]
    assert even is not None
    assert 1000 < even <= 10_000_000
    # below the Scan at the break-even, above it 2 % smaller (the search's steps are 1 %)
    at = bill_against_scan(main, 16, even / 1000, modelled=True)
    before = bill_against_scan(main, 16, even / 1.02 / 1000, modelled=True)
    assert at["arrears_total"] < at["naive_total"]
    assert before["arrears_total"] >= before["naive_total"]
    # a book whose listings cost more than the Scan saves, at any size: no break-even
    assert bill_by_book(modelled_day(1000))["break_even_loans"] is None
