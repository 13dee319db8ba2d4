"""The core daily loop of a book, on either local cloud: what the equivalence test and `arrears-whatif` run.

`CoreRun` drives the production handlers through simulated days with the events of the collections
core only: the template's schedules of the sweep (start, workers, deadline check) and of the
deferred release, the loans' streams (planner, dispatcher, archiver), and the borrowers' payments and
returned payments, sent as the lending core's `PaymentReceived` / `PaymentReversed` on LoanEventsBus
(`Simulation._pay`, `_reverse`). The payments follow the book's fixed schedule
(`Simulation._payment_times`), or, with `react_seed`, the reacting borrowers' model for the borrowers
it drives (`localcloud.reactions`, as in the demo): each decides day by day whether to pay, more
likely in the days after a text or an e-mail reached them, and answers with hardship and disputes
(HoldChanged on LoanEventsBus); there is no dialer, desk, text reply or API on this path, so calls go
unanswered (and no promise to pay is made: promises come from conversations), and an opt-out, a
complaint or a plan request is recorded only.

The same `CoreRun` runs over `LocalCloud` (moto) or `MemoryCloud` (localcloud.memory.cloud): what it
does is identical, so the two runs of one seed must leave identical tables and archive. The moto
demo's other actors (the dialer and the collectors' desk, replies by text, the HTTP API's borrowers,
erasure requests) are not part of this loop: the fast path answers
"what if this book ran under this strategy for N days", and the full demo stays on moto.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from arrears.adapters.container import Container
from arrears.adapters.items import plain
from arrears.adapters.tables import all_items
from arrears.config.playbook import bundled_playbook
from arrears.usecases.onboarding import register_loan
from localcloud.book import BookEntry
from localcloud.cloud import LocalCloud
from localcloud.intents import EventBusIntents
from localcloud.reactions import ReactingBorrowers, manages
from localcloud.schedules import Schedule, firings_of
from localcloud.simulation import RunStats, Simulation
from localcloud.stack import LocalStack

CoreRunParts = tuple[LocalCloud, Container]

CORE_SCHEDULES = ("SweepFunction", "SweepDeadlineFunction", "DeferredReleaseFunction")


class CoreRun:
    """A book on a cloud, run day by day through the core loop (see the module docstring)."""

    def __init__(
        self,
        cloud: LocalCloud,
        container: Container,
        book: list[BookEntry],
        start: date,
        *,
        react_seed: int | None = None,
    ) -> None:
        self.cloud = cloud
        self.container = container
        self.loans = container.loans
        self.start = start
        self.book = book
        self.entries = {entry.loan.loan_id: entry for entry in book}
        self.stats = RunStats()
        self.deferred_ticks_skipped = 0
        self.schedules = [
            Schedule.from_properties(name, source.properties, cloud.stack.resolve)
            for name, function in cloud.stack.functions.items()
            if name in CORE_SCHEDULES
            for source in function.events
            if source.kind == "schedule"
        ]
        self.reactions: ReactingBorrowers | None = None
        if react_seed is not None:
            self.reactions = ReactingBorrowers(
                book,
                react_seed,
                start,
                EventBusIntents(cloud, None),
                cloud.stack.physical["RemindersTopic"],
                cloud,
            )

    # The moto demo's own code for the lending core's side, shared (not copied): these methods read
    # only `start`, `entries`, `loans`, `cloud` and `stats`, which a CoreRun has too.
    _local: Any = Simulation._local
    _payment_times: Any = Simulation._payment_times
    _pay: Any = Simulation._pay
    _reverse: Any = Simulation._reverse
    _sweep_known_finished: Any = Simulation._sweep_known_finished
    _record_deadline_check: Any = Simulation._record_deadline_check

    def load(self) -> None:
        """Register every loan and borrower, and each loan's payments before the run."""
        for entry in self.book:
            register_loan(
                entry.loan,
                entry.borrower,
                self.cloud.clock,
                loans=self.loans,
                borrowers=self.container.borrowers,
                playbook=bundled_playbook(),
            )
            zone = ZoneInfo(entry.borrower.timezone)
            for item in entry.history:
                at = datetime.combine(item.value_date, clock_time(12), tzinfo=zone).astimezone(UTC)
                self.container.payments.record(entry.loan.loan_id, item, at)
        self.cloud.settle()

    def _deferred_idle(self, moment: datetime) -> bool:
        """Whether a deferred-release tick at `moment` would find nothing due (skipped, as the demo
        skips them: an idle tick changes nothing)."""
        return next(iter(self.container.actions.deferred_due(moment, limit=1)), None) is None

    def run(self, days: int, progress: Callable[[datetime], None] | None = None) -> None:
        begin = datetime.combine(self.start, datetime.min.time(), tzinfo=UTC)
        end = begin + timedelta(days=days)
        queue: list[tuple[datetime, int, str, tuple[Any, ...]]] = []
        order = 0
        for moment, schedule in firings_of(self.schedules, begin, end):
            heapq.heappush(queue, (moment, order, "schedule", (schedule.function,)))
            order += 1
        reactions = self.reactions
        if reactions is not None:
            for moment in reactions.days(begin, end):
                heapq.heappush(queue, (moment, order, "borrowers-day", ()))
                order += 1
        for entry in self.book:
            if reactions is not None and manages(entry):
                continue  # the behaviour model decides when this borrower pays
            for moment, kind, args in self._payment_times(entry, end):
                # A payment on the first local day east of UTC can be before the run's first UTC
                # instant (07:17 in Shanghai on day one): it arrives as the run starts.
                heapq.heappush(queue, (max(moment, begin), order, kind, args))
                order += 1
        while queue:
            moment, _, kind, args = heapq.heappop(queue)
            self.cloud.advance_to(moment)
            if kind == "schedule":
                if args[0] == "DeferredReleaseFunction" and self._deferred_idle(moment):
                    self.deferred_ticks_skipped += 1
                    continue
                if args[0] == "SweepDeadlineFunction" and self._sweep_known_finished(moment):
                    self.stats.deadline_checks_skipped += 1
                    continue
                response = self.cloud.schedule(args[0])
                if args[0] == "SweepDeadlineFunction":
                    self._record_deadline_check(response)
            elif kind == "reverse":
                self._reverse(*args)
            elif kind == "borrowers-day" and reactions is not None:
                for later, next_kind, next_args in reactions.day(moment):
                    if later < end:
                        heapq.heappush(queue, (max(later, moment), order, next_kind, next_args))
                        order += 1
            else:
                self._pay(*args)
            if reactions is not None:
                reactions.observe(self.cloud.clock)
            if progress is not None:
                progress(moment)
        self.cloud.advance_to(end)
        self.cloud.settle()
        self.stats.invocations = Counter(self.cloud.counts)

    # -- what the run left ----------------------------------------------------------------------

    def table(self, logical_id: str) -> list[dict[str, Any]]:
        """Every item of a table (plain JSON values), sorted by its key attributes' text."""
        name = self.cloud.stack.physical[logical_id]
        items = [plain(item) for item in all_items(self.container._dynamodb.Table(name).scan)]
        return sorted(items, key=lambda item: sorted((k, str(v)) for k, v in item.items()))

    def archive(self) -> dict[str, bytes]:
        """Every object of the archive bucket, by key."""
        s3 = self.container.client("s3")
        bucket = self.cloud.stack.physical["ArchiveBucket"]
        keys = [
            str(entry["Key"])
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for entry in page.get("Contents", [])
        ]
        return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in sorted(keys)}

    def figures(self) -> dict[str, Any]:
        """The run's headline figures, from its tables: loans by state, contacts by channel and
        outcome, bucket transitions, payments."""
        loans = self.table("LoansTable")
        contacts = self.table("ContactsTable")
        states: Counter[str] = Counter(
            str(loan["bucket"]) if loan["status"] == "OPEN" else str(loan["status"]) for loan in loans
        )
        outcomes: Counter[str] = Counter(f"{c['channel']}:{c['status']}" for c in contacts)
        return {
            "loans": len(loans),
            "loans_by_state": dict(sorted(states.items())),
            "contacts_by_channel_and_outcome": dict(sorted(outcomes.items())),
            "payments": {
                "sent": self.stats.payments_sent,
                "applied": self.stats.payments_applied,
                "cures": self.stats.cures,
                "reversals_applied": self.stats.reversals_applied,
            },
            "invocations": dict(sorted(self.stats.invocations.items())),
            "deferred_ticks_skipped": self.deferred_ticks_skipped,
            "deadline_checks_skipped": self.stats.deadline_checks_skipped,
        }


def on_moto(stack: LocalStack, start: date) -> CoreRunParts:
    """The moto local cloud of `stack` (deployed, moto active) and a container over it."""
    import boto3

    begin = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    cloud = LocalCloud(stack, start=begin, keep_invocations=False, expire_ttl=True)
    return cloud, Container(_settings(stack), boto3.session.Session(), cloud.simulated_clock)


def in_memory(stack: LocalStack, start: date, seed: int, *, trim_streams: bool = False) -> CoreRunParts:
    """The fast path's cloud for `stack`: a `MemoryWorld` declared from the same template, routed by
    `MemoryCloud`, and a `MemoryContainer` over it (moto is read once, for secrets and parameters).
    `trim_streams`: drop the stream records every consumer has read (a long run's memory)."""
    from localcloud.memory.cloud import MemoryCloud
    from localcloud.memory.world import MemoryContainer, MemoryWorld
    from localcloud.simulation import template_path
    from localcloud.stack import load_template

    begin = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    world = MemoryWorld.of(stack, load_template(template_path()), seed)
    cloud = MemoryCloud(
        stack, world, start=begin, keep_invocations=False, expire_ttl=True, trim_streams=trim_streams
    )
    return cloud, MemoryContainer(_settings(stack), world, cloud.simulated_clock)


def _settings(stack: LocalStack) -> Any:
    from arrears.config.settings import load_settings

    functions = stack.functions
    return load_settings(
        {**functions["DispatcherFunction"].environment, **functions["SweepFunction"].environment}
    )
