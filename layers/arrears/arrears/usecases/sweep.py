"""Daily detection as a timer wheel: fan out one task per shard, sweep each shard's due loans.

The sweep reads only the loans whose next milestone (`next_review_on`) has arrived, from the shard's
due list (`arrears.adapters.due_list`): the loans the sweep itself wrote (parked) are listed by the
sweep under their next date, and those another writer changed (onboarding, a payment, a hold...) by
the review lister from the Loans stream (`arrears.usecases.review_listing`), under their date or an
earlier one. A loan listed under an earlier date than its own (an event moved it later, or the
lister's item lists a batch under its earliest date) is listed again under its own when that entry
comes up (`_postponed`). The sparse ReviewIndex (review_shard, review_on) is read first: no writer
puts an entry there any more, and it drains the loans written before the lister existed. A loan with
no milestone today is neither read nor written: DPD and penalty are derived from dates whenever they
are needed.

Flow: `plan_sweep` -> `SweepTask`s (each over consecutive shards) on the sweep-tasks queue ->
`run_sweep_task` in the worker, which sweeps the task's shards from `start_key`, lists the parked
loans of all of them in one due-list item per next date (in the partition of the first shard it
swept), records the shards it completed in one write, and re-enqueues the rest when its time budget
runs short; the worker that completes the last shard of a business date claims the heartbeat (once
per date, whatever the retries).

Each call a task makes (a page read, a due-list write, a loan's conditional write, the run ledger's
writes, the continuation's send) is idempotent and retried alone on a transient error
(`arrears.adapters.retrying.retry_transient`): a task over a few shards makes dozens of calls, and
every redelivery of a failed task starts its range over, so at a steady rate of transient errors a
task retried whole met a fault on nearly every attempt (the 10 % fault run left sweep tasks in their
DLQ after every redrive, their loans assessed days late). A loan write applied whose answer was lost
is refused on its retry (the version moved): the loan read back as this write stored it is counted
as written.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from arrears.adapters.due_list import DueEntry
from arrears.adapters.dynamodb import DueLoansPage, LoanChange, LoanUpdate, ReviewPage, VersionConflict
from arrears.adapters.items import MalformedItem, plain
from arrears.adapters.retrying import retry_transient
from arrears.adapters.sweep_runs import RunProgress
from arrears.config.rulepacks import bundled_rule_packs, rule_pack_for
from arrears.config.settings import MAX_SHARD_COUNT
from arrears.domain.assessment import assess, collection_state_changed
from arrears.domain.business_time import latest_business_date, loan_business_date
from arrears.domain.calendar import format_utc, parse_utc
from arrears.domain.loans import Loan
from arrears.domain.playbook import CollectionPlaybook

RUN_RECORD_TTL = timedelta(days=90)


class DueListPort(Protocol):
    def add(self, shard: int, due: Mapping[str, date]) -> int: ...

    def remove(self, entries: Sequence[DueEntry]) -> None: ...


class ReviewableLoans(Protocol):
    @property
    def due_list(self) -> DueListPort: ...

    def update(self, loan_id: str, change: LoanChange, *, current: Loan | None = None) -> LoanUpdate: ...

    def save(self, loan: Loan, *, parked: bool = False) -> Loan: ...

    def due_page(
        self, shard: int, through: date, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> DueLoansPage: ...

    def review_page(
        self, shard: int, through: date, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> ReviewPage: ...


class TaskQueue(Protocol):
    def send(self, bodies: Sequence[Mapping[str, Any]]) -> int: ...


class RunLedger(Protocol):
    def shards_done(
        self, business_date: date, shards: Collection[int], shard_count: int, expires_at: int
    ) -> int: ...

    def claim_heartbeat(self, business_date: date, completed_at: str, token: str | None = None) -> bool: ...


class RunProgressReader(Protocol):
    def progress(self, business_date: date) -> RunProgress: ...


@dataclass
class ShardSweep:
    shard: int
    examined: int = 0
    milestones_hit: int = 0
    writes: int = 0
    conflicts: int = 0
    items_read: int = 0
    from_index: int = 0  # loans read through the draining ReviewIndex (written before the review lister)
    from_due_list: int = 0  # parked loans read through the due list
    due_items_written: int = 0
    due_items_removed: int = 0
    relisted: int = 0  # parked loans listed again under the later date an event moved them to
    continuation: dict[str, Any] | None = None
    changed_loan_ids: list[str] = field(default_factory=list)

    COUNTERS = (
        "examined",
        "milestones_hit",
        "writes",
        "conflicts",
        "items_read",
        "from_index",
        "from_due_list",
        "due_items_written",
        "due_items_removed",
        "relisted",
    )

    def counts(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in self.COUNTERS}


def shard_fields_body(
    business_time: datetime, shard: int, shard_count: int, start_key: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The fields every sweep-tasks message body has (sweep and census tasks alike)."""
    body: dict[str, Any] = {
        "business_time": format_utc(business_time),
        "shard": shard,
        "shard_count": shard_count,
    }
    if start_key:
        body["start_key"] = plain(start_key)
    return body


def read_shard_fields(body: Mapping[str, Any]) -> tuple[datetime, int, int, dict[str, Any] | None]:
    """(business_time, shard, shard_count, start_key) of a sweep-tasks body; ValueError if invalid."""
    shard, count = body["shard"], body["shard_count"]
    if (
        isinstance(shard, bool)
        or isinstance(count, bool)
        or not isinstance(shard, int)
        or not isinstance(count, int)
    ):
        raise ValueError("shard and shard_count must be integers")
    if not 1 <= count <= MAX_SHARD_COUNT:
        raise ValueError(f"shard_count must be in 1..{MAX_SHARD_COUNT}")
    if not 0 <= shard < count:
        raise ValueError(f"shard {shard!r} is not in 0..{count!r}-1")
    start_key = body.get("start_key")
    if start_key is not None and not isinstance(start_key, dict):
        raise ValueError("start_key must be an object")
    try:
        business_time = parse_utc(str(body["business_time"]))
    except ValueError:  # the parser's message quotes the value: input, never logged
        raise ValueError("business_time must be an ISO 8601 time with `Z` or an offset") from None
    return business_time, shard, count, start_key


@dataclass(frozen=True, slots=True)
class SweepTask:
    """One unit of sweep work: shards `shard`..`last_shard` of the sweep at `business_time`, the first
    from `start_key` on (a task of one shard when `last_shard` is None).

    Message body (docs/contracts.md): {"business_time", "shard", "shard_count", "start_key"?,
    "last_shard"?}.
    """

    business_time: datetime
    shard: int
    shard_count: int
    start_key: dict[str, Any] | None = None
    last_shard: int | None = None

    @property
    def last(self) -> int:
        """The last shard of the task (its own shard for a task of one)."""
        return self.shard if self.last_shard is None else self.last_shard

    def next_shard(self) -> SweepTask:
        """The rest of the task once its current shard is done: the next shard, from its start."""
        return SweepTask(self.business_time, self.shard + 1, self.shard_count, None, self.last_shard)

    @property
    def run_date(self) -> date:
        """The business date the run is known by (the latest any jurisdiction has reached)."""
        return latest_business_date(self.business_time, bundled_rule_packs().latest.values())

    def to_body(self) -> dict[str, Any]:
        body = shard_fields_body(self.business_time, self.shard, self.shard_count, self.start_key)
        if self.last > self.shard:
            body["last_shard"] = self.last
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> SweepTask:
        try:
            at, shard, count, start_key = read_shard_fields(body)
            last = body.get("last_shard", shard)
            if isinstance(last, bool) or not isinstance(last, int) or not shard <= last < count:
                raise ValueError("last_shard must be an integer in shard..shard_count-1")
            return cls(at, shard, count, start_key, last if last > shard else None)
        except (KeyError, ValueError, TypeError) as error:
            raise MalformedItem(f"not a sweep task: {error}") from None

    def continued(self, start_key: Mapping[str, Any]) -> SweepTask:
        return SweepTask(self.business_time, self.shard, self.shard_count, dict(start_key), self.last_shard)


@dataclass(frozen=True)
class TaskOutcome:
    """One invocation's work on a task: its counts over the shards it swept, the shards it completed,
    the rest of the task it re-enqueued (a continuation, the next shard when time ran short, or the
    shard that failed with `error`), and whether it completed the business date."""

    task: SweepTask
    result: ShardSweep
    re_enqueued: bool
    shards_completed: tuple[int, ...]
    run_completed: bool  # this call completed the business date and must emit the heartbeat
    rest: SweepTask | None = None
    error: Exception | None = None


def _due(loan: Loan, at: datetime, playbook: CollectionPlaybook) -> Loan | None:
    """The loan as assessed, when its milestone has arrived on its own business date and the
    assessment changed its collection state; None otherwise (nothing to write)."""
    on = loan_business_date(loan, at, rule_pack_for(loan.jurisdiction))
    if loan.next_review_on is None or loan.next_review_on > on:
        return None  # left the wheel, or its milestone is tomorrow on the borrower's own date
    assessed = assess(loan, on, playbook)
    return assessed if collection_state_changed(loan, assessed) else None


@dataclass
class _Pending:
    """What the sweep of a shard has assessed but not written yet: the loans to write, and the due-list
    entries read meanwhile (with their loans) to settle once those are written. Held across pages so
    that one due-list item per next date lists the loans of several pages (a page of a small book's
    shard holds a few due loans spread over many dates)."""

    assessed: dict[str, Loan] = field(default_factory=dict)
    entries: list[tuple[DueEntry, Mapping[str, Loan]]] = field(default_factory=list)


@dataclass
class _Run:
    """What one invocation of a sweep task holds across its shards: the counts (`result`), the due-list
    partition its parked loans are listed in (`list_shard`: the first shard it sweeps), the loans
    settled with the next review date they are listed under (`swept`: written by this run, or moved
    on by an event that won the race and listed by this run), and what is assessed but not written
    yet (`pending`)."""

    result: ShardSweep
    list_shard: int
    swept: dict[str, date | None] = field(default_factory=dict)
    pending: _Pending = field(default_factory=_Pending)


def _assess_page(
    page: Sequence[Loan],
    at: datetime,
    playbook: CollectionPlaybook,
    result: ShardSweep,
    swept: Mapping[str, date | None],
    pending: _Pending,
) -> None:
    """Assess a page of loans; those whose state changed join `pending` (written by `_sweep_loans`)."""
    for loan in page:
        if loan.loan_id in swept or loan.loan_id in pending.assessed:
            continue  # reached by both the index and the due list in one run
        result.examined += 1
        changed = _due(loan, at, playbook)
        if changed is not None:
            pending.assessed[loan.loan_id] = changed


def _flush(loans: ReviewableLoans, at: datetime, playbook: CollectionPlaybook, run: _Run) -> None:
    """Write what `run.pending` holds and list again the loans events postponed (`_sweep_loans`,
    `_postponed`), then delete the due-list entries it read that are settled now (`_settled`): an
    entry goes only after the loans it names were written or listed elsewhere."""
    pending, result = run.pending, run.result
    postponed = _postponed(pending.entries, pending.assessed, run.swept)
    _sweep_loans(loans, pending.assessed, at, playbook, run, postponed)
    settled = [entry for entry, listed in pending.entries if _settled(entry, listed, run.swept)]
    if settled:
        retry_transient(partial(loans.due_list.remove, settled))
        result.due_items_removed += len(settled)
    pending.assessed, pending.entries = {}, []


def _sweep_loans(
    loans: ReviewableLoans,
    assessed: Mapping[str, Loan],
    at: datetime,
    playbook: CollectionPlaybook,
    run: _Run,
    postponed: Mapping[str, date] | None = None,
) -> None:
    """Write the assessed loans whose state changed, parked, and list the `postponed` ones again
    under their dates (`_postponed`) in the same due-list items.

    First the due list: every loan to write that has a next review date is listed in the due list of
    `run.list_shard` under that date (one item per date for the loans held, whichever of the task's
    shards they belong to), and only then written parked (asking for no listing), so a crash in between
    leaves an extra list entry, never a loan the list misses. A loan listed in another shard's
    partition than its own is still reached: every partition 0..ShardCount-1 is read every day by the
    task covering it, whatever the tasks' layout that day, and that task sweeps every loan its entries
    name. Each write is conditional on the `version` read: a payment that landed in between
    makes it fail, and the loan is re-read and re-assessed from the payment's state (that write may
    ask for no listing, `LoanRepository.save`: the sweep lists it under the date it was written
    with, before an entry naming it is settled). A loan counts once in
    `milestones_hit` however many attempts it takes; `swept` collects the loans written, with the
    next review date they were written with.
    """
    result, swept = run.result, run.swept
    due = {i: a.next_review_on for i, a in assessed.items() if a.next_review_on is not None}
    if due or postponed:
        listing = {**(postponed or {}), **due}
        result.due_items_written += retry_transient(partial(loans.due_list.add, run.list_shard, listing))
        result.relisted += len(postponed or {})
    for loan_id, changed in assessed.items():
        result.milestones_hit += 1
        try:
            stored = retry_transient(partial(loans.save, changed, parked=loan_id in due))
        except VersionConflict:
            update = retry_transient(
                partial(loans.update, loan_id, lambda current: _due(current, at, playbook))
            )
            ours = changed.with_changes(version=changed.version + 1)
            if not update.written and update.loan == ours:
                stored = ours  # our own write, applied by an attempt whose answer was lost
            else:
                result.conflicts += 1 + update.conflicts
                if not update.written or update.loan is None:
                    # The event that won moved the loan on (paid, postponed...); its write may have
                    # asked for no listing, relying on the entry this run is settling: list the loan
                    # under its date now, and settle the entry on it.
                    current = update.loan
                    if current is not None and current.next_review_on is not None:
                        if current.next_review_on != due.get(loan_id):
                            result.due_items_written += retry_transient(
                                partial(loans.due_list.add, run.list_shard, {loan_id: current.next_review_on})
                            )
                        swept[loan_id] = current.next_review_on
                    continue
                stored = update.loan
                if stored.next_review_on is not None and stored.next_review_on != due.get(loan_id):
                    # the re-assessed write may stay parked (`LoanRepository.save`): list it under
                    # the date it was written with before an entry naming it is settled
                    result.due_items_written += retry_transient(
                        partial(loans.due_list.add, run.list_shard, {loan_id: stored.next_review_on})
                    )
        result.writes += 1
        result.changed_loan_ids.append(loan_id)
        swept[loan_id] = stored.next_review_on


def _postponed(
    entries: Sequence[tuple[DueEntry, Mapping[str, Loan]]],
    assessed: Collection[str],
    swept: Mapping[str, date | None],
) -> dict[str, date]:
    """The loans to list again, each under its own date: those the `entries` read name whose
    `next_review_on` is now later than the entry's and that this run neither wrote (`swept`) nor is
    about to (`assessed`). An event moved each of them later and left it parked
    (`LoanRepository.save`), so the entry being settled may be the only one naming it. They are
    listed with the loans the flush writes, in the same items, before any entry is deleted
    (`_flush`), so a crash in between leaves both. A loan the sweep had already moved to a later
    entry (an event asked for a listing, and a sweep parked it again) is listed twice:
    harmless, the sweep reads a loan once however many entries name it."""
    later: dict[str, date] = {}
    for entry, listed in entries:
        for loan_id in entry.loan_ids:
            loan = listed.get(loan_id)
            if loan is None or loan_id in swept or loan_id in assessed or loan.next_review_on is None:
                continue
            if loan.next_review_on > entry.due_on:
                later[loan_id] = loan.next_review_on
    return later


def _settled(entry: DueEntry, loans: Mapping[str, Loan], swept: Mapping[str, date | None]) -> bool:
    """Whether a due-list entry can go: each of its loans is gone, closed, or due on another date
    than the entry's (so another entry, one this flush wrote for a postponed loan included, or the
    lister's pending request holds it). A loan this run wrote counts with the
    date it was written with: an entry this run has just written (a loan one day behind on its own
    business date, due on the date being swept) is kept."""
    for loan_id in entry.loan_ids:
        if loan_id in swept:
            due_on = swept[loan_id]
        else:
            loan = loans.get(loan_id)
            due_on = None if loan is None else loan.next_review_on
        if due_on == entry.due_on:
            return False  # still due on the entry's date: keep the entry
    return True


INDEX_PHASE, DUE_PHASE = "index", "due"


def _phase(start_key: Mapping[str, Any] | None) -> tuple[str, dict[str, Any] | None]:
    """(phase, key) of a continuation: `{"phase": "due", "key"?: ...}` continues in the due list;
    anything else is a ReviewIndex key (or None: the start)."""
    if start_key and start_key.get("phase") == DUE_PHASE:
        key = start_key.get("key")
        return DUE_PHASE, dict(key) if isinstance(key, Mapping) else None
    return INDEX_PHASE, dict(start_key) if start_key else None


def sweep_shard(
    loans: ReviewableLoans,
    shard: int,
    at: datetime,
    playbook: CollectionPlaybook,
    *,
    start_key: Mapping[str, Any] | None = None,
    has_time_left: Callable[[], bool] = lambda: True,
    page_size: int = 200,
    run: _Run | None = None,
    flush_size: int | None = None,
) -> ShardSweep:
    """Sweep one shard from `start_key`: first the loans the draining ReviewIndex holds (written by an
    event, or new), then the parked loans of the due list; stops early with `continuation` set when
    time runs short.

    ReviewIndex is read `page_size` entries a page, the due list `due_page_entries(page_size)`
    entries a page (an entry names up to a thousand loans). The loans assessed are written once
    `flush_size` (default `FLUSH_PAGES` pages) of them are held, before stopping early, and when the
    shard is done (`_flush`), so a continuation's key never passes a loan not yet written. Given
    the `run` of a task over several shards, the shard's counts are added to it and what is held at
    the shard's end is left for the task to write with its next shards' loans (`run_sweep_task`). At
    least one page is processed per call, so a continuation always makes progress.
    """
    own = run is None
    if run is None:
        run = _Run(ShardSweep(shard), shard)
    result, swept, pending = run.result, run.swept, run.pending
    flush_at = flush_size if flush_size is not None else FLUSH_PAGES * page_size
    through = latest_business_date(at, bundled_rule_packs().latest.values())
    phase, key = _phase(start_key)
    while True:
        if phase == INDEX_PHASE:
            page = retry_transient(partial(loans.review_page, shard, through, key, page_size))
            result.items_read += page.scanned_count
            result.from_index += len(page.loans)
            _assess_page(page.loans, at, playbook, result, swept, pending)
            key = page.last_evaluated_key
            if key is None:
                phase = DUE_PHASE
        else:
            due = retry_transient(partial(loans.due_page, shard, through, key, due_page_entries(page_size)))
            result.items_read += due.scanned_count
            listed = [due.loans[i] for entry in due.entries for i in entry.loan_ids if i in due.loans]
            result.from_due_list += len(listed)
            _assess_page(listed, at, playbook, result, swept, pending)
            pending.entries += [(entry, due.loans) for entry in due.entries]
            key = due.last_evaluated_key
            if key is None:
                if own:
                    _flush(loans, at, playbook, run)
                return result
        if len(pending.assessed) >= flush_at:
            _flush(loans, at, playbook, run)
        if not has_time_left():
            _flush(loans, at, playbook, run)
            result.continuation = dict(key) if phase == INDEX_PHASE and key else {"phase": phase}
            if phase == DUE_PHASE and key:
                result.continuation["key"] = dict(key)
            return result


DEFAULT_LOANS_PER_TASK = 20_000

FLUSH_PAGES = 5
"""A sweep writes what it assessed once five pages' worth (1,000 loans at the default page of 200)
are held: one due-list item per next review date lists them, so the fuller the flush, the fewer and
fuller the items (a 1 KB item holds about a hundred ids; DynamoDB charges a write per started KB, and
the same again to delete it). Holding more costs memory (a loan is a few KB) and, on a crash, the work
of the loans held (assessed again, written once)."""


def due_page_entries(page_size: int) -> int:
    """Due-list entries read a page: a tenth of `page_size` (20 at the default 200), at least one.
    A page also ends before the entry that would take its loans past
    `arrears.adapters.due_list.MAX_IDS_PER_ITEM` (1,000: an entry names up to that many), so the
    loans read, assessed and written between two time checks stay bounded."""
    return max(1, page_size // 10)


def task_count(open_loans: int | None, shard_count: int, loans_per_task: int = DEFAULT_LOANS_PER_TASK) -> int:
    """How many sweep tasks a book of `open_loans` needs: ceil(open_loans / loans_per_task), at least
    one and at most one per shard; a task per shard when the book's size is unknown (None).

    The sweep reads about one item per due loan, a milestone rate (a few per cent) of the book, so
    `loans_per_task` open loans are a few hundred to a thousand due loans: well within one invocation.
    A task that runs short of time re-enqueues its continuation anyway; the size only sets how many
    invocations run side by side.
    """
    if open_loans is None:
        return shard_count
    return max(1, min(shard_count, math.ceil(max(open_loans, 0) / max(loans_per_task, 1))))


def plan_sweep(
    at: datetime,
    shard_count: int,
    open_loans: int | None = None,
    loans_per_task: int = DEFAULT_LOANS_PER_TASK,
) -> list[SweepTask]:
    """The fan-out of one sweep, all at the scheduled event's time: `task_count` tasks, each over a run
    of consecutive shards (the shards split as evenly as they go), together every shard once."""
    tasks = task_count(open_loans, shard_count, loans_per_task)
    planned, first = [], 0
    for n in range(tasks):
        last = first + shard_count // tasks + (1 if n < shard_count % tasks else 0) - 1
        planned.append(SweepTask(at, first, shard_count, None, last if last > first else None))
        first = last + 1
    return planned


def fan_out(
    at: datetime,
    shard_count: int,
    queue: TaskQueue,
    open_loans: int | None = None,
    loans_per_task: int = DEFAULT_LOANS_PER_TASK,
) -> list[SweepTask]:
    tasks = plan_sweep(at, shard_count, open_loans, loans_per_task)
    queue.send([task.to_body() for task in tasks])
    return tasks


def run_sweep_task(
    task: SweepTask,
    *,
    loans: ReviewableLoans,
    playbook: CollectionPlaybook,
    queue: TaskQueue,
    runs: RunLedger,
    has_time_left: Callable[[], bool] = lambda: True,
    page_size: int = 200,
) -> TaskOutcome:
    """Sweep a task's shards in order for as long as time is left, then write what is held, record
    the shards completed (one write), and re-enqueue the rest of the task.

    The parked loans of all the shards swept are listed together (`_Run`): one due-list item per next
    date for the invocation, not one per shard and date. The rest is the shard's continuation when
    time ran short inside it, or the next shard from its start when it ran short between shards. A
    shard that fails after others were completed fails alone: what was assessed is written, the
    shards done are recorded, and the task is re-enqueued from the failed shard (`error` set), so a
    redelivery does not start over; a failure before any shard was completed raises (the message's
    own redelivery retries it).

    Idempotent under redelivery: loans already assessed for the date are skipped (their
    `next_review_on` has moved on), a continuation sent twice sweeps a range twice (writing
    nothing the second time), and the done-shard set and the heartbeat claim are idempotent.
    """
    run = _Run(ShardSweep(task.shard), task.shard)
    done: list[int] = []
    current, rest, failure = task, None, None
    try:
        while True:
            sweep_shard(
                loans,
                current.shard,
                current.business_time,
                playbook,
                start_key=current.start_key,
                has_time_left=has_time_left,
                page_size=page_size,
                run=run,
            )
            if run.result.continuation is not None:
                rest = current.continued(run.result.continuation)
                break
            done.append(current.shard)
            if current.shard >= current.last:
                break
            current = current.next_shard()
            if not has_time_left():
                rest = current
                break
        _flush(loans, task.business_time, playbook, run)
    except Exception as error:
        if not done:
            raise
        done = done if current.shard not in done else done[:-1]
        _flush(loans, task.business_time, playbook, run)  # the shards done: their loans written first
        rest, failure = current, error
    completed = False
    if done:
        expires_at = int((task.business_time + RUN_RECORD_TTL).timestamp())
        count = retry_transient(partial(runs.shards_done, task.run_date, done, task.shard_count, expires_at))
        claim = partial(runs.claim_heartbeat, task.run_date, format_utc(task.business_time), uuid.uuid4().hex)
        completed = count >= task.shard_count and retry_transient(claim)  # one token over its attempts
    if rest is not None:
        retry_transient(partial(queue.send, [rest.to_body()]))
    return TaskOutcome(task, run.result, rest is not None, tuple(done), completed, rest, failure)


def sweep_deadline_check(at: datetime, time_zone: str, runs: RunProgressReader) -> RunProgress:
    """The progress of the sweep that started at 00:30 of `at`'s local date in `time_zone`.

    Run on a schedule from the deadline hour on: a run not `completed` at a check is late. The
    run is known by the local date of `at`: the sweep starting at 00:30 in that zone names its run
    `latest_business_date`, the latest date any jurisdiction has reached then, which is the zone's
    own date as long as some jurisdiction is at most half an hour behind the zone (so for a CN or
    US book with the zone of either).
    """
    return runs.progress(at.astimezone(ZoneInfo(time_zone)).date())
