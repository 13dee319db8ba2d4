"""`make bench`: the timer-wheel sweep against a naive full-table Scan, on moto, in one process.

A book of `--loans` open loans (default 20,000) is loaded with batch writes into a table with the
Loans table's key schema and sparse ReviewIndex. About `--due-fraction` of the loans (5 %)
have a milestone on the benchmark day. Then, in the same process:

* the sweep: `run_sweep_task` (the worker's use case) for every shard, continuations included,
  against the first table;
* the baseline, first: a paginated Scan of the whole table that assesses every loan it reads and
  writes the ones whose state changed (into a twin table, so the sweep still has its work).

`items_read` and `scan_items_read` are summed from DynamoDB's own `ScannedCount` in the responses,
through a botocore hook on the client, not from counters of the code under test. Both sides must
write exactly the same loans. Read and write capacity units per table and index are computed from
the requests (`benchmarks/cost.py`) and priced for both designs, split into fixed and per-loan
parts and extrapolated to ten million loans (`benchmarks/model.py`, prices in
`benchmarks/prices.py`). The figures go to `--out` (benchmarks/results.json);
`python -m benchmarks.scaling_doc` writes them into docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.cost import (
    INDEX_OVERHEAD_BYTES,
    CapacityMeter,
    TableSchema,
    index_entry,
    item_size,
    schema_from_resource,
    to_wire,
)
from benchmarks.model import bill_by_book, cost_section
from localcloud.aws_env import LOCAL_AWS_ENV, use_local_aws

BENCH_DAY = date(2026, 6, 15)
# the sweep's scheduled time: 00:30 in Shanghai on the benchmark day
BENCH_AT = datetime.combine(BENCH_DAY - timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(
    hours=16, minutes=30
)
REGION = "us-east-1"


@dataclass
class ReadMeter:
    """Sums ScannedCount / Count of every Query and Scan response the client receives."""

    operations: dict[str, int] = field(default_factory=dict)
    scanned: dict[str, int] = field(default_factory=dict)
    returned: dict[str, int] = field(default_factory=dict)
    writes: int = 0

    def __call__(self, http_response: Any, parsed: Mapping[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        self.operations[name] = self.operations.get(name, 0) + 1
        if name in ("Query", "Scan"):
            self.scanned[name] = self.scanned.get(name, 0) + int(parsed.get("ScannedCount", 0))
            self.returned[name] = self.returned.get(name, 0) + int(parsed.get("Count", 0))
        if name == "PutItem" and "Error" not in parsed:  # conditional puts that succeeded
            self.writes += 1


def fast_dynamodb_responses() -> None:
    """Serialise moto's DynamoDB results with `json.dumps` (the wire format is already there).

    moto 5's generic, model-driven serialiser walks every attribute of every returned item through
    the service model and costs ~20 ms per loan item: the bench would time moto's serialiser, not
    the sweep. The results moto builds are DynamoDB JSON already, so the bench emits them as such.
    Only Query, Scan, GetItem and BatchGetItem results (items and counts) take this path; both the
    sweep and the Scan baseline run under it; `--moto-serializer` turns it off.
    """
    from moto.dynamodb.responses import DynamoResult

    generic = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name not in ("Query", "Scan", "GetItem", "BatchGetItem"):
            return generic(self, context)
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        return 200, headers, json.dumps(self.result, separators=(",", ":"))

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


def _loans_table(template: Path = TEMPLATE, resource: str = "LoansTable") -> dict[str, Any]:
    from localcloud.stack import load_template

    properties: dict[str, Any] = load_template(template)["Resources"][resource]["Properties"]
    return properties


DUE_TABLE = "bench-review-due"


def _loans_per_task() -> int:
    """The template's SweepLoansPerTask (environment `SWEEP_LOANS_PER_TASK` to price another)."""
    return int(os.environ.get("SWEEP_LOANS_PER_TASK", "20000"))


def _due_table_definition() -> dict[str, Any]:
    """The sweep's due list table as template.yaml declares it (ReviewDueTable)."""
    due = _loans_table(resource="ReviewDueTable")
    return {
        "TableName": DUE_TABLE,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": due["AttributeDefinitions"],
        "KeySchema": due["KeySchema"],
    }


def flush_loans(page_size: int) -> int:
    """Loans a full flush of the sweep lists (`arrears.usecases.sweep.FLUSH_PAGES` pages)."""
    from arrears.usecases.sweep import FLUSH_PAGES

    return FLUSH_PAGES * page_size


@dataclass
class SteadyState:
    """A book between two sweeps, as the bench loads it: the Loans items, the due list (the sweep's
    items and the review lister's), and what the lister's items of the day cost it."""

    items: list[dict[str, Any]]
    due_items: list[dict[str, Any]]
    lister_batch: int  # loans a lister batch listed (`benchmarks.model.lister_batch_loans`)
    from_lister: int  # loans the lister's items dated on or before the day name: the day's listings
    lister_put_units: float  # write units of those items (the lister's puts, the sweep deletes them)


class _Items:
    """A due list that keeps the items it is given (the lister's `DueListWriter`)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put(self, shard: int, due_on: date, loan_ids: Iterable[str]) -> int:
        from arrears.adapters.due_list import due_item

        self.items.append(due_item(shard, due_on, loan_ids))
        return 1


def steady_state(
    book: Sequence[Any], shards: int, event_fraction: float, page_size: int, seed: int
) -> SteadyState:
    """The Loans items and due-list items of a book between two sweeps: `event_fraction` of the
    loans were last written by an event (payment, hold, promise, onboarding) that asked for a listing
    (`list_on`), and the review lister listed them (`list_for_review`) in batches of
    `lister_batch_loans` at this book's rate (the event-written loans due on the day: in a steady
    state, as many listings a day as the sweep consumes), in stream order; the others were last
    written by a sweep, parked, and listed as the sweep lists them: per sweep task (the book's
    fan-out, `plan_sweep`), in its first shard's partition, one item per flush
    (`FLUSH_PAGES` x `page_size` loans) and next review date over the task's shards."""
    from arrears.adapters.due_list import due_item
    from arrears.adapters.items import loan_to_item, shard_for
    from arrears.usecases.review_listing import ListingRequest, list_for_review
    from arrears.usecases.sweep import plan_sweep
    from benchmarks.model import lister_batch_loans

    first_of = {
        s: task.shard
        for task in plan_sweep(BENCH_AT, shards, len(book), _loans_per_task())
        for s in range(task.shard, task.last + 1)
    }

    rng = random.Random(seed + 1)
    items: list[dict[str, Any]] = []
    pages: dict[int, list[Any]] = {}
    by_event: list[Any] = []
    for loan in book:
        event = loan.next_review_on is not None and rng.random() < event_fraction
        items.append(loan_to_item(loan, shard_count=shards, parked=not event))
        if event:
            by_event.append(loan)
        elif loan.next_review_on is not None:
            pages.setdefault(first_of[shard_for(loan.loan_id, shards)], []).append(loan)
    due: list[dict[str, Any]] = []
    flush = flush_loans(page_size)
    for shard, parked_loans in sorted(pages.items()):
        for start in range(0, len(parked_loans), flush):
            groups: dict[date, list[str]] = {}
            for loan in parked_loans[start : start + flush]:
                groups.setdefault(loan.next_review_on, []).append(loan.loan_id)
            for on, ids in groups.items():
                due.append(due_item(shard, on, ids))
    rng.shuffle(by_event)
    daily = sum(1 for loan in by_event if loan.next_review_on <= BENCH_DAY)
    batch = lister_batch_loans(daily, 1)
    lister = _Items()
    for start in range(0, len(by_event), batch):
        requests = [
            ListingRequest(loan.loan_id, loan.next_review_on) for loan in by_event[start : start + batch]
        ]
        list_for_review(requests, lister, shards)
    today = [i for i in lister.items if str(i["due_key"])[:10] <= BENCH_DAY.isoformat()]
    return SteadyState(
        items,
        due + lister.items,
        batch,
        sum(len(i["loan_ids"]) for i in today),
        float(sum(math.ceil(item_size({k: to_wire(v) for k, v in i.items()}) / 1024) for i in today)),
    )


def _table_definition(
    name: str, *, review_projection: str | None = None, review_index: bool = True
) -> dict[str, Any]:
    """The Loans table's keys and ReviewIndex as template.yaml declares them (the projection too),
    or the naive design's table: the same keys and no ReviewIndex. `review_projection` (ALL) lets
    the bench price the projection the template does not use."""
    loans = _loans_table()
    indexes = [i for i in loans["GlobalSecondaryIndexes"] if i["IndexName"] == "ReviewIndex" and review_index]
    if review_projection is not None:
        for index in indexes:
            index["Projection"] = {"ProjectionType": review_projection}
    used = {k["AttributeName"] for k in loans["KeySchema"]} | {
        k["AttributeName"] for i in indexes for k in i["KeySchema"]
    }
    definition: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [a for a in loans["AttributeDefinitions"] if a["AttributeName"] in used],
        "KeySchema": loans["KeySchema"],
    }
    if indexes:
        definition["GlobalSecondaryIndexes"] = indexes
    return definition


def build_book(count: int, due_fraction: float, seed: int) -> list[Any]:
    """Open loans as assessed by yesterday's sweep; `due_fraction` of them hit a milestone today."""
    from arrears.config.playbook import bundled_playbook
    from arrears.domain.assessment import assess
    from arrears.domain.calendar import add_months
    from arrears.domain.loans import Loan, build_schedule

    rng = random.Random(seed)
    yesterday = BENCH_DAY - timedelta(days=1)
    book = []
    for n in range(count):
        loan_id = f"L-{n:08d}"
        principal = rng.randrange(50, 5_000) * 100
        plan = rng.choice((1, 1, 1, 3))
        band = rng.choice(("LOW", "MEDIUM", "MEDIUM", "HIGH"))
        probe = Loan(
            loan_id,
            "",
            "CN",
            "CNY",
            principal,
            BENCH_DAY - timedelta(days=30),
            _first(principal),
            500,
            2400,
            risk_band=band,
        )
        offsets = bundled_playbook().milestones_for(probe).offsets
        due_today = rng.random() < due_fraction
        between = [o for o in range(offsets[0] - 20, offsets[-1]) if o not in offsets]
        offset = rng.choice(offsets) if due_today else rng.choice(between)
        # the first (oldest unsettled) instalment falls due `offset` days before the benchmark day
        first_due = BENCH_DAY - timedelta(days=offset)
        disbursed = add_months(first_due, -1) if plan > 1 else first_due - timedelta(days=30)
        schedule = build_schedule(
            principal, disbursed_on=disbursed, instalments=plan, monthly_interest_bps=150, cash_loan_days=30
        )
        loan = Loan(
            loan_id, f"B-{n:08d}", "CN", "CNY", principal, disbursed, schedule, 500, 2400, risk_band=band
        )
        book.append(assess(loan, yesterday, bundled_playbook()))
    return book


def _first(principal: int) -> tuple[Any, ...]:
    from arrears.domain.loans import Instalment

    return (Instalment(1, BENCH_DAY, principal, 0),)


def load(table: Any, items: Sequence[Mapping[str, Any]]) -> None:
    with table.batch_writer() as batch:
        for item in items:
            batch.put_item(Item=dict(item))


class ListQueue:
    """The sweep-tasks queue, in process: continuations are run by the bench's own loop."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def send(self, bodies: Sequence[Mapping[str, Any]]) -> int:
        self.bodies.extend(dict(b) for b in bodies)
        return len(bodies)


def run_sweep(
    session: Any,
    table_name: str,
    runs_table: str,
    shards: int,
    page_size: int,
    capacity: CapacityMeter,
    open_loans: int | None = None,
) -> dict[str, Any]:
    from arrears.adapters.due_list import DueList
    from arrears.adapters.dynamodb import LoanRepository
    from arrears.adapters.sweep_runs import SweepRunRepository
    from arrears.config.playbook import bundled_playbook
    from arrears.usecases.sweep import SweepTask, fan_out, run_sweep_task

    resource = session.resource("dynamodb", region_name=REGION)
    meter = ReadMeter()
    resource.meta.client.meta.events.register("after-call.dynamodb", meter)
    capacity.register(resource.meta.client)
    loans = LoanRepository(
        resource.Table(table_name), shard_count=shards, due_list=DueList(resource.Table(DUE_TABLE))
    )
    runs = SweepRunRepository(resource.Table(runs_table))
    queue = ListQueue()
    at = BENCH_AT
    started = time.perf_counter()
    # the fan-out the sweep's start sends: sized from the book's open loans (the stock from flows)
    tasks = fan_out(at, shards, queue, open_loans, _loans_per_task())
    changed: list[str] = []
    segments = completed = 0
    per_shard_ms: list[float] = []
    paths = {"from_index": 0, "from_due_list": 0, "due_items_written": 0, "due_items_removed": 0}
    while queue.bodies:
        task = SweepTask.from_body(queue.bodies.pop(0))
        segments += 1  # one invocation: its shards one after the other (the worker's use case)
        began = time.perf_counter()
        outcome = run_sweep_task(
            task, loans=loans, playbook=bundled_playbook(), queue=queue, runs=runs, page_size=page_size
        )
        per_shard_ms.append((time.perf_counter() - began) * 1000 / max(len(outcome.shards_completed), 1))
        completed += int(outcome.run_completed)
        changed.extend(outcome.result.changed_loan_ids)
        for name in paths:
            paths[name] += getattr(outcome.result, name)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return {
        "ms": elapsed_ms,
        "items_read": meter.scanned.get("Query", 0),
        "items_returned": meter.returned.get("Query", 0),
        "queries": meter.operations.get("Query", 0),
        "writes": meter.writes,
        "changed": changed,
        "segments": segments,
        "tasks": len(tasks),
        "heartbeats": completed,
        "max_shard_ms": max(per_shard_ms, default=0.0),
        **paths,
    }


def run_census(
    session: Any, table_name: str, shards: int, page_size: int, capacity: CapacityMeter
) -> dict[str, Any]:
    """The open-loan census after the sweep, on a census day of the default interval: every shard (a
    parallel Scan segment) counted by bucket, and its loans still carrying a listing request due by
    the next census listed again (`arrears.usecases.census.list_again`)."""
    from collections import Counter

    from arrears.adapters.due_list import DueList
    from arrears.adapters.dynamodb import LoanRepository
    from arrears.usecases.census import count_shard, list_again, overdue_reviews
    from benchmarks.model import ASSUMPTIONS

    resource = session.resource("dynamodb", region_name=REGION)
    meter = ReadMeter()
    resource.meta.client.meta.events.register("after-call.dynamodb", meter)
    capacity.register(resource.meta.client)
    due_list = DueList(resource.Table(DUE_TABLE))
    loans = LoanRepository(resource.Table(table_name), shard_count=shards, due_list=due_list)
    counts: Counter[tuple[str, str]] = Counter()
    through = BENCH_DAY + timedelta(days=int(ASSUMPTIONS["census_interval_days"]))
    relisted = 0
    started = time.perf_counter()
    for shard in range(shards):
        before = overdue_reviews(BENCH_DAY)
        result = count_shard(loans, shard, page_size=page_size, overdue_before=before, relist_through=through)
        list_again(due_list, shard, BENCH_DAY, result)
        counts.update(result.counts)
        relisted += len(result.requested) + len(result.overdue)
    return {
        "ms": (time.perf_counter() - started) * 1000,
        "items_read": meter.scanned.get("Scan", 0),
        "queries": meter.operations.get("Scan", 0),
        "counts": counts,
        "relisted": relisted,
    }


STOCK_TABLE = "bench-book-stock"
HISTORY_TABLE = "bench-history"
STREAM_BATCH = 100  # the planner's BatchSize on the Loans stream (template.yaml)


def run_flows(
    session: Any, book: Sequence[Any], table_name: str, capacity: CapacityMeter, common: CapacityMeter
) -> dict[str, Any]:
    """What the planner writes for the day's changes, read from the Loans table after the sweep as
    its stream delivers them (batches of `STREAM_BATCH`), through the planner's own use cases:

    * `capacity` (Arrears only): the stock counters of each batch's bucket transitions
      (`BookStockRepository.batched`, as the planner's handler counts them), and the next sweep start's
      read of the stock (one Query). The naive design needs neither: its Scan counts the stock as it
      reads the book.
    * `common` (both designs, the same writes for the same changed loans): each change's bureau facts
      and bucket transition, one read and one write of the loan's DelinquencyHistory item
      (`record_bureau_facts`). Counted on neither side of the comparison, and shown apart.
    """
    from arrears.adapters.book_stock import BookStockRepository
    from arrears.adapters.credit_facts import CreditFactsRepository
    from arrears.adapters.items import loan_from_item
    from arrears.adapters.tables import all_items
    from arrears.usecases.credit_facts import record_bureau_facts

    resource = session.resource("dynamodb", region_name=REGION)
    meter = ReadMeter()
    resource.meta.client.meta.events.register("after-call.dynamodb", meter)
    capacity.register(resource.meta.client)
    shared = session.resource("dynamodb", region_name=REGION)  # its own client: its own meter
    common.register(shared.meta.client)
    stock = BookStockRepository(resource.Table(STOCK_TABLE))
    facts = CreditFactsRepository(shared.Table(HISTORY_TABLE))
    before = {loan.loan_id: loan for loan in book}
    at = datetime.combine(BENCH_DAY, datetime.min.time(), tzinfo=UTC)
    # the stream's images, read without a meter (the stream is not a read of the table)
    unmetered = session.resource("dynamodb", region_name=REGION)
    stored = (loan_from_item(item) for item in all_items(unmetered.Table(table_name).scan))
    changes = [(before[a.loan_id], a) for a in stored if a.version != before[a.loan_id].version]
    transitions = 0
    for start in range(0, len(changes), STREAM_BATCH):
        with stock.batched() as tally:
            for old, new in changes[start : start + STREAM_BATCH]:
                # as the planner records a change: one write of the history item, then the count
                record_bureau_facts(
                    old,
                    new,
                    at,
                    store=facts,
                    cn_writer=None,
                    communications=lambda _: (),
                    history=True,
                    stock=stock,
                )
        transitions += tally.transitions
    counts = stock.stock()
    return {
        "changes": len(changes),
        "transitions": transitions,
        "stream_batches": -(-len(changes) // STREAM_BATCH),
        "stock_items_read": meter.scanned.get("Query", 0),
        "stock_pairs": len(counts),
    }


def run_scan(
    session: Any, table_name: str, writes_table: str, shards: int, page_size: int, capacity: CapacityMeter
) -> dict[str, Any]:
    """The naive baseline: read the whole table, assess every loan, write the changed ones.

    It runs first, on the same book as the sweep; its writes go to a second table of the same
    schema (same cost per PutItem) so the sweep that follows still finds today's milestones.
    """
    from arrears.adapters.dynamodb import LoanRepository
    from arrears.adapters.items import loan_from_item
    from arrears.adapters.tables import all_items
    from arrears.config.playbook import bundled_playbook
    from arrears.domain.assessment import assess, collection_state_changed

    resource = session.resource("dynamodb", region_name=REGION)
    meter = ReadMeter()
    resource.meta.client.meta.events.register("after-call.dynamodb", meter)
    capacity.register(resource.meta.client)
    table = resource.Table(table_name)
    loans = LoanRepository(resource.Table(writes_table), shard_count=shards)
    changed: list[str] = []
    started = time.perf_counter()
    # pages of `page_size` items, like the sweep's queries (moto serialises 1 MB pages very slowly)
    for item in all_items(table.scan, Limit=page_size):
        loan = loan_from_item(item)
        if not loan.is_open:
            continue
        assessed = assess(loan, BENCH_DAY, bundled_playbook())
        # the same decision as the sweep's: write when a milestone has arrived and state changed
        arrived = loan.next_review_on is not None and loan.next_review_on <= BENCH_DAY
        if arrived and collection_state_changed(loan, assessed):
            loans.create(assessed)
            changed.append(loan.loan_id)
    return {
        "ms": (time.perf_counter() - started) * 1000,
        "items_read": meter.scanned.get("Scan", 0),
        "scans": meter.operations.get("Scan", 0),
        "writes": meter.writes,
        "changed": changed,
        "pages": meter.operations.get("Scan", 0),
    }


def sweep_section(
    count: int,
    due_fraction: float,
    shards: int,
    seed: int,
    page_size: int,
    review_projection: str | None = None,
    event_fraction: float = 0.25,
) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from arrears.adapters.tables import all_items

    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        client = session.client("dynamodb")
        loans_table = _table_definition("bench-loans", review_projection=review_projection)
        naive_table = _table_definition("bench-scan-writes", review_index=False)
        due_table = _due_table_definition()
        for definition in (loans_table, naive_table, due_table):
            client.create_table(**definition)
        schemas = {t["TableName"]: schema_from_resource(t) for t in (loans_table, naive_table, due_table)}
        client.create_table(
            TableName=STOCK_TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "kind", "AttributeType": "S"},
                {"AttributeName": "key", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "kind", "KeyType": "HASH"},
                {"AttributeName": "key", "KeyType": "RANGE"},
            ],
        )
        history = _loans_table(resource="DelinquencyHistoryTable")
        client.create_table(
            TableName=HISTORY_TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=history["AttributeDefinitions"],
            KeySchema=history["KeySchema"],
        )
        client.create_table(
            TableName="bench-sweep-runs",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "business_date", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "business_date", "KeyType": "HASH"}],
        )
        built = time.perf_counter()
        book = build_book(count, due_fraction, seed)
        state = steady_state(book, shards, event_fraction, page_size, seed)
        items, due_items = state.items, state.due_items
        load(session.resource("dynamodb").Table("bench-loans"), items)
        load(session.resource("dynamodb").Table(DUE_TABLE), due_items)
        load_s = time.perf_counter() - built
        loans_due = sum(
            1 for loan in book if loan.next_review_on is not None and loan.next_review_on <= BENCH_DAY
        )
        # DynamoDB's item size is close to the compact JSON of names and values (docs/scaling.md)
        mean_item_bytes = sum(len(json.dumps(item, separators=(",", ":"))) for item in items) / max(
            len(items), 1
        )

        # One shadow of the tables for every meter: the naive design overwrites the same loans in
        # its own table (seeded with the book), the sweep and the census work on the first one.
        shadow: dict[str, Any] = {}
        naive_meter = CapacityMeter(schemas, shadow=shadow)
        naive_meter.seed("bench-loans", items)
        naive_meter.seed("bench-scan-writes", items)
        naive_meter.seed(DUE_TABLE, due_items)
        sweep_meter = CapacityMeter(schemas, shadow=shadow)
        census_meter = CapacityMeter(schemas, shadow=shadow)
        scan = run_scan(session, "bench-loans", "bench-scan-writes", shards, page_size, naive_meter)
        sweep = run_sweep(
            session, "bench-loans", "bench-sweep-runs", shards, page_size, sweep_meter, open_loans=count
        )
        rerun = run_sweep(
            session,
            "bench-loans",
            "bench-sweep-runs",
            shards,
            page_size,
            CapacityMeter(schemas, shadow=shadow),
        )
        census = run_census(session, "bench-loans", shards, page_size, census_meter)
        flows_meter = CapacityMeter(schemas, shadow=shadow)
        common_meter = CapacityMeter(schemas, shadow=shadow)
        flows = run_flows(session, book, "bench-loans", flows_meter, common_meter)
        index_storage = storage_bytes(shadow, schemas)
        # The truth the census must match: the open loans of the table after the sweep, by bucket.
        truth: dict[tuple[str, str], int] = {}
        # and the next review dates the sweep wrote (what its due list lists), for the cost model
        next_dates: dict[str, int] = {}
        written = set(sweep["changed"])
        table = session.resource("dynamodb").Table("bench-loans")
        for item in all_items(table.scan):
            if item.get("status") == "OPEN":
                key = (str(item["jurisdiction"]), str(item["bucket"]))
                truth[key] = truth.get(key, 0) + 1
            if item["loan_id"] in written and item.get("next_review_on"):
                on = str(item["next_review_on"])
                next_dates[on] = next_dates.get(on, 0) + 1

    due = max(loans_due, 1)
    return {
        "loans": count,
        "loans_due": loans_due,
        "business_date": BENCH_DAY.isoformat(),
        "shards": shards,
        "page_size": page_size,
        "items_read": sweep["items_read"],
        "items_read_per_due": round(sweep["items_read"] / due, 4),
        "scan_items_read": scan["items_read"],
        "queries": sweep["queries"],
        "segments": sweep["segments"],
        "sweep_tasks": sweep["tasks"],
        "writes": sweep["writes"],
        "scan_writes": scan["writes"],
        "scan_pages": scan["pages"],
        "same_loans_written": sorted(sweep["changed"]) == sorted(scan["changed"]),
        "heartbeats": sweep["heartbeats"],
        "event_fraction": event_fraction,
        "flush_loans": flush_loans(page_size),
        "lister_batch": state.lister_batch,
        "from_lister": state.from_lister,
        "lister_put_units": state.lister_put_units,
        "due_list_items_at_start": len(due_items),
        "from_index": sweep["from_index"],
        "from_due_list": sweep["from_due_list"],
        "due_items_written": sweep["due_items_written"],
        "due_items_removed": sweep["due_items_removed"],
        # the day's written loans per next review date (listed in the due list), and the ids' length
        "next_review_dates": dict(sorted(next_dates.items())),
        "due_listed": sum(next_dates.values()),
        "loan_id_bytes": round(sum(len(str(i["loan_id"])) for i in items) / max(len(items), 1), 1),
        "rerun_items_read": rerun["items_read"],
        "rerun_writes": rerun["writes"],
        "sweep_ms": round(sweep["ms"], 1),
        "scan_ms": round(scan["ms"], 1),
        "sweep_ms_over_scan_ms": round(sweep["ms"] / scan["ms"], 4) if scan["ms"] else None,
        "ms_per_1000_due": round(sweep["ms"] / due * 1000, 1),
        "scan_ms_per_1000_loans": round(scan["ms"] / count * 1000, 1),
        "max_shard_ms": round(sweep["max_shard_ms"], 1),
        "census_items_read": census["items_read"],
        "census_relisted": census["relisted"],
        "census_queries": census["queries"],
        "census_matches_table": {k: v for k, v in census["counts"].items() if v} == truth,
        "census_ms": round(census["ms"], 1),
        "census_ms_over_scan_ms": round(census["ms"] / scan["ms"], 4) if scan["ms"] else None,
        "census_ms_over_sweep_ms": round(census["ms"] / sweep["ms"], 4) if sweep["ms"] else None,
        "load_seconds": round(load_s, 1),
        "mean_item_bytes": round(mean_item_bytes),
        "review_projection": _projection_name(loans_table),
        "capacity": {
            "sweep": meter_summary(sweep_meter),
            "census": meter_summary(census_meter),
            "flows": meter_summary(flows_meter),
            "both_designs": meter_summary(common_meter),
            "naive": meter_summary(naive_meter),
            "index_storage_bytes": index_storage,
        },
        "assess_ms_per_loan": round(assess_ms(book), 4),
        "census_segments": shards,
        "flows_transitions": flows["transitions"],
        "flows_changes": flows["changes"],
        "flows_stream_batches": flows["stream_batches"],
        "flows_stock_items_read": flows["stock_items_read"],
        "environment": "moto (in-process DynamoDB emulation) in one Python process: times are moto's",
    }


def _projection_name(definition: Mapping[str, Any]) -> str:
    for index in definition.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] == "ReviewIndex":
            projection = index["Projection"]
            return " ".join([projection["ProjectionType"], *projection.get("NonKeyAttributes", [])])
    return "none"


def meter_summary(meter: CapacityMeter) -> dict[str, Any]:
    return {
        "requests": dict(sorted(meter.requests.items())),
        "write_units": dict(sorted(meter.write_units.items())),
        "read_units": dict(sorted(meter.read_units.items())),
    }


def storage_bytes(shadow: Mapping[str, Any], schemas: Mapping[str, TableSchema]) -> dict[str, int]:
    """Bytes each index of the benchmark's tables holds at the end (entries plus 100 bytes each)."""
    stored: dict[str, int] = {}
    for table, schema in schemas.items():
        for name, index in schema.indexes.items():
            entries = [index_entry(item, schema, index) for item in shadow.get(table, {}).values()]
            stored[f"{table}/{name}"] = sum(item_size(e) + INDEX_OVERHEAD_BYTES for e in entries if e)
    return stored


def assess_ms(book: Sequence[Any], sample: int = 500) -> float:
    """CPU time of one assessment (the work per loan both designs do), median of `sample` loans."""
    from statistics import median

    from arrears.config.playbook import bundled_playbook
    from arrears.domain.assessment import assess

    playbook = bundled_playbook()
    times = []
    for loan in book[:sample]:
        began = time.perf_counter()
        assess(loan, BENCH_DAY, playbook)
        times.append((time.perf_counter() - began) * 1000)
    return median(times) if times else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrears-bench", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.json"))
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--due-fraction", type=float, default=0.05)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--moto-serializer", action="store_true", help="keep moto's slow serialiser")
    parser.add_argument(
        "--review-projection",
        choices=("ALL", "KEYS_ONLY"),
        help="create ReviewIndex with this projection instead of the template's (to price the choice)",
    )
    parser.add_argument(
        "--event-fraction",
        type=float,
        default=0.25,
        help="share of the book last written by an event (listed by the review lister); the rest is parked",
    )
    parser.add_argument(
        "--bill-books",
        default="200,2000",
        help="comma-separated open-book sizes also measured, at --shards, for the bill by book size "
        "(`benchmarks.model.bill_by_book`; 200: the default demo's book); empty for none",
    )
    parser.add_argument("--no-archive", action="store_true", help="skip the archive section")
    parser.add_argument(
        "--cold-import-rounds",
        type=int,
        default=3,
        help="paired rounds of the handlers' cold-import measurement (0 skips it)",
    )
    args = parser.parse_args(argv)
    use_local_aws(LOCAL_AWS_ENV)  # the bench only ever talks to moto
    started = time.perf_counter()
    results: dict[str, Any] = {}
    from benchmarks.archive import archive_section

    if not args.no_archive:
        # First, with moto as it is: the archive figures count the real handler's S3 requests, and
        # the response shortcut below is only meant for the sweep's large Query/Scan pages.
        results["archive"] = archive_section()
    from benchmarks.dispatch_calls import dispatch_calls_section

    # The dispatcher's AWS calls per contact, by channel and API, through its real handler.
    results["dispatch_calls"] = dispatch_calls_section()
    if not args.moto_serializer:
        fast_dynamodb_responses()
    if args.cold_import_rounds > 0:
        from benchmarks.cold_import import cold_import_section

        # Before the sweep: fresh interpreters, not this process's moto patches.
        results["cold_import"] = cold_import_section(args.cold_import_rounds)

    def book(loans: int) -> dict[str, Any]:
        return sweep_section(
            loans,
            args.due_fraction,
            args.shards,
            args.seed,
            args.page_size,
            args.review_projection,
            args.event_fraction,
        )

    results["sweep"] = book(args.loans)
    results["cost"] = cost_section(results["sweep"])
    sizes = {int(n) for n in args.bill_books.split(",") if n.strip()} - {args.loans}
    others = [book(n) for n in sorted(sizes)]
    results["cost"]["bill_by_book"] = bill_by_book(results["sweep"], others)
    results["sweep"]["moto_json_serializer"] = "json.dumps" if not args.moto_serializer else "moto"
    results["elapsed_seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    sweep = results["sweep"]
    print(
        f"sweep: {sweep['loans']} loans, {sweep['loans_due']} due; read {sweep['items_read']} items "
        f"({sweep['items_read_per_due']} per due loan) vs scan {sweep['scan_items_read']}; "
        f"{sweep['sweep_ms']} ms vs scan {sweep['scan_ms']} ms; census read {sweep['census_items_read']} "
        f"items in {sweep['census_ms']} ms (matches the table: {sweep['census_matches_table']}); "
        f"wrote {args.out}"
    )
    stock = results["cost"]["stock_items_read_per_open_loan_daily"]
    print(
        f"daily items read per open loan: {stock['before_daily_census']} with a daily census, "
        f"{stock['after_flows']} with the stock kept from flows"
    )
    per_contact = {k: v["total"] for k, v in results["dispatch_calls"]["contacts"].items()}
    print(f"dispatcher AWS calls per contact: {per_contact}")
    return 0 if sweep["same_loans_written"] and sweep["census_matches_table"] else 1


if __name__ == "__main__":
    sys.exit(main())
