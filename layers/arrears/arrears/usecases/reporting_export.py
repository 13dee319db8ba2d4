"""The reporting export: the `loans` and `transitions` rows the outcome report's SQL reads.

One export is a **snapshot** named by its business date: every loan of the Loans table as a `loans`
row, and every bucket transition of the DelinquencyHistory table as a `transitions` row, written as
gzipped JSON Lines parts (`ReportingSink`), then a completion marker with the row counts. The same
rows feed DuckDB locally (the demo downloads the snapshot into `out/data/`) and Athena in AWS
(`infrastructure/athena/reporting.sql` reads the latest complete snapshot), so the report's queries
(`tools/arrears_report/sql/`) run unchanged on both (docs/reporting.md).

**Split by Scan segment**, so a book of any size finishes inside Lambda's 15 minutes:

1. `plan_export` (the scheduled invocation) sizes the export from the book (`segments_for`: the
   loans the BookStock counters hold, `loans_per_segment` each, at most `MAX_SEGMENTS`), writes the
   plan (`ExportPlan`, `exports/snapshot=<date>/plan.json`) and sends one `SegmentTask` per (table,
   segment) to the reporting-segments queue.
2. `export_segment` (one queue message) reads its segment of a parallel Scan (`Segment`,
   `TotalSegments`) page by page and writes its parts; a part is `part_items` items read (a fixed
   number of pages of `page_limit` items), so the parts of a segment are the same whoever writes
   them. When the invocation runs short of time after a part, the rest of the segment is re-queued
   from the part's `LastEvaluatedKey` (`SegmentTask.continued`). The segment's last invocation
   removes the parts a previous run of the segment wrote beyond its count and writes the segment's
   marker (rows, parts).
   **A continuation is followed once.** SQS may hold two copies of one: a send whose answer was lost
   and that was sent again, or an invocation that sent its continuation and died before its message
   was deleted (redelivered, it sends another). Each copy would continue the segment again, and
   every later fault would double a chain again. So after sending a continuation the segment records
   its progress (`exports/snapshot=<date>/progress/<table>-<segment>.json`: the run and the part the
   continuation starts at; at the segment's end, once it is marked and the completion tried, the
   part after its last), and a task whose part is behind the recorded progress of its run is
   dropped (`SegmentOutcome.duplicate`): its work is done and its continuation handed over. The
   progress is written after the send, never before, so a task is never dropped whose continuation
   was not sent; what remains is two copies read at the same moment, each then sending one more
   continuation, the next of which is dropped.
3. The segment whose marker makes the plan's set whole writes the snapshot's completion marker, once
   (a conditional put: two segments finishing together, or a redelivered one, cannot write it twice).

A **run** is named by the scheduled time (`ExportPlan.run`): a retried schedule (the same event) finds
its plan and sends the same tasks again (each segment rewrites the same parts; the completion stays
written once); a new run of the same snapshot date (an operator's re-run) first removes the
snapshot's completion marker, so readers keep the previous complete snapshot until this one is whole,
and a task of an older run is dropped (`SegmentOutcome.superseded`).

Rows carry no borrower id and no personal data: reporting dimensions (jurisdiction, strategy arm,
disbursement date, currency), state (status, bucket, DPD) and money in integer minor units.
`balance_minor` is what the loan owes on the snapshot's date (`total_outstanding`: principal,
interest and penalty due, after every payment applied).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial
from typing import Any, Protocol

from arrears.adapters.items import MalformedItem, json_object
from arrears.adapters.retrying import retry_transient
from arrears.domain.calendar import format_utc, parse_utc
from arrears.domain.loans import Loan
from arrears.domain.penalties import total_outstanding

__all__ = [
    "LOANS_PER_SEGMENT",
    "MAX_SEGMENTS",
    "PAGE_LIMIT",
    "PART_ITEMS",
    "TABLES",
    "ExportPlan",
    "PlanOutcome",
    "ReportingSink",
    "SegmentMarker",
    "SegmentOutcome",
    "SegmentSource",
    "SegmentTask",
    "TaskQueue",
    "completion_counts",
    "export_segment",
    "loan_row",
    "parse_segment_task",
    "plan_export",
    "segments_for",
    "transition_rows",
]

TABLES = ("loans", "transitions")
"""The snapshot's tables, in the order their tasks are sent."""

PART_ITEMS = 50_000
"""Items read per part: about 10 MB of JSON before compression, well inside a function's memory."""
PAGE_LIMIT = 1_000
"""Items asked per Scan page (`Limit`; DynamoDB also ends a page at 1 MB)."""
LOANS_PER_SEGMENT = 500_000
"""Loans per segment by default: at the ~3,800 loans a second a 1,024 MB function (0.6 vCPU) reads,
converts and compresses (6,300 a CPU second measured, docs/reporting.md), some 2 minutes of a
15-minute function; a slower segment re-queues its rest."""
MAX_SEGMENTS = 1_000
"""The most segments a plan sends per table (10 million loans need 20 at the default size)."""
MAX_START_KEY_FIELDS = 4

Row = dict[str, Any]


def loan_row(loan: Loan, on: date) -> Row:
    """A loan as a `loans` row; `balance_minor` is what is owed on `on` (minor units)."""
    return {
        "loan_id": loan.loan_id,
        "jurisdiction": loan.jurisdiction,
        "strategy_arm": loan.strategy_arm,
        "disbursed_on": loan.disbursed_on.isoformat(),
        "currency": loan.currency,
        "principal_minor": loan.principal_minor,
        "status": loan.status.value,
        "bucket": loan.bucket,
        "dpd": loan.dpd,
        "charged_off_on": loan.charged_off_on.isoformat() if loan.charged_off_on else None,
        "recovered_minor": loan.recovered_minor,
        "balance_minor": total_outstanding(loan, on),
    }


def transition_rows(history_item: Mapping[str, Any]) -> list[Row]:
    """One DelinquencyHistory item's transitions (plain values) as `transitions` rows, in version order."""
    rows = [
        {
            "loan_id": history_item["loan_id"],
            "jurisdiction": history_item["jurisdiction"],
            "strategy_arm": history_item["strategy_arm"],
            "disbursed_on": history_item["disbursed_on"],
            "changed_on": raw["on"],
            "from_state": raw.get("from_state"),
            "to_state": raw["to_state"],
            "dpd": int(raw["dpd"]),
            "version": int(raw["version"]),
        }
        for raw in history_item.get("transitions", [])
    ]
    return sorted(rows, key=lambda row: row["version"])


# -- sizing and the plan ----------------------------------------------------------------------------


def segments_for(book_loans: int, loans_per_segment: int = LOANS_PER_SEGMENT) -> int:
    """Scan segments per table for a book of `book_loans` loans: ceil(loans / `loans_per_segment`),
    at least 1 and at most `MAX_SEGMENTS`. ValueError if `loans_per_segment` < 1."""
    if loans_per_segment < 1:
        raise ValueError("loans_per_segment must be at least 1")
    return max(1, min(MAX_SEGMENTS, math.ceil(max(book_loans, 0) / loans_per_segment)))


def _int_in(body: Mapping[str, Any], name: str, low: int, high: int, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in {low}..{high}")
    return value


def _snapshot_and_run(body: Mapping[str, Any]) -> tuple[date, str]:
    try:
        snapshot = date.fromisoformat(str(body["snapshot"]))
    except ValueError:  # the parser's message quotes the value: input, never logged
        raise ValueError("snapshot must be an ISO date (YYYY-MM-DD)") from None
    try:
        run = format_utc(parse_utc(str(body["run"])))
    except ValueError:
        raise ValueError("run must be an ISO 8601 time with `Z` or an offset") from None
    return snapshot, run


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """One run of a snapshot's export: `segments` Scan segments for each of `tables`.

    `run` is the scheduled time that started it (UTC, `2026-03-20T15:00:00Z`); `book_loans` the loans
    the plan was sized from. Stored as `exports/snapshot=<date>/plan.json` (`to_body`)."""

    snapshot: date
    run: str
    segments: int
    tables: tuple[str, ...] = TABLES
    book_loans: int = 0

    def tasks(self) -> list[SegmentTask]:
        """One task per (table, segment), tables in order."""
        return [
            SegmentTask(self.snapshot, self.run, table, segment, self.segments)
            for table in self.tables
            for segment in range(self.segments)
        ]

    def to_body(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot.isoformat(),
            "run": self.run,
            "segments": self.segments,
            "tables": list(self.tables),
            "book_loans": self.book_loans,
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ExportPlan:
        """A stored plan; MalformedItem if it is not one."""
        try:
            snapshot, run = _snapshot_and_run(body)
            tables = body.get("tables", list(TABLES))
            if not isinstance(tables, list) or not tables or not set(tables) <= set(TABLES):
                raise ValueError(f"tables must be a non-empty list of {', '.join(TABLES)}")
            return cls(
                snapshot,
                run,
                _int_in(body, "segments", 1, MAX_SEGMENTS),
                tuple(str(t) for t in tables),
                _int_in(body, "book_loans", 0, 10**12, 0),
            )
        except (KeyError, ValueError, TypeError) as error:
            raise MalformedItem(f"not an export plan: {error}") from None


@dataclass(frozen=True, slots=True)
class SegmentTask:
    """One reporting-segments message: segment `segment` of `segments` of `table`'s Scan, for the
    run `run` of `snapshot`, from `start_key` on (None: its start), its next part numbered `part`.

    `rows` and `parts` are what the segment's earlier invocations wrote, `invocation` counts this
    one (1 for the planned task). Body (docs/reporting.md): {"snapshot", "run", "table", "segment",
    "segments", "start_key"?, "part"?, "rows"?, "invocation"?}.
    """

    snapshot: date
    run: str
    table: str
    segment: int
    segments: int
    start_key: dict[str, Any] | None = None
    part: int = 0
    rows: int = 0
    invocation: int = 1

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "snapshot": self.snapshot.isoformat(),
            "run": self.run,
            "table": self.table,
            "segment": self.segment,
            "segments": self.segments,
        }
        if self.start_key is not None:
            body.update(start_key=self.start_key, part=self.part, rows=self.rows, invocation=self.invocation)
        return body

    def continued(self, start_key: Mapping[str, Any], part: int, rows: int) -> SegmentTask:
        """The rest of the segment, from `start_key` on, its next part `part`, `rows` written so far."""
        return replace(self, start_key=dict(start_key), part=part, rows=rows, invocation=self.invocation + 1)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> SegmentTask:
        """The task of a message body (a JSON object); MalformedItem saying which field is wrong."""
        try:
            snapshot, run = _snapshot_and_run(body)
            table = body["table"]
            if table not in TABLES:
                raise ValueError(f"table must be one of {', '.join(TABLES)}")
            segments = _int_in(body, "segments", 1, MAX_SEGMENTS)
            segment = _int_in(body, "segment", 0, segments - 1)
            start_key = body.get("start_key")
            if start_key is not None and not (
                isinstance(start_key, dict)
                and 0 < len(start_key) <= MAX_START_KEY_FIELDS
                and all(
                    isinstance(k, str) and isinstance(v, str | int) and not isinstance(v, bool)
                    for k, v in start_key.items()
                )
            ):
                raise ValueError("start_key must be an object of key attributes (strings or integers)")
            return cls(
                snapshot,
                run,
                str(table),
                segment,
                segments,
                start_key,
                _int_in(body, "part", 0, 10**6, 0),
                _int_in(body, "rows", 0, 10**12, 0),
                _int_in(body, "invocation", 1, 10**6, 1),
            )
        except (KeyError, ValueError, TypeError) as error:
            raise MalformedItem(f"not a reporting segment task: {error}") from None


def parse_segment_task(text: str | bytes) -> SegmentTask:
    """A reporting-segments message body; MalformedItem for anything else (not JSON, not an object,
    a missing or wrong field: the reason names the field, never its value)."""
    return SegmentTask.from_body(json_object(text, "reporting segment"))


# -- the ports ---------------------------------------------------------------------------------------


class SegmentSource(Protocol):
    """The Loans and DelinquencyHistory tables as segments of a parallel Scan: each page is its items
    (loans; DelinquencyHistory items as plain values) and the key to continue from (None: the
    segment is read)."""

    def loan_page(
        self, segment: int, segments: int, start_key: Mapping[str, Any] | None, limit: int
    ) -> tuple[Sequence[Loan], dict[str, Any] | None]: ...

    def history_page(
        self, segment: int, segments: int, start_key: Mapping[str, Any] | None, limit: int
    ) -> tuple[Sequence[Mapping[str, Any]], dict[str, Any] | None]: ...


@dataclass(frozen=True, slots=True)
class SegmentMarker:
    """What a segment of a run wrote, kept beside the plan until the snapshot's next run
    (`exports/snapshot=<date>/segments/<table>-<segment>.json`)."""

    run: str
    table: str
    segment: int
    rows: int
    parts: int
    invocations: int = 1
    stale_parts_removed: int = 0

    def to_body(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "table": self.table,
            "segment": self.segment,
            "rows": self.rows,
            "parts": self.parts,
            "invocations": self.invocations,
            "stale_parts_removed": self.stale_parts_removed,
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> SegmentMarker:
        """A stored marker; MalformedItem if it is not one."""
        try:
            return cls(
                str(body["run"]),
                str(body["table"]),
                _int_in(body, "segment", 0, MAX_SEGMENTS - 1),
                _int_in(body, "rows", 0, 10**12),
                _int_in(body, "parts", 0, 10**6),
                _int_in(body, "invocations", 1, 10**6, 1),
                _int_in(body, "stale_parts_removed", 0, 10**6, 0),
            )
        except (KeyError, ValueError, TypeError) as error:
            raise MalformedItem(f"not a segment marker: {error}") from None


class ReportingSink(Protocol):
    """Where a snapshot's plan, parts and markers go (adapters.reporting_store.ReportingStore in AWS).
    Plans and markers cross it as JSON objects (`ExportPlan.to_body`, `SegmentMarker.to_body`). The
    sink retries each of its own calls on a transient error (a method may make many: every marker
    read, every stale object removed), so its methods are called once here."""

    def read_plan(self, snapshot: date) -> Mapping[str, Any] | None:
        """The snapshot's plan, or None when there is none."""
        ...

    def begin_run(self, snapshot: date, plan: Mapping[str, Any], segments: int) -> int:
        """Make way for a new run of `snapshot`: remove its completion marker (first), store `plan`,
        then remove its segment markers and the parts outside the plan (segments numbered
        `segments` and above, and parts of an export not split by segment); how many parts were
        removed."""
        ...

    def write_part(self, table: str, snapshot: date, segment: int, number: int, rows: list[Row]) -> None:
        """Write part `number` (0, 1, ...) of `table`'s segment `segment` of `snapshot`, replacing one
        of that name."""
        ...

    def drop_parts_from(self, table: str, snapshot: date, segment: int, number: int) -> int:
        """Remove the segment's parts numbered `number` and above; how many were removed."""
        ...

    def mark_segment(self, snapshot: date, table: str, segment: int, marker: Mapping[str, Any]) -> None:
        """Write (or rewrite) the segment's marker."""
        ...

    def segment_markers(self, snapshot: date) -> list[Mapping[str, Any]]:
        """Every segment marker of `snapshot` (of any run)."""
        ...

    def complete_once(self, snapshot: date, counts: Mapping[str, Any], writer: str) -> bool:
        """Write the snapshot's completion marker unless it exists; True when this call wrote it
        (`writer` names the call, so an attempt refused after an earlier attempt of it was applied
        is recognised as this call's write)."""
        ...

    def read_progress(self, snapshot: date, table: str, segment: int) -> Mapping[str, Any] | None:
        """The segment's progress ({"run", "part"}: the part its last continuation sent starts at), or
        None when none was recorded."""
        ...

    def write_progress(self, snapshot: date, table: str, segment: int, progress: Mapping[str, Any]) -> None:
        """Record (or move) the segment's progress."""
        ...


class TaskQueue(Protocol):
    """The reporting-segments queue."""

    def send(self, bodies: Sequence[Mapping[str, Any]]) -> int: ...


# -- the scheduled invocation: the plan --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """The plan a schedule started (or found, for a retried schedule) and the tasks it sent."""

    plan: ExportPlan
    new_run: bool
    tasks_sent: int
    stale_parts_removed: int


def plan_export(
    snapshot: date,
    at: datetime,
    book_loans: int,
    sink: ReportingSink,
    queue: TaskQueue,
    loans_per_segment: int = LOANS_PER_SEGMENT,
) -> PlanOutcome:
    """Start (or, for a retried schedule, resume) the export of `snapshot` scheduled at `at`.

    `book_loans`: the loans of the book (open and closed: the BookStock counters' total), which sizes
    the plan (`segments_for`). A plan of the same run already stored is used as it is (its tasks are
    sent again: a retried schedule whose first attempt failed while sending); otherwise the run is
    new (`ReportingSink.begin_run`). Raises what the sink or the queue raise (the schedule retries)."""
    run = format_utc(at)
    stored = sink.read_plan(snapshot)
    found = None if stored is None else ExportPlan.from_body(stored)
    removed = 0
    if found is not None and found.run == run:
        plan, new_run = found, False
    else:
        plan = ExportPlan(snapshot, run, segments_for(book_loans, loans_per_segment), TABLES, book_loans)
        removed = sink.begin_run(snapshot, plan.to_body(), plan.segments)
        new_run = True
    sent = retry_transient(partial(queue.send, [task.to_body() for task in plan.tasks()]))
    return PlanOutcome(plan, new_run, sent, removed)


# -- one queue message: a segment ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentOutcome:
    """What one invocation did of a segment task.

    `superseded`: the task belongs to no current plan (an older run of the snapshot): nothing read or
    written. `duplicate`: a copy of a task whose continuation was already sent (the segment's
    progress is past its part): nothing read or written. `continued`: the rest was re-queued.
    `marker`: the segment's marker, once it is read whole. `completed`: this invocation wrote the
    snapshot's completion marker (`counts`: its rows and parts per table)."""

    task: SegmentTask
    items_read: int = 0
    rows_written: int = 0
    parts_written: int = 0
    superseded: bool = False
    duplicate: bool = False
    continued: bool = False
    marker: SegmentMarker | None = None
    completed: bool = False
    counts: dict[str, Any] = field(default_factory=dict)


def _rows_of(table: str, items: Iterable[Any], snapshot: date) -> list[Row]:
    if table == "loans":
        return [loan_row(loan, snapshot) for loan in items]
    return [row for item in items for row in transition_rows(item)]


def export_segment(
    task: SegmentTask,
    source: SegmentSource,
    sink: ReportingSink,
    queue: TaskQueue,
    *,
    has_time_left: Callable[[], bool] = lambda: True,
    part_items: int = PART_ITEMS,
) -> SegmentOutcome:
    """Read the task's segment from its start key on and write its parts; re-queue the rest when time
    runs short after a part; at the segment's end, mark it and complete the snapshot if it was the last.

    A part is the rows of `ceil(part_items / page_limit)` Scan pages of `page_limit = min(part_items,
    PAGE_LIMIT)` items, so a redelivered task (or a continuation run twice) writes the same parts
    under the same names. Raises LookupError when the snapshot has no plan (the message then fails
    and reaches the queue's DLQ); what the source, sink or queue raise propagates (the message is
    retried). Each call to the source, sink and queue is idempotent (the same key and bytes, a
    conditional completion, a continuation whose second copy is dropped), so one that meets a
    transient error is made again alone (`arrears.adapters.retrying.retry_transient`; the sink
    retries its own calls). A task behind the segment's recorded progress is dropped (module
    docstring: a continuation is followed once)."""
    stored = sink.read_plan(task.snapshot)
    if stored is None:
        raise LookupError(f"the reporting snapshot {task.snapshot.isoformat()} has no plan")
    plan = ExportPlan.from_body(stored)
    if plan.run != task.run or plan.segments != task.segments or task.table not in plan.tables:
        return SegmentOutcome(task, superseded=True)
    if _behind_progress(task, sink):
        return SegmentOutcome(task, duplicate=True)
    limit = min(part_items, PAGE_LIMIT)
    pages_per_part = math.ceil(part_items / limit)
    read: Callable[..., tuple[Sequence[Any], dict[str, Any] | None]] = (
        source.loan_page if task.table == "loans" else source.history_page
    )
    start_key, part, rows = task.start_key, task.part, task.rows
    items_read = rows_written = parts_written = 0
    while True:
        buffered: list[Row] = []
        for _ in range(pages_per_part):
            items, start_key = retry_transient(partial(read, task.segment, task.segments, start_key, limit))
            items_read += len(items)
            buffered.extend(_rows_of(task.table, items, task.snapshot))
            if start_key is None:
                break
        if buffered:
            sink.write_part(task.table, task.snapshot, task.segment, part, buffered)
            part, rows = part + 1, rows + len(buffered)
            rows_written, parts_written = rows_written + len(buffered), parts_written + 1
        if start_key is None:
            break
        if not has_time_left():
            rest = task.continued(start_key, part, rows)
            retry_transient(partial(queue.send, [rest.to_body()]))
            _record_progress(task, rest.part, sink)  # after the send: dropped only once it is queued
            return SegmentOutcome(task, items_read, rows_written, parts_written, continued=True)
    stale = sink.drop_parts_from(task.table, task.snapshot, task.segment, part)
    marker = SegmentMarker(task.run, task.table, task.segment, rows, part, task.invocation, stale)
    sink.mark_segment(task.snapshot, task.table, task.segment, marker.to_body())
    completed, counts = _complete_if_last(plan, sink, writer=f"{task.table}-{task.segment}#{task.invocation}")
    _record_progress(task, part, sink)  # the segment's end: a copy of its last task is dropped too
    return SegmentOutcome(
        task, items_read, rows_written, parts_written, marker=marker, completed=completed, counts=counts
    )


def _behind_progress(task: SegmentTask, sink: ReportingSink) -> bool:
    """Whether the segment's recorded progress in the task's run is past the task's part (a copy of a
    task already continued). A progress that is not one (malformed) is read as none: the task runs."""
    found = sink.read_progress(task.snapshot, task.table, task.segment)
    if found is None or found.get("run") != task.run:
        return False
    part = found.get("part")
    return isinstance(part, int) and not isinstance(part, bool) and part > task.part


def _record_progress(task: SegmentTask, part: int, sink: ReportingSink) -> None:
    """Record that the task's segment (of its run) is handed over up to `part`."""
    progress = {"run": task.run, "part": part}
    sink.write_progress(task.snapshot, task.table, task.segment, progress)


def completion_counts(plan: ExportPlan, markers: Iterable[SegmentMarker]) -> dict[str, Any] | None:
    """The completion marker's body when `markers` hold every (table, segment) of `plan`'s run, else
    None: rows and parts per table, the segments, and the parts the segments removed."""
    mine = {(m.table, m.segment): m for m in markers if m.run == plan.run and m.segment < plan.segments}
    if len(mine) < len(plan.tables) * plan.segments:
        return None
    return {
        "run": plan.run,
        "segments": plan.segments,
        "rows": {t: sum(m.rows for (table, _), m in mine.items() if table == t) for t in plan.tables},
        "parts": {t: sum(m.parts for (table, _), m in mine.items() if table == t) for t in plan.tables},
        "invocations": sum(m.invocations for m in mine.values()),
        "stale_parts_removed": sum(m.stale_parts_removed for m in mine.values()),
    }


def _complete_if_last(plan: ExportPlan, sink: ReportingSink, writer: str) -> tuple[bool, dict[str, Any]]:
    """Written after this segment's marker: the segment that finishes last sees every marker (and two
    finishing together both may: the conditional put lets one of them write)."""
    bodies = sink.segment_markers(plan.snapshot)
    markers = [SegmentMarker.from_body(body) for body in bodies]
    counts = completion_counts(plan, markers)
    if counts is None:
        return False, {}
    return sink.complete_once(plan.snapshot, counts, writer), counts
