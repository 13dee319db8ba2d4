"""The bill of one day's detection, from the benchmark's own counts, for Arrears and the naive design.

Arrears: the timer-wheel sweep (ceil(open loans / `sweep_loans_per_task`) tasks, at most one per
shard, continuations included), the stock kept from flows (the planner's counter write per bucket
transition, the sweep start's read of the stock) and the reconciliation census (one task per shard)
every `census_interval_days`, as `sweep_section` ran them. The naive design:
one scheduled function that Scans the whole Loans table (no ReviewIndex), assesses every open loan
and overwrites the ones whose state changed, as `run_scan` ran it on the same book.

Like for like: what both designs write identically for the same changed loans (each change's delinquency
history append and bureau facts, on the DelinquencyHistory table, measured as `both_designs`) is
excluded from both sides and reported apart (`both_designs_history`); the stock counters are Arrears'
own (the naive Scan counts the stock as it reads the book), and so are ReviewIndex, the due list and
the run ledger. Both are priced at `benchmarks.prices`; what the benchmark cannot measure on moto is
an assumption written in `ASSUMPTIONS` below. Costs are split into a fixed part (what a day costs whatever the
book: invocations and messages per shard, the run ledger, the queue's idle polling) and a per-loan
part (DynamoDB units, index storage, Lambda time), and extrapolated to ten million loans at the
same milestone rate: the per-loan part linearly except the due list and the run ledger, which are
counted in items (`due_list_units_per_listed_loan`, `_arrears_day`), the fixed part at the shard count
docs/scaling.md recommends for that book.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.prices import as_json, price

ASSUMPTIONS: dict[str, Any] = {
    "request_ms": 10,  # one DynamoDB request from Lambda on AWS (docs/scaling.md's planning figure)
    "lambda_memory_gb": 0.5,  # the functions' MemorySize (template.yaml Globals)
    "days_per_month": 30,
    "sqs_requests_per_task": 3,  # sent (in batches of 10 for the fan-out: counted as 1), received, deleted
    "sqs_idle_receives_per_day": 5 * 3 * 60 * 24,  # 5 event-source pollers, 20 s long polls
    "lambda_max_seconds": 900,  # one invocation's limit: the naive Scan needs more as the book grows
    "large_book_loans": 10_000_000,
    "large_book_shards": 64,  # docs/scaling.md, "Shards"
    "census_interval_days": 7,  # template.yaml CensusIntervalDays (the reconciliation census)
    "review_listing_window_s": 300,  # template.yaml ReviewListingWindowSeconds (the lister's batching window)
    # Stream shards of the Loans table at 10 M loans: about one per table partition (8.7 GB of items,
    # ~4,000 write units a second at the sweep's peak: 4 partitions of 1,000 WCU); the lister's batches
    # gather each shard's writes over the window
    "large_book_stream_shards": 4,
    "sweep_loans_per_task": 20_000,  # template.yaml SweepLoansPerTask
    # the retention review's PutObjectRetention calls in short-lock stages, default demo (200 loans x 60 days)
    "retention_put_calls_default_demo": 14_072,
    "default_demo_loan_days": 200 * 60,
}


def sweep_tasks(loans: float, shards: int) -> int:
    """The day's sweep tasks: `arrears.usecases.sweep.task_count` with the template's default."""
    from arrears.usecases.sweep import task_count

    return task_count(int(loans), shards, int(ASSUMPTIONS["sweep_loans_per_task"]))


def invocations_per_day(loans: float, shards: int) -> dict[str, float]:
    """Lambda invocations of a day's detection (schedule, tasks; continuations not included), before
    (a task per shard, then a census task per shard, every day) and after (tasks sized from the book,
    the census every `census_interval_days`)."""
    interval = float(ASSUMPTIONS["census_interval_days"])
    return {
        "before": 1 + shards + shards,
        "after": round(1 + sweep_tasks(loans, shards) + shards / interval, 2),
    }


def shards_for(loans: float) -> int:
    """Review shards of a book: the template's default ShardCount (16) below ten million loans, the
    `large_book_shards` docs/scaling.md recommends at that size ("Shards")."""
    return int(ASSUMPTIONS["large_book_shards"]) if loans >= ASSUMPTIONS["large_book_loans"] else 16


def stream_shards_for(loans: float) -> int:
    """Stream shards of the Loans table at `loans` open loans: about one per table partition, so
    `large_book_stream_shards` at `large_book_loans` and in proportion below it, at least one (a book
    of up to 2.5 M loans has one)."""
    big = float(ASSUMPTIONS["large_book_loans"])
    return max(1, math.ceil(int(ASSUMPTIONS["large_book_stream_shards"]) * loans / big))


RUNS_TABLE = "bench-sweep-runs"
DUE_TABLE = "bench-review-due"
INDEX_PREFIX = "bench-loans/ReviewIndex"


def due_item_bytes(ids: int, id_bytes: float) -> float:
    """DynamoDB size of a due-list item listing `ids` loan ids of `id_bytes` each: the names
    `review_shard`, `due_key`, `loan_ids` (27 bytes), a shard number (2), the key
    `YYYY-MM-DD#<16 hex>` (27) and the string set's strings (`benchmarks.cost.item_size`)."""
    return 27 + 2 + 27 + ids * id_bytes


def due_list_units_per_listed_loan(next_dates: Mapping[str, int], flush_loans: int, id_bytes: float) -> float:
    """Write units of the due list per loan the sweep lists, when it writes `flush_loans` loans at a
    time (a full flush, `arrears.usecases.sweep.FLUSH_PAGES` pages), whose next review dates fall as
    in `next_dates` (the count of the day's written loans per next review date, measured on the
    benchmark's book).

    A flush writes one item per distinct date among its loans; date `d` (share `p_d`) holds
    `n ~ Binomial(flush_loans, p_d)` of them and costs ceil(size(n) / 1 KB) write units
    (`due_item_bytes`). Every item is deleted once when the sweep has settled it, a delete charged
    on the same size: per listed loan,
    `2 * Σ_d Σ_{n≥1} P(n) * ceil(size(n) / 1024) / flush_loans`. A small book's flush holds fewer loans
    than `flush_loans` (the day's due loans of a task), so this is for a book whose tasks fill
    their flushes (10 M loans: 7,800 due loans a task at 5 %)."""
    total = sum(next_dates.values())
    if total <= 0 or flush_loans <= 0:
        return 0.0
    units = 0.0
    for count in next_dates.values():
        p = count / total
        for n in range(1, flush_loans + 1):
            chance = math.comb(flush_loans, n) * p**n * (1 - p) ** (flush_loans - n)
            if chance < 1e-12 and n > flush_loans * p:
                break
            units += chance * math.ceil(due_item_bytes(n, id_bytes) / 1024)
    return 2 * units / flush_loans


def _sum(units: Mapping[str, float], prefix: str = "", exclude: str | None = None) -> float:
    return sum(
        v for k, v in units.items() if k.startswith(prefix) and (exclude is None or not k.startswith(exclude))
    )


def _requests(summary: Mapping[str, Any], service: str = "dynamodb") -> int:
    return sum(v for k, v in summary["requests"].items() if k.startswith(f"{service}:"))


def _lambda_usd(seconds: float, invocations: float) -> float:
    gb_s = seconds * float(ASSUMPTIONS["lambda_memory_gb"])
    return gb_s * price("lambda_gb_second_arm64") + invocations * price("lambda_request")


def _dynamodb_usd(
    write_units: float, read_units: float, stored_bytes: float = 0.0, days: float = 1.0
) -> float:
    month = float(ASSUMPTIONS["days_per_month"])
    storage = stored_bytes / 1e9 * price("dynamodb_storage_gb_month") * days / month
    return (
        write_units * price("dynamodb_write_request_unit")
        + read_units * price("dynamodb_read_request_unit")
        + storage
    )


def lister_batch_loans(listings_per_day: float, stream_shards: int) -> int:
    """Loans a review lister batch lists: the listings of one stream shard over the batching window
    (`review_listing_window_s`), at least one. At 10 M loans, 11 listings a day per 1,000 loans over
    4 shards: 95 a batch; on a book of a few thousand loans, one."""
    window = float(ASSUMPTIONS["review_listing_window_s"])
    return max(1, round(listings_per_day * window / 86_400 / max(stream_shards, 1)))


def lister_units_per_listing(
    batch_loans: int, next_dates: Mapping[str, int], flush_loans: int, id_bytes: float
) -> dict[str, float]:
    """Write and read units per loan the review lister lists, in batches of `batch_loans`
    (`arrears.usecases.review_listing`): the batch's item, written once and deleted once by the sweep
    (charged on its size, `due_item_bytes`), shared by its loans; and for each loan but the one due on
    the item's date (the batch's earliest), the sweep's read of it on that date (0.5 read units,
    BatchGetItem) and its share of the full flush that lists it again under its own date
    (`due_list_units_per_listed_loan`, with the next dates the sweep wrote). A batch of one is the
    loan's own date: an item written and deleted, 2 write units, what a ReviewIndex entry cost."""
    if batch_loans < 1:
        return {"write_units": 0.0, "read_units": 0.0}
    item = 2 * math.ceil(due_item_bytes(batch_loans, id_bytes) / 1024) / batch_loans
    relisted = (batch_loans - 1) / batch_loans
    flush = due_list_units_per_listed_loan(next_dates, flush_loans, id_bytes) if relisted else 0.0
    return {"write_units": item + relisted * flush, "read_units": relisted * 0.5}


def listing_units(
    sweep: Mapping[str, Any], scale: float, stream_shards: int, modelled: bool | None = None
) -> dict[str, float]:
    """The review lister's units of a day (Arrears' own: the naive design needs no listing). In a steady
    state as many loans are listed a day as the sweep reaches through the lister's items
    (`from_lister`: new loans, and loans an event brought forward). On the measured book the bench
    listed them in its own batches (`lister_batch`) and the sweep's reads, relists and deletes of
    them are in its counts: this is the lister's puts of those items (`lister_put_units`). Scaled up,
    the batches are `lister_batch_loans` at the larger book's rate and the whole cost per listing is
    `lister_units_per_listing` (put, delete, read and relist), the relisting in flushes as full as
    the larger book's tasks fill them (`flush_fill`). `modelled` (default: `scale` is not 1) prices
    the measured book with the model too."""
    if not (scale != 1.0 if modelled is None else modelled):
        return {"write_units": float(sweep.get("lister_put_units", 0.0)), "read_units": 0.0}
    listings = float(sweep.get("from_lister", 0)) * scale
    if not listings or not sweep.get("next_review_dates"):
        return {"write_units": 0.0, "read_units": 0.0}
    batch = lister_batch_loans(listings, stream_shards)
    per = lister_units_per_listing(
        batch, sweep["next_review_dates"], flush_fill(sweep, scale), float(sweep.get("loan_id_bytes", 10))
    )
    return {"write_units": per["write_units"] * listings, "read_units": per["read_units"] * listings}


def _flush_loans(sweep: Mapping[str, Any]) -> int:
    """Loans a full flush of the sweep lists (`arrears.usecases.sweep.FLUSH_PAGES` pages)."""
    return int(sweep.get("flush_loans", sweep["page_size"]))


def flush_fill(sweep: Mapping[str, Any], scale: float) -> int:
    """Loans a flush of the sweep lists on a book `scale` times the measured one: a full flush
    (`_flush_loans`) once a task has that many due loans, else the due loans of a task (the day's
    due loans over `sweep_tasks`), at least one. Ten million loans fill every flush; a book of a
    few thousand does not, and its items hold a few ids each."""
    loans = float(sweep["loans"]) * scale
    due_per_task = float(sweep["loans_due"]) * scale / sweep_tasks(loans, shards_for(loans))
    return max(1, min(_flush_loans(sweep), round(due_per_task)))


LOANS_TABLE = "bench-loans"


def arrears_parts(
    sweep: Mapping[str, Any], shards: int, scale: float, modelled: bool | None = None
) -> dict[str, dict[str, float]]:
    """Arrears' DynamoDB units of a day, part by part (write units, read units; `fixed`: a day's
    units whatever the book), on the measured book (`scale` 1) or on a book `scale` times as large
    with `shards` shards. Scaled up, the run ledger is one done-shards write per task plus the
    heartbeat (not the measured book's count), and the due list is priced in items at full flushes
    (`due_list_units_per_listed_loan`) for the loans the sweep listed (`due_listed`), not scaled
    from a small book whose few due loans a day spread thin over many items.

    Parts: `loans` (the changed loans' writes, which the Scan makes too), `listing` (the review
    lister's items: `listing_units`), `review_index` (the draining index's Queries and deletes),
    `due_list` (the sweep's own items, and its deletes of the lister's),
    `point_reads` (the due loans read by BatchGetItem), `census` (its day spread over its interval:
    its Scan, and the due-list items listing open requests again, written and later deleted),
    `stock` (the counters kept from flows), `other` (any other table the sweep wrote), and the fixed
    `run_ledger` (done-shards writes, heartbeat, census claims, the run's start).

    `modelled` (default: `scale` is not 1) prices the book with the model even at `scale` 1, to
    check the model against the measured book. Modelled, the due list's and the census's items are
    as full as the book's tasks fill them (`flush_fill`), and the draining ReviewIndex costs its
    Query per shard a day, whatever the book."""
    model = scale != 1.0 if modelled is None else modelled
    cap = sweep["capacity"]
    s, c, f = cap["sweep"], cap["census"], cap["flows"]
    census_share = 1 / float(ASSUMPTIONS["census_interval_days"])  # the census's day, spread over its week
    wu, ru = s["write_units"], s["read_units"]
    runs = _sum(wu, RUNS_TABLE)
    due_list = _sum(wu, DUE_TABLE)
    id_bytes = float(sweep.get("loan_id_bytes", 10))
    if model:
        runs = sweep_tasks(sweep["loans"] * scale, shards) + 1
        if sweep.get("next_review_dates"):
            # the sweep's own listings in flushes as full as the book fills them; the lister's
            # items are in `listing`
            fill = flush_fill(sweep, scale)
            due_list = due_list_units_per_listed_loan(sweep["next_review_dates"], fill, id_bytes) * float(
                sweep.get("due_listed", 0)
            )
    named = (LOANS_TABLE, INDEX_PREFIX, DUE_TABLE, RUNS_TABLE)
    stream_shards = stream_shards_for(sweep["loans"] * scale) if model else 1
    # the draining ReviewIndex: a Query per shard a day (measured: the book's shards)
    index_reads = ru.get(INDEX_PREFIX, 0.0) * (shards / sweep["shards"] if model else 1.0)
    # The census's listings again of open requests: written by it, deleted by the sweep (as many
    # units); scaled up, priced in full items like the sweep's (a census segment of a large book lists
    # thousands a date: an upper bound)
    census_due = _sum(c["write_units"], DUE_TABLE)
    census_relist = 2 * census_due
    if model and sweep.get("next_review_dates"):
        relisted = float(sweep.get("census_relisted", 0)) * scale
        # a census segment lists its loans in one BatchWriteItem: items as full as a segment's share
        per_segment = max(1, min(_flush_loans(sweep), round(relisted / max(shards, 1))))
        census_relist = relisted * due_list_units_per_listed_loan(
            sweep["next_review_dates"], per_segment, id_bytes
        )
    return {
        "loans": {"write_units": wu.get(LOANS_TABLE, 0.0) * scale, "read_units": 0.0},
        "listing": listing_units(sweep, scale, stream_shards, model),
        "review_index": {"write_units": wu.get(INDEX_PREFIX, 0.0) * scale, "read_units": index_reads},
        "due_list": {"write_units": due_list * scale, "read_units": ru.get(DUE_TABLE, 0.0) * scale},
        "point_reads": {"write_units": 0.0, "read_units": ru.get(LOANS_TABLE, 0.0) * scale},
        "census": {
            "write_units": (_sum(c["write_units"], exclude=RUNS_TABLE) - census_due) * census_share * scale
            + census_relist * census_share,
            "read_units": _sum(c["read_units"]) * census_share * scale,
        },
        # the stock's one Query a day reads the counters, whatever the book
        "stock": {"write_units": _sum(f["write_units"]) * scale, "read_units": _sum(f["read_units"])},
        "other": {
            "write_units": sum(v for k, v in wu.items() if k not in named) * scale,
            "read_units": sum(v for k, v in ru.items() if k not in named) * scale,
        },
        # done-shards updates and the heartbeat; one census claim a shard on a census day; the run's start
        "run_ledger": {"write_units": runs + shards * census_share + 1, "read_units": 0.0, "fixed": 1.0},
    }


def _arrears_day(sweep: Mapping[str, Any], shards: int, scale: float) -> dict[str, Any]:
    """A day of Arrears' detection (`arrears_parts`, priced; Lambda and SQS from the requests)."""
    cap = sweep["capacity"]
    s, c, f = cap["sweep"], cap["census"], cap["flows"]
    census_share = 1 / float(ASSUMPTIONS["census_interval_days"])
    parts = arrears_parts(sweep, shards, scale)
    fixed_wru = sum(p["write_units"] for p in parts.values() if p.get("fixed"))
    wru = sum(p["write_units"] for p in parts.values() if not p.get("fixed"))
    rru = sum(p["read_units"] for p in parts.values())
    stored = sum(
        cap["index_storage_bytes"].get(k, 0) for k in cap["index_storage_bytes"] if "bench-loans" in k
    )
    seconds = (
        (_requests(s) + _requests(c) * census_share + _requests(f)) * ASSUMPTIONS["request_ms"] / 1000
        + sweep["loans_due"] * sweep["assess_ms_per_loan"] / 1000
    ) * scale
    # sweep tasks sized from the book (continuations as measured) + the census's tasks on its day
    continued = max(0, sweep["segments"] - sweep.get("sweep_tasks", sweep["shards"])) * scale
    tasks = sweep_tasks(sweep["loans"] * scale, shards) + continued + shards * census_share
    invocations = 1 + tasks
    sqs = tasks * ASSUMPTIONS["sqs_requests_per_task"] + ASSUMPTIONS["sqs_idle_receives_per_day"]
    fixed = {
        "dynamodb": _dynamodb_usd(fixed_wru, 0),
        "lambda": _lambda_usd(0, invocations),
        "sqs": sqs * price("sqs_request"),
    }
    per_loan = {
        "dynamodb": _dynamodb_usd(wru, rru, stored * scale),
        "lambda": _lambda_usd(seconds, 0),
        "sqs": 0.0,
    }
    return {
        "write_units": wru + fixed_wru,
        "read_units": rru,
        "lambda_seconds": seconds,
        "invocations": invocations,
        "fixed_usd": fixed,
        "per_loan_usd": per_loan,
    }


def _naive_day(sweep: Mapping[str, Any], scale: float) -> dict[str, Any]:
    n = sweep["capacity"]["naive"]
    wru, rru = _sum(n["write_units"]) * scale, _sum(n["read_units"]) * scale
    seconds = (
        _requests(n) * ASSUMPTIONS["request_ms"] / 1000 + sweep["loans"] * sweep["assess_ms_per_loan"] / 1000
    ) * scale
    invocations = max(1, math.ceil(seconds / ASSUMPTIONS["lambda_max_seconds"]))
    return {
        "write_units": wru,
        "read_units": rru,
        "lambda_seconds": seconds,
        "invocations": invocations,
        "fixed_usd": {"dynamodb": 0.0, "lambda": _lambda_usd(0, 1), "sqs": 0.0},
        "per_loan_usd": {
            "dynamodb": _dynamodb_usd(wru, rru),
            "lambda": _lambda_usd(seconds, invocations - 1),
            "sqs": 0.0,
        },
    }


def bill_against_scan(
    sweep: Mapping[str, Any], shards: int, scale: float, modelled: bool | None = None
) -> dict[str, Any]:
    """Where Arrears' DynamoDB bill and the nightly Scan's differ, on the measured book (`scale` 1)
    or extrapolated (`scale`, `shards`; `modelled` True: the measured book priced by the model, as
    `arrears_parts`), in USD per 1,000 open loans a month, part by part
    (`arrears_parts`; the Scan: its reads and its writes of the changed loans), and the two
    figures of a lender's book that decide which is cheaper, all else as measured:

    - `listings_break_even_per_1000_loans_day`: loans a day per 1,000 open loans the review lister
      lists (new loans, events that bring a review forward) at which the bills meet, at this book's
      cost per listing (`usd_per_listing`: on the measured book the lister's put and the sweep's
      delete of its item; scaled up, `lister_units_per_listing`); the book's own figure beside it.
      None: above the Scan even with no listing at all.
    - `loan_item_bytes_break_even`: the mean loan item size at which they meet. A Scan (and the
      census, a Scan too) reads bytes, 0.5 read units per 4 KB; a point read of a due loan costs 0.5
      whatever its size up to 4 KB; both designs write the same changed loans. Past 4 KB the
      point reads grow too, so a figure above 4,096 bytes is not a break-even (None)."""
    wr, rr = price("dynamodb_write_request_unit"), price("dynamodb_read_request_unit")
    loans = float(sweep["loans"]) * scale
    per_k_month = 1000 * float(ASSUMPTIONS["days_per_month"]) / loans

    def usd(part: Mapping[str, float]) -> float:
        return (part["write_units"] * wr + part["read_units"] * rr) * per_k_month

    model = scale != 1.0 if modelled is None else modelled
    parts = arrears_parts(sweep, shards, scale, model)
    arrears = {name: usd(part) for name, part in parts.items()}
    stored = sum(v for k, v in sweep["capacity"]["index_storage_bytes"].items() if LOANS_TABLE in k)
    arrears["index_storage"] = _dynamodb_usd(0, 0, stored * scale) * per_k_month
    n = sweep["capacity"]["naive"]
    naive = {
        "changed_loans_written": _sum(n["write_units"]) * scale * wr * per_k_month,
        "scan_reads": _sum(n["read_units"]) * scale * rr * per_k_month,
    }
    total_a, total_n = sum(arrears.values()), sum(naive.values())
    # listings a day and what one costs (the measured book: its item's put, and its delete by the
    # sweep, counted in the due list's units: as many units as the put in a steady state)
    listings = float(sweep.get("from_lister", 0)) * scale
    listing_usd = arrears["listing"] * (1 if model else 2)
    per_listing = listing_usd / listings if listings else 0.0
    room = total_n - (total_a - listing_usd)
    listings_even = room / per_listing if room >= 0 and per_listing else None
    # item size: the Scan's and the census's reads scale with bytes, nothing else of either design
    # does (the changed loans' writes are the same on both sides)
    rest = total_a - arrears["census"] - arrears["loans"]
    scan_margin = naive["scan_reads"] - arrears["census"]
    size_even = rest / scan_margin * float(sweep["mean_item_bytes"]) if scan_margin > 0 else None
    return {
        "loans": int(loans),
        "arrears_usd_per_1000_loans_month": {k: round(v, 7) for k, v in arrears.items()},
        "naive_usd_per_1000_loans_month": {k: round(v, 7) for k, v in naive.items()},
        "arrears_total": round(total_a, 7),
        "naive_total": round(total_n, 7),
        "listings_per_1000_loans_day": round(listings / loans * 1000, 3),
        "listings_break_even_per_1000_loans_day": (
            None if listings_even is None else round(listings_even / loans * 1000, 3)
        ),
        "lister_batch_loans": lister_batch_loans(listings, stream_shards_for(loans) if model else 1),
        "write_units_per_listing": round(listing_usd / per_k_month / wr / listings, 4) if listings else None,
        "mean_loan_item_bytes": sweep["mean_item_bytes"],
        "loan_item_bytes_break_even": None if size_even is None or size_even > 4096 else round(size_even),
    }


BOOK_SIZES = (20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000)
"""The books the bill is modelled at (`bill_by_book`), from the measured book up."""


def _bill_row(bill: Mapping[str, Any], shards: int, basis: str) -> dict[str, Any]:
    return {
        "loans": bill["loans"],
        "shards": shards,
        "basis": basis,
        "arrears": bill["arrears_total"],
        "naive": bill["naive_total"],
        "ratio": round(bill["arrears_total"] / bill["naive_total"], 3) if bill["naive_total"] else None,
        "lister_batch_loans": bill["lister_batch_loans"],
        "write_units_per_listing": bill["write_units_per_listing"],
    }


def bill_by_book(main: Mapping[str, Any], others: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """Arrears' DynamoDB bill against the nightly Scan's by the size of the open book, in USD per
    1,000 open loans a month (`bill_against_scan`'s totals):

    - `measured`: each book the benchmark ran (`main`, the run's own, and `others`, such as the
      default demo's 200 loans), priced from its own counts;
    - `modelled`: the model scaled from `main` (`arrears_parts`) at `main`'s size and shards, to
      check it against the measurement, and at each of `BOOK_SIZES` above it, with `shards_for` and
      `stream_shards_for` of that size;
    - `break_even_loans`: the smallest open book from `main`'s size up at which the modelled bill is
      below the Scan's (None: not below it up to ten million loans), found on a geometric grid of
      1 % steps. What moves it is the review lister's batch (`lister_batch_loans`): below about a
      listing a stream shard a batching window, each listing is an item of its own, written and
      deleted (2 write units), more than the Scan spends reading a loan's share of the book."""
    measured = [
        _bill_row(bill_against_scan(book, int(book["shards"]), 1.0), int(book["shards"]), "measured")
        for book in sorted([main, *others], key=lambda book: int(book["loans"]))
    ]
    base = float(main["loans"])

    def modelled(loans: float) -> dict[str, Any]:
        shards = int(main["shards"]) if loans == base else shards_for(loans)
        return bill_against_scan(main, shards, loans / base, modelled=True)

    rows = [_bill_row(modelled(base), int(main["shards"]), "model")]
    rows += [_bill_row(modelled(n), shards_for(n), "model") for n in BOOK_SIZES if n > base]

    def below(loans: float) -> bool:
        bill = modelled(loans)
        return bool(bill["arrears_total"] < bill["naive_total"])

    # steps of 10 %, then of 1 % from the last step above the Scan
    break_even, big = None, float(ASSUMPTIONS["large_book_loans"])
    steps = int(math.log(big / base, 1.1)) + 1 if base < big else 0
    coarse = [base * 1.1**k for k in range(steps)] + [big]
    for k, loans in enumerate(coarse):
        if below(loans):
            fine = coarse[k - 1] if k else loans
            while not below(fine):
                fine *= 1.01
            break_even = math.ceil(min(fine, loans) / 100) * 100  # up to a hundred: still below
            break
    return {"model_book": int(base), "measured": measured, "modelled": rows, "break_even_loans": break_even}


def _per_thousand_month(day: Mapping[str, Any], loans: float) -> dict[str, Any]:
    month = ASSUMPTIONS["days_per_month"]
    fixed = sum(day["fixed_usd"].values()) * month
    per_loan = sum(day["per_loan_usd"].values()) * month
    dynamodb = (day["fixed_usd"]["dynamodb"] + day["per_loan_usd"]["dynamodb"]) * month
    return {
        "loans": int(loans),
        "usd_per_month": round(fixed + per_loan, 4),
        "fixed_usd_per_month": round(fixed, 4),
        "per_loan_usd_per_month": round(per_loan, 4),
        "per_1000_loans_usd_per_month": round((fixed + per_loan) / loans * 1000, 6),
        "fixed_per_1000_loans_usd_per_month": round(fixed / loans * 1000, 6),
        "per_loan_part_per_1000_loans_usd_per_month": round(per_loan / loans * 1000, 6),
        "dynamodb_per_1000_loans_usd_per_month": round(dynamodb / loans * 1000, 6),
        "write_units_per_loan_day": round(day["write_units"] / loans, 5),
        "read_units_per_loan_day": round(day["read_units"] / loans, 5),
        "lambda_seconds_per_day": round(day["lambda_seconds"], 1),
        "invocations_per_day": round(day["invocations"], 1),
    }


ROOT = Path(__file__).resolve().parent.parent


def monitoring_fixed(root: Path = ROOT) -> dict[str, Any]:
    """CloudWatch's fixed monthly bill: alarms and dashboards of the monitoring stack, and the metric
    names they use (a lower bound of the custom metrics: each dimension set is one more metric)."""
    from localcloud.stack import load_template

    resources = load_template(root / "infrastructure" / "monitoring.yaml")["Resources"].values()
    alarms = sum(1 for r in resources if r["Type"] == "AWS::CloudWatch::Alarm")
    dashboards = sum(1 for r in resources if r["Type"] == "AWS::CloudWatch::Dashboard")
    text = (root / "infrastructure" / "monitoring.yaml").read_text(encoding="utf-8")
    names = {line.split("MetricName:", 1)[1].strip() for line in text.splitlines() if "MetricName:" in line}
    usd = (
        alarms * price("cloudwatch_alarm_month")
        + dashboards * price("cloudwatch_dashboard_month")
        + len(names) * price("cloudwatch_metric_month")
    )
    return {
        "alarms": alarms,
        "dashboards": dashboards,
        "metric_names": len(names),
        "usd_per_month": round(usd, 2),
    }


def _both_designs(cap: Mapping[str, Any], sweep: Mapping[str, Any]) -> dict[str, Any]:
    """The DelinquencyHistory writes and reads of the day's changes (history append, bureau facts),
    which both designs make for the same changed loans: units, per changed loan, per loan-day."""
    both = cap.get("both_designs", {"write_units": {}, "read_units": {}, "requests": {}})
    wru, rru = _sum(both["write_units"]), _sum(both["read_units"])
    changes = max(int(sweep.get("flows_changes", 0)), 1)
    return {
        "changes": int(sweep.get("flows_changes", 0)),
        "write_units": wru,
        "read_units": rru,
        "requests": both["requests"],
        "write_units_per_changed_loan": round(wru / changes, 3),
        "write_units_per_loan_day": round(wru / sweep["loans"], 5),
        "usd_per_1000_loans_month": round(
            _dynamodb_usd(wru, rru) / sweep["loans"] * 1000 * float(ASSUMPTIONS["days_per_month"]), 6
        ),
    }


def _due_list_model(sweep: Mapping[str, Any]) -> dict[str, Any] | None:
    """The due list's inputs and write units per listed loan: measured on the book, and modelled at
    full flushes (`due_list_units_per_listed_loan`) as the 10 M-loan column prices it."""
    dates, listed = sweep.get("next_review_dates"), int(sweep.get("due_listed", 0))
    if not dates or not listed:
        return None
    measured = _sum(sweep["capacity"]["sweep"]["write_units"], DUE_TABLE)
    flush, id_bytes = _flush_loans(sweep), float(sweep.get("loan_id_bytes", 10))
    return {
        "listed_loans": listed,
        "next_dates": len(dates),
        "largest_date_share": round(max(dates.values()) / listed, 3),
        "flush_loans": flush,
        "loan_id_bytes": id_bytes,
        "measured_units_per_listed_loan": round(measured / listed, 4),
        "full_flush_units_per_listed_loan": round(due_list_units_per_listed_loan(dates, flush, id_bytes), 4),
    }


def cost_section(sweep: Mapping[str, Any]) -> dict[str, Any]:
    loans, shards = sweep["loans"], sweep["shards"]
    big, big_shards = ASSUMPTIONS["large_book_loans"], ASSUMPTIONS["large_book_shards"]
    designs: dict[str, Any] = {}
    for name, at_book, at_big in (
        ("arrears", _arrears_day(sweep, shards, 1.0), _arrears_day(sweep, big_shards, big / loans)),
        ("naive_nightly_scan", _naive_day(sweep, 1.0), _naive_day(sweep, big / loans)),
    ):
        designs[name] = {
            "measured_book": _per_thousand_month(at_book, loans),
            "ten_million_loans": _per_thousand_month(at_big, big),
            "day_usd_measured_book": {
                "fixed": {k: round(v, 8) for k, v in at_book["fixed_usd"].items()},
                "per_loan": {k: round(v, 8) for k, v in at_book["per_loan_usd"].items()},
            },
        }
    cap = sweep["capacity"]
    due = max(sweep["loans_due"], 1)
    # DynamoDB units per due loan and per loan of the book, to find the milestone rate at which the
    # two designs cost the same (Arrears: f * per-due + census per loan; naive: scan per loan + f * writes)
    wr, rr = price("dynamodb_write_request_unit"), price("dynamodb_read_request_unit")
    census_share = 1 / float(ASSUMPTIONS["census_interval_days"])
    arrears_due = (
        _sum(cap["sweep"]["write_units"], exclude=RUNS_TABLE) * wr
        + _sum(cap["sweep"]["read_units"]) * rr
        + _sum(cap["flows"]["write_units"]) * wr
        + float(sweep.get("lister_put_units", 0.0)) * wr
    ) / due
    census_loan = _sum(cap["census"]["read_units"]) * rr * census_share / loans
    naive_due = _sum(cap["naive"]["write_units"]) * wr / due
    scan_loan = _sum(cap["naive"]["read_units"]) * rr / loans
    # None: no milestone rate where the two bills meet (each due loan costs the wheel more than the
    # Scan's write of it, and the Scan's read is not enough to make up for it)
    crossover = (scan_loan - census_loan) / (arrears_due - naive_due) if arrears_due > naive_due else None
    if crossover is not None and crossover <= 0:
        crossover = None
    month = float(ASSUMPTIONS["days_per_month"])
    retention_calls_per_loan_day = float(ASSUMPTIONS["retention_put_calls_default_demo"]) / float(
        ASSUMPTIONS["default_demo_loan_days"]
    )
    return {
        "designs": designs,
        # Daily items read for the open-loan stock per open loan: the census's Scan every day (before),
        # the stock items' Query plus the census every `census_interval_days` (after).
        "stock_items_read_per_open_loan_daily": {
            "before_daily_census": round(sweep["census_items_read"] / loans, 4),
            "after_flows": round(
                (sweep["census_items_read"] * census_share + sweep["flows_stock_items_read"]) / loans, 4
            ),
        },
        "flows": {
            "transitions": sweep["flows_transitions"],
            "stream_batches": sweep.get("flows_stream_batches"),
            "write_units": _sum(cap["flows"]["write_units"]),
            "write_units_per_transition": round(
                _sum(cap["flows"]["write_units"]) / max(sweep["flows_transitions"], 1), 2
            ),
        },
        # at the template's ShardCount (16), and the shards docs/scaling.md recommends for 10 M loans
        "invocations_per_day": {
            str(n): invocations_per_day(n, 16 if n < big else big_shards) for n in (200, 5_000, 20_000, big)
        },
        # The retention review's daily PutObjectRetention in short-lock (dev) stages: an S3 PUT-class
        # request each, counted in the default demo (ASSUMPTIONS); not a cost of the detection designs.
        "retention_review_short_lock": {
            "put_object_retention_per_loan_day": round(retention_calls_per_loan_day, 4),
            "usd_per_1000_loans_month": round(
                retention_calls_per_loan_day * 1000 * month * price("s3_put"), 4
            ),
        },
        # Written by both designs for the same changed loans: in neither design's figures above.
        "both_designs_history": _both_designs(cap, sweep),
        "write_units_by_table_and_index": {
            "both_designs": cap.get("both_designs", {}).get("write_units", {}),
            "arrears_sweep": cap["sweep"]["write_units"],
            "arrears_census": cap["census"]["write_units"],
            "arrears_flows": cap["flows"]["write_units"],
            "arrears_lister_puts": {DUE_TABLE: float(sweep.get("lister_put_units", 0.0))},
            "naive": cap["naive"]["write_units"],
        },
        "read_units_by_table_and_index": {
            "both_designs": cap.get("both_designs", {}).get("read_units", {}),
            "arrears_sweep": cap["sweep"]["read_units"],
            "arrears_census": cap["census"]["read_units"],
            "arrears_flows": cap["flows"]["read_units"],
            "naive": cap["naive"]["read_units"],
        },
        "due_list_model": _due_list_model(sweep),
        "bill_against_scan": {
            "measured_book": bill_against_scan(sweep, shards, 1.0),
            "ten_million_loans": bill_against_scan(sweep, big_shards, big / loans),
        },
        "milestone_rate": round(sweep["loans_due"] / loans, 4),
        "dynamodb_break_even_milestone_rate": None if crossover is None else round(crossover, 4),
        "monitoring_fixed": monitoring_fixed(),
        "assumptions": ASSUMPTIONS,
        "prices": as_json(),
    }
