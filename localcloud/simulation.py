"""Drive the real handlers through simulated days on moto: the engine behind `make demo`."""

from __future__ import annotations

import heapq
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import boto3
from boto3.dynamodb.conditions import Key

from arrears.adapters.container import Container
from arrears.adapters.dynamodb import DEFERRED_INDEX, BorrowerRepository, LoanRepository
from arrears.adapters.items import DEFERRED_PARTITION, plain
from arrears.adapters.payments_ledger import PaymentLedger
from arrears.adapters.tables import all_items
from arrears.config.playbook import bundled_playbook
from arrears.config.settings import load_settings
from arrears.domain.archive import Manifest
from arrears.domain.calendar import format_utc, parse_utc
from arrears.domain.loans import LoanStatus
from arrears.domain.penalties import amount_due
from arrears.usecases.onboarding import register_loan
from localcloud.book import REVERSAL_AFTER_DAYS, Behaviour, BookEntry, generate_book, pay_day, recovery_day
from localcloud.book_stock import book_stock_summary
from localcloud.borrower_voice import SimulatedVoices, api_summary
from localcloud.cloud import LocalCloud, stream_length
from localcloud.compliance_report import bureau_summary, validation_notice_summary
from localcloud.desk import SimulatedDesk, desk_summary
from localcloud.dialer import KINDS as DIALER_EVENTS
from localcloud.dialer import SimulatedDialer
from localcloud.emf import MetricPoint, MetricTotals, emf_points, emf_totals_keeping
from localcloud.erasures import SimulatedErasures, erasure_summary, fold_erasure_invariant
from localcloud.export import DEMO_BUDGETS_MS, DEMO_PARAMETERS, copies_dropped
from localcloud.faults import FaultInjector, FaultPlan, refused_sends_outcome
from localcloud.http_api import LocalHttpApi
from localcloud.imported_book import import_file, imported, planned_entries
from localcloud.intents import EventBusIntents
from localcloud.invariants import OPERATOR_DELAY, EffectLog, check, recover, redrive_during_run
from localcloud.legal_cases import case_file_summary
from localcloud.lending_core import SimulatedLendingCore, lending_core_summary
from localcloud.optouts import SimulatedReplies, opt_out_summary
from localcloud.plan_voices import ApiVoice
from localcloud.reactions import ReactingBorrowers, manages
from localcloud.retention_report import retention_summary
from localcloud.rule_layers import decisions_by_layer
from localcloud.schedules import Schedule, firings_of
from localcloud.stack import LocalStack, deploy
from localcloud.stated_figures import stated_figures_summary
from localcloud.wheel import timer_wheel_summary

PAYMENT_SOURCE = "arrears.lending-core"


def template_path() -> Path:
    return Path(__file__).resolve().parents[1] / "template.yaml"


def schedules_of(stack: LocalStack) -> list[Schedule]:
    """The template's schedules, each with its expression, time zone and Input resolved."""
    return [
        Schedule.from_properties(name, source.properties, stack.resolve)
        for name, function in stack.functions.items()
        for source in function.events
        if source.kind == "schedule"
    ]


@dataclass
class RunStats:
    idle_ticks_skipped: int = 0
    deadline_checks_skipped: int = 0
    late_sweep_checks: int = 0
    sweeps_finished_by_deadline: set[str] = field(default_factory=set)
    payments_sent: int = 0
    payments_applied: int = 0
    payments_replayed: int = 0
    cures: int = 0
    reversals_sent: int = 0
    reversals_applied: int = 0
    invocations: Counter[str] = field(default_factory=Counter)
    bureau_cycles: list[dict[str, Any]] = field(default_factory=list)  # the Metro 2 function's results
    lister_outage: tuple[datetime, datetime] | None = None  # `LISTER_OUTAGE`, when the run had one


LISTER = "ReviewListerFunction"
LISTER_OUTAGE_AFTER = timedelta(days=10, hours=1)
"""A run of `LISTER_OUTAGE_MIN_DAYS` days or more has a review lister outage this long after its start
(01:00 UTC on day 11: a deploy that broke the lister, rolled back two days later) lasting
`LISTER_OUTAGE`: longer than the stream keeps records (24 hours), so the listing requests of its first
day are lost, among them the new loan the lending core disburses at 02:00 that day (a campaign day:
it disburses whatever its draw), and the census must list their loans again before they are due
(docs/operations.md, "Loans off the timer wheel")."""
LISTER_OUTAGE = timedelta(hours=48)
LISTER_OUTAGE_MIN_DAYS = 30


class Simulation:
    """A deployed local stack, a loan book, and a clock that advances event by event."""

    def __init__(
        self,
        *,
        loans: int,
        seed: int,
        start: date,
        log: TextIO | None = None,
        faults: FaultPlan | None = None,
        lean: bool = False,
        api_port: int = 0,
        book_file: Path | None = None,
    ) -> None:
        self.start = start
        self.book_file = book_file
        # Under injected faults (not the default demo's send throttles, which the outbox retries), the
        # operator answers the failure-queue alarms during the run: `redrive_during_run`, hourly.
        self.operator = faults is not None and not faults.throttles_only
        self.redriven_during_run: Counter[str] = Counter()
        self.book_import: dict[str, Any] = {}
        self.seed = seed
        # The reporting export in small parts, each segment re-queuing its rest (localcloud.export).
        self.stack = deploy(template_path(), parameters=DEMO_PARAMETERS)
        begin = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
        self.cloud = LocalCloud(
            self.stack,
            start=begin,
            budgets_ms=DEMO_BUDGETS_MS,
            log=log,
            keep_invocations=False,
            faults=FaultInjector(faults),
            trim_streams=lean,
            expire_ttl=True,  # as DynamoDB's TTL does, lean or not (localcloud.lean.expire_ttl_items)
        )
        self.cloud.faults.clock = lambda: self.cloud.clock  # when a send was refused
        self.settings = load_settings(self.stack.functions["SweepFunction"].environment)
        container = Container(self.settings, boto3.session.Session())
        self._actions_table = boto3.resource("dynamodb").Table(self.settings.actions_table)
        self.loans: LoanRepository = container.loans
        self.borrowers: BorrowerRepository = container.borrowers
        self.payments: PaymentLedger = container.payments
        # A lender's own book (`--book FILE`: localcloud.imported_book), or the generated one.
        self.book = planned_entries(book_file, seed) if book_file else generate_book(loans, seed, start)
        self.entries = {entry.loan.loan_id: entry for entry in self.book}
        self.stats = RunStats()
        self.dialer = SimulatedDialer(self.cloud, self.stack, seed)
        self.schedules = schedules_of(self.stack)
        self._actions_seen = -1
        self._next_deferred: datetime | None = None
        # The borrower API over HTTP on 127.0.0.1 (localcloud.http_api); borrowers answering by text
        # reply and by unsubscribe link (localcloud.optouts), and through the API (localcloud.borrower_voice).
        self.http_api = LocalHttpApi(self.cloud, port=api_port)
        self.replies = SimulatedReplies(self.cloud, self.book, self.http_api)
        self.voices = SimulatedVoices(self.http_api, self.book)
        # Plan requests, complaints and hardship over the API; a supervisor; plan payments (plan_voices).
        self.plan_voices = ApiVoice(self.cloud, self.http_api, self.book, self.voices)
        # Agents, a field collector, a supervisor and compliance on the staff API (localcloud.desk).
        self.desk = SimulatedDesk(
            self.http_api, seed, {e.loan.loan_id: e.borrower.borrower_id for e in self.book}
        )
        # Borrowers who react to what Arrears sends and calls (localcloud.reactions).
        self.reactions = ReactingBorrowers(
            self.book,
            seed,
            start,
            EventBusIntents(self.cloud, self.replies, self.plan_voices),
            self.stack.physical["RemindersTopic"],
            self.cloud,
        )
        self.dialer.borrowers = self.reactions
        # The lending core disbursing loans and updating borrowers during the run (localcloud.lending_core).
        self.lending_core = SimulatedLendingCore(self.cloud, seed)
        self.token_secret = container.token_secret
        # The desk's calls are answered by the same model; plans are kept as it says (localcloud.desk).
        self.desk.borrowers = self.reactions
        self.desk.plans = self.plan_voices
        self.plan_voices.payers = self.reactions
        # The privacy desk asking to erase a few borrowers (localcloud.erasures).
        self.erasures = SimulatedErasures(
            self.cloud,
            self.book,
            seed,
            self.settings.loans_table,
            self.settings.contacts_table,
            self.stack.physical["DelinquencyHistoryTable"],
        )

    def load_book(self) -> None:
        if self.book_file is not None:
            # Imported as a lender imports it: the file under imports/, the import function, its report.
            self.book_import = import_file(self.cloud, self.book_file)
            self.book = imported(self.book, self.loans)
            self.entries = {entry.loan.loan_id: entry for entry in self.book}
            self.cloud.settle()
            return
        for entry in self.book:
            register_loan(
                entry.loan,
                entry.borrower,
                self.cloud.clock,
                loans=self.loans,
                borrowers=self.borrowers,
                playbook=bundled_playbook(),
            )
            # The payments made before the run: the lending core's ledger of this loan.
            zone = ZoneInfo(entry.borrower.timezone)
            for item in entry.history:
                at = datetime.combine(item.value_date, clock_time(12), tzinfo=zone).astimezone(UTC)
                self.payments.record(entry.loan.loan_id, item, at)
        self.cloud.settle()

    # -- the lending core's side: borrowers paying ------------------------------------------

    def _local(self, entry: BookEntry, day: date) -> datetime:
        zone = ZoneInfo(entry.borrower.timezone)
        return datetime(day.year, day.month, day.day, entry.pay_hour_local, 17, tzinfo=zone).astimezone(UTC)

    def _payment_times(
        self, entry: BookEntry, end: datetime
    ) -> Iterator[tuple[datetime, str, tuple[Any, ...]]]:
        """(when, kind, arguments) for each payment ("pay": loan, payment id, share of what is due)
        and reversal ("reverse": loan, payment id) of this borrower before `end`."""
        loan_id = entry.loan.loan_id

        def within(day: date) -> bool:
            # The run's end is a UTC instant: a New York evening payment on its last local day is
            # already the next UTC day, after the end.
            return self.start <= day and self._local(entry, day) < end

        recovery = recovery_day(entry)
        if recovery is not None and within(recovery):
            yield self._local(entry, recovery), "pay", (loan_id, f"P-{loan_id}-recovery", 1.0)
        for instalment in entry.loan.instalments:
            if instalment.is_settled:
                continue
            day = pay_day(entry, instalment.due_on)
            if day is None:
                return
            parts = [(day, 1.0)]
            if entry.behaviour is Behaviour.PARTIAL:
                parts = [(day, 0.5), (day + timedelta(days=10), 1.0)]
            for n, (when, share) in enumerate(parts):
                payment_id = f"P-{loan_id}-{instalment.seq}-{n}"
                if within(when):
                    yield self._local(entry, when), "pay", (loan_id, payment_id, share)
                if entry.behaviour is Behaviour.BOUNCE and instalment.seq == 1:
                    # The payment comes back (returned by the bank); the borrower pays again later.
                    returned = when + timedelta(days=REVERSAL_AFTER_DAYS)
                    if within(returned):
                        yield self._local(entry, returned), "reverse", (loan_id, payment_id)
                    again = instalment.due_on + timedelta(days=entry.late_days)
                    if within(again):
                        yield self._local(entry, again), "pay", (loan_id, f"{payment_id}-again", 1.0)

    def _pay(self, loan_id: str, payment_id: str, share: float) -> None:
        loan = self.loans.get(loan_id)
        if loan is None or loan.status is LoanStatus.CLOSED:
            return
        on = self.cloud.clock.astimezone(ZoneInfo(self.entries[loan_id].borrower.timezone)).date()
        amount = amount_due(loan, on)
        amount = amount if share >= 1 else max(1, amount // 2)
        if amount <= 0:
            return
        detail = {
            "payment_id": payment_id,
            "loan_id": loan_id,
            "amount_minor": amount,
            "currency": loan.currency,
            "paid_at": self.cloud.clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.stats.payments_sent += 1
        for response in self.cloud.put_event("LoanEventsBus", PAYMENT_SOURCE, "PaymentReceived", detail):
            if isinstance(response, dict) and not response.get("duplicate", True):
                self.stats.payments_applied += 1
                self.stats.cures += int(bool(response.get("cured")))
                self.stats.payments_replayed += int(bool(response.get("replayed")))

    def _reverse(self, loan_id: str, payment_id: str) -> None:
        detail = {
            "payment_id": payment_id,
            "loan_id": loan_id,
            "reversed_at": self.cloud.clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "reason": "RETURNED",
        }
        self.stats.reversals_sent += 1
        for response in self.cloud.put_event("LoanEventsBus", PAYMENT_SOURCE, "PaymentReversed", detail):
            if isinstance(response, dict) and response.get("verdict") == "REVERSED":
                self.stats.reversals_applied += 1

    # -- the clock ----------------------------------------------------------------------------

    def _deferred_tick_is_idle(self, moment: datetime) -> bool:
        """Whether a dispatcher tick at `moment` would find no deferred action due.

        The 15-minute schedule fires 96 times a simulated day; most ticks find nothing. The
        simulator asks the DeferredIndex for the earliest `not_before` (again only after the
        Actions table changed) and skips the ticks before it: an idle tick does nothing but
        cost moto time, so skipping it changes no outcome.
        """
        length = stream_length(self.settings.actions_table)
        if length is None or length != self._actions_seen:
            self._actions_seen = -1 if length is None else length
            page = self._actions_table.query(
                IndexName=DEFERRED_INDEX,
                KeyConditionExpression=Key("defer_partition").eq(DEFERRED_PARTITION),
                Limit=1,
            )
            items = page.get("Items", [])
            self._next_deferred = parse_utc(str(items[0]["not_before"])) if items else None
        return self._next_deferred is None or self._next_deferred > moment

    def _sweep_known_finished(self, moment: datetime) -> bool:
        """Whether an earlier check already found the sweep of `moment`'s local date finished.

        From the deadline on, the check runs every 15 minutes until midnight (72 times a day); once
        it has seen the day's run completed, every later check of that day would only repeat
        `SweepLate = 0`, so the simulator skips them (as it skips idle dispatcher ticks).
        """
        (schedule,) = [s for s in self.schedules if s.function == "SweepDeadlineFunction"]
        local_date = moment.astimezone(ZoneInfo(schedule.time_zone)).date()
        return local_date.isoformat() in self.stats.sweeps_finished_by_deadline

    def _record_deadline_check(self, response: Any) -> None:
        if not isinstance(response, dict):
            return  # the check failed: the local cloud sent it to the failure queue
        if response.get("completed"):
            self.stats.sweeps_finished_by_deadline.add(str(response["business_date"]))
        else:
            self.stats.late_sweep_checks += 1

    def run(self, days: int, progress: Callable[[datetime], None] | None = None) -> None:
        """Run `days` simulated days; `progress(moment)` is called after each event (schedule, payment)."""
        begin = datetime.combine(self.start, datetime.min.time(), tzinfo=UTC)
        end = begin + timedelta(days=days)
        queue: list[tuple[datetime, int, str, tuple[Any, ...]]] = []
        order = 0
        for moment, schedule in firings_of(self.schedules, begin, end):
            heapq.heappush(queue, (moment, order, "schedule", (schedule.function,)))
            order += 1
        for moment in self.reactions.days(begin, end):
            heapq.heappush(queue, (moment, order, "borrowers-day", ()))
            order += 1
        for entry in self.book:
            if manages(entry):
                continue  # the behaviour model decides when this borrower pays
            for moment, kind, args in self._payment_times(entry, end):
                heapq.heappush(queue, (moment, order, kind, args))
                order += 1
        # The desk's shifts before the dialer's polls of the same instant: both take from the queue.
        for moment, desk_kind in self.desk.moments(begin, end):
            heapq.heappush(queue, (moment, order, desk_kind, ()))
            order += 1
        for moment, kind, args in self.dialer.polls(begin, end):
            heapq.heappush(queue, (moment, order, kind, args))
            order += 1
        for moment in self.replies.moments(begin, end):
            heapq.heappush(queue, (moment, order, "replies", ()))
            order += 1
        for moment in self.voices.moments(begin, end):
            heapq.heappush(queue, (moment, order, "voices", ()))
            order += 1
        for moment in self.erasures.moments(begin, end):
            heapq.heappush(queue, (moment, order, "erasures", ()))
            order += 1
        for moment in self.lending_core.moments(begin, end):
            heapq.heappush(queue, (moment, order, "lending-core", ()))
            order += 1
        if days >= LISTER_OUTAGE_MIN_DAYS:
            heapq.heappush(queue, (begin + LISTER_OUTAGE_AFTER, order, "lister-outage", ()))
            self.lending_core.campaign_days.add((begin + LISTER_OUTAGE_AFTER).date())
            order += 1
        for hour in range(1, days * 24 if self.operator else 0):
            heapq.heappush(queue, (begin + hour * OPERATOR_DELAY, order, "operator", ()))
            order += 1
        while queue:
            moment, _, kind, args = heapq.heappop(queue)
            self.cloud.advance_to(moment)
            if kind in DIALER_EVENTS:
                # The simulated dialer and collectors: what they do next is queued by time.
                for later, next_kind, next_args in self.dialer.handle(kind, args, moment):
                    if later < end:
                        heapq.heappush(queue, (later, order, next_kind, next_args))
                        order += 1
            elif kind == "schedule":
                if args[0] == "DeferredReleaseFunction" and self._deferred_tick_is_idle(moment):
                    self.stats.idle_ticks_skipped += 1
                    continue
                if args[0] == "SweepDeadlineFunction" and self._sweep_known_finished(moment):
                    self.stats.deadline_checks_skipped += 1
                    continue
                response = self.cloud.schedule(args[0])
                if args[0] == "BureauFileFunction" and response:
                    self.stats.bureau_cycles.append(response)
                if args[0] == "SweepDeadlineFunction":
                    self._record_deadline_check(response)
                if args[0] == "ComplaintDeadlinesFunction":
                    self.desk.observe_deadline_check(response)
            elif kind == "reverse":
                self._reverse(*args)
            elif kind == "replies":
                self.replies.answer()
            elif kind == "borrowers-day":
                for later, next_kind, next_args in self.reactions.day(moment):
                    if later < end:
                        heapq.heappush(queue, (max(later, moment), order, next_kind, next_args))
                        order += 1
            elif kind == "voices":
                self.voices.speak()
                self.plan_voices.daily(moment)
            elif kind == "erasures":
                self.erasures.ask(moment)
            elif kind == "lending-core":
                self.lending_core.day(moment)
            elif kind == "lister-outage":
                self.cloud.pause_stream(LISTER, moment + LISTER_OUTAGE)
                self.stats.lister_outage = (moment, moment + LISTER_OUTAGE)
            elif kind == "operator":
                redrive_during_run(self, self.redriven_during_run)
            elif kind.startswith("desk-"):
                self.desk.handle(kind)
            else:
                self._pay(*args)
            self.reactions.observe(self.cloud.clock)
            if progress is not None:
                progress(moment)
        self.cloud.advance_to(end)
        self.cloud.settle()
        self.cloud.drain_windows()  # the review lister's last window: its loans listed before the checks
        self.stats.invocations = Counter(self.cloud.counts)


def outage_summary(sim: Simulation) -> dict[str, Any] | None:
    """The review lister's outage (`LISTER_OUTAGE`): when, and the listing requests it lost (past the
    stream's retention when the lister came back); the census relists their loans
    (`timer_wheel.census_requests_relisted`, `census_overdue_reviews`)."""
    if sim.stats.lister_outage is None:
        return None
    began, ended = sim.stats.lister_outage
    return {
        "from": format_utc(began),
        "until": format_utc(ended),
        "requests_expired": sim.cloud.stream_records_expired.get(LISTER, 0),
    }


def _scan(table: str) -> list[dict[str, Any]]:
    return [plain(item) for item in all_items(boto3.resource("dynamodb").Table(table).scan)]


def export_archive(stack: LocalStack, out: Path) -> list[str]:
    """Copy every object of the local archive bucket to `out/<key>` (the production key layout).

    `out` is emptied first: a run into the directory of an earlier run verifies its own archive only."""
    if out.exists():
        shutil.rmtree(out)
    s3 = boto3.client("s3")
    bucket = stack.physical["ArchiveBucket"]
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            target = out / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            keys.append(key)
    return sorted(keys)


def deferrals(metrics: MetricTotals, contact_outcomes: Counter[str]) -> dict[str, int]:
    """Every deferral of the run, by who deferred and why, from the handlers' own metrics.

    The planner writes an action planned outside the borrower's contact window as DEFERRED with no
    contact record (nothing was attempted), and one held by a promise-to-pay or hardship pause as
    DEFERRED with a record; the dispatcher's gate defers at send time (hours, caps), with a record.
    Counting DEFERRED contact records alone would miss the first kind, usually the largest.
    """
    window = round(metrics.sum("ActionsDeferredToWindow", service="planner"))
    held = round(metrics.sum("ActionsHeld", service="planner"))
    at_send = round(metrics.sum("Contacts", service="dispatcher", outcome="DEFERRED"))
    return {
        "total": window + held + at_send,
        "planned_outside_contact_hours": window,
        "held_by_planner": held,
        "deferred_at_send_time": at_send,
        # DEFERRED records in the Contacts table: held_by_planner + deferred_at_send_time.
        "deferral_records": sum(v for k, v in contact_outcomes.items() if k.endswith(":DEFERRED")),
    }


def last_census(points: Iterable[MetricPoint]) -> dict[str, Any]:
    """The last daily census the sweep worker emitted: its `OpenLoans` points of the latest
    business time, summed over the shards (what the dashboard's census panel shows for that day)."""
    by_time: dict[int, Counter[tuple[str, str]]] = {}
    for point in points:
        if point.name != "OpenLoans":
            continue
        dims = dict(point.dimensions)
        tally = by_time.setdefault(point.timestamp_ms, Counter())
        tally[(dims["jurisdiction"], dims["bucket"])] += int(point.value)
    if not by_time:
        return {}
    at = max(by_time)
    open_loans: dict[str, dict[str, int]] = {}
    for (jurisdiction, bucket), count in sorted(by_time[at].items()):
        open_loans.setdefault(jurisdiction, {})[bucket] = count
    return {
        "business_time": datetime.fromtimestamp(at / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "open_loans": open_loans,
        "total": sum(by_time[at].values()),
    }


def payments_summary(sim: Simulation, loans: list[dict[str, Any]]) -> dict[str, Any]:
    """Payments of the run, and what the tables hold of recoveries and reversals.

    Recoveries: money applied to loans after their charge-off (`recovered_minor` on the loan, by
    currency) and the payments that brought it (the ledger's entries, not reversed, valued on or after
    the loan's charge-off day: a plan's instalment or a promise paid after it as well as the
    simulated recovery payments); reversals: payments returned and undone (`reversed` entries of the
    payment ledger).
    """
    ledger = _scan(sim.settings.payments_table)
    recovered: Counter[str] = Counter()
    charged_off_on: dict[str, str] = {}
    for loan in loans:
        if loan.get("recovered_minor"):
            recovered[str(loan["currency"])] += int(loan["recovered_minor"])
        if loan.get("charged_off_on"):
            charged_off_on[str(loan["loan_id"])] = str(loan["charged_off_on"])
    recovery_payments = sum(
        1
        for entry in ledger
        if not entry.get("reversed")
        and str(entry["loan_id"]) in charged_off_on
        and str(entry["value_date"]) >= charged_off_on[str(entry["loan_id"])]
    )
    return {
        "sent": sim.stats.payments_sent,
        "applied": sim.stats.payments_applied,
        "applied_out_of_order": sim.stats.payments_replayed,
        "ledger_entries": len(ledger),
        "charged_off_loans": sum(1 for loan in loans if loan.get("charged_off_on")),
        "recoveries_after_charge_off": {
            "payments": recovery_payments,
            "loans": sum(1 for loan in loans if loan.get("recovered_minor")),
            "closed_by_recovery": sum(
                1 for loan in loans if loan.get("charged_off_on") and loan["status"] == "CLOSED"
            ),
            "recovered_minor": dict(sorted(recovered.items())),
        },
        "reversals": {
            "sent": sim.stats.reversals_sent,
            "applied": sim.stats.reversals_applied,
            "reversed_in_ledger": sum(1 for entry in ledger if entry.get("reversed")),
        },
    }


def summarise(
    sim: Simulation, archive_keys: list[str], out: Path, elapsed_s: float, days: int, logs: Path
) -> dict[str, Any]:
    loans = _scan(sim.settings.loans_table)
    contacts = _scan(sim.settings.contacts_table)
    by_bucket: Counter[str] = Counter()
    for loan in loans:
        by_bucket[loan["bucket"] if loan["status"] == "OPEN" else loan["status"]] += 1
    outcomes: Counter[str] = Counter(f"{c['channel']}:{c['status']}" for c in contacts)
    with logs.open() as lines:  # one pass: the totals, and the census and drift points read below
        totals, points = emf_totals_keeping(emf_points(lines), ("OpenLoans", "StockDrift"))
    deferred = deferrals(totals, outcomes)
    sqs = boto3.client("sqs")
    queued = sqs.get_queue_attributes(
        QueueUrl=sim.stack.physical["FieldVisitQueue"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    manifests = [
        Manifest.from_bytes((out / key).read_bytes())
        for key in archive_keys
        if key.endswith(".manifest.json")
    ]
    return {
        "run": {
            "seed": sim.seed,
            "loans": len(sim.book),
            "days": days,
            "start": sim.start.isoformat(),
            "end": (sim.start + timedelta(days=days)).isoformat(),
            "elapsed_seconds": round(elapsed_s, 1),
            "invocations": dict(sorted(sim.stats.invocations.items())),
            "idle_deferred_release_ticks_skipped": sim.stats.idle_ticks_skipped,
            "sweep_deadline_checks": {
                "late": sim.stats.late_sweep_checks,
                "days_finished_by_deadline": len(sim.stats.sweeps_finished_by_deadline),
                "later_checks_skipped": sim.stats.deadline_checks_skipped,
            },
        },
        "loans_by_bucket": dict(sorted(by_bucket.items())),
        # the OpenLoans of the last day's sweep start: the stock from flows at the previous day's close
        "last_census": last_census(points),
        # the stock kept from the bucket transitions at the end, against the table; the census days'
        # reconciliations and their drift (0 in a clean run)
        "book_stock": book_stock_summary(sim.stack.physical["BookStockTable"], loans, points),
        # how the sweep reached the loans it read (its due list: its own listings and the review
        # lister's; the draining ReviewIndex), and the lister's outage, if the run had one
        "timer_wheel": {
            **timer_wheel_summary(logs),
            "lister_outage": outage_summary(sim),
        },
        "contacts_by_channel_and_outcome": dict(sorted(outcomes.items())),
        # every text and e-mail sent (reminders before the due date, collection messages after it)
        "texts_and_emails_sent": outcomes.get("SMS:SENT", 0) + outcomes.get("EMAIL:SENT", 0),
        # the dispatcher's field-visit tasks (the FIELD_VISIT:SENT records above also hold the visits
        # reported); whoever took them, the desk's collectors or the field team, and those left queued
        "field_visits_queued": int(totals.sum("Contacts", channel="FIELD_VISIT", outcome="SENT")),
        "field_visits_left_in_queue": int(queued),
        "dialer": dialer_summary(sim, out),
        "deferred": deferred["total"],
        "deferrals": deferred,
        # What the alarm collector-rule-breach reads (infrastructure/monitoring.yaml): the breaches the
        # call-outcomes function counted, by the metrics' own dimensions; >= 1 rings it.
        "collector_rule_breaches": {
            "call_attempts": round(totals.sum("CallAttemptBreaches", service="call-outcomes")),
            "field_visits": round(totals.sum("FieldVisitViolations", service="call-outcomes")),
        },
        "suppressed": sum(v for k, v in outcomes.items() if k.endswith(":SUPPRESSED")),
        # Deferrals and suppressions by the rule-pack layer that decided (US-MA@2026.1, ...).
        "decided_by_layer": decisions_by_layer(contacts),
        "cancelled": sum(v for k, v in outcomes.items() if k.endswith(":CANCELLED")),
        # the DPD and amount each send stated (as of its instant) against its action's plan-day ones
        "stated_figures": stated_figures_summary(_scan(sim.settings.actions_table)),
        # bureau reports sent, and held until the borrower was told (the rule pack's precondition)
        "bureau": bureau_summary(contacts, sim.book),
        # legal referrals: case files built (proof verified), steps and threats barred by limitation
        "legal": case_file_summary(sim.stack, contacts, out.parent),
        # Reg F validation notices: one per US loan contacted, with its dispute deadline on the loan
        "validation_notices": validation_notice_summary(contacts, loans),
        # archive retention: objects extended while a debt is collected, expired after (the daily review)
        "retention": retention_summary(_scan(sim.settings.archive_chain_table), logs),
        "payments_applied": sim.stats.payments_applied,
        "cures": sim.stats.cures,
        "payments": payments_summary(sim, loans),
        "contact_records": len(contacts),
        "records_archived": sum(m.records for m in manifests),
        "archive_objects": len(manifests),
        "archive_jurisdictions": sorted({m.jurisdiction for m in manifests}),
        # opt-outs and opt-ins by channel and source, and sends after an opt-out (from the archive alone)
        "opt_outs": opt_out_summary(out, sim.replies.stats),
        # what the reacting borrowers did: contacts that reached them, promises, complaints...
        "borrower_behaviour": {
            **sim.reactions.summary(sim.start + timedelta(days=days)),
            # Arrears' own judgement of the promises (arrears.domain.behaviour.judge_promise)
            "broken_promises_counted_on_loans": sum(int(loan.get("broken_promises") or 0) for loan in loans),
        },
        # the borrower API's calls by route and status, and the requests and opt-outs they caused
        "api": api_summary(out, sim.http_api, sim.voices),
        # repayment plans asked for over the API, decided, kept, broken, completed; the hardship branch
        "plans": sim.plan_voices.summary(out),
        "desk": desk_summary(sim.desk),
        # loans disbursed and borrowers updated by the lending core's events during the run
        "lending_core": lending_core_summary(sim.lending_core, sim.borrowers, sim.token_secret.value()),
    }


def dialer_summary(sim: Simulation, archive: Path) -> dict[str, Any]:
    """What the simulated dialer and collectors did, and the call caps judged from the archive alone."""
    from localcloud.dialer_audit import archive_audit

    return {"simulated": sim.dialer.stats.as_dict(), **archive_audit(archive)}


def run_demo(
    *,
    out: Path,
    loans: int,
    days: int,
    seed: int,
    start: date,
    faults: FaultPlan | None = None,
    progress: Callable[[datetime], None] | None = None,
    lean: bool = True,
    book: Path | None = None,
) -> dict[str, Any]:
    """Run the whole demo inside moto and write `out/` (summary.json, report.html, archive/, data/,
    logs.jsonl); `progress` is called after each simulated event.

    With `faults`, a seeded share of the handlers' AWS calls fail and some invocations die
    (localcloud.faults). Every run ends with the operator's redrive of the failure queues and the
    invariants (localcloud.invariants), both in summary.json.

    `lean` (the default) runs the lean local cloud (localcloud.lean): the same outcome for less CPU
    and memory; `lean=False` is moto as it comes (the bench and the equivalence test compare both).
    """
    from moto import mock_aws

    from localcloud.bureau_report import bureau_files_summary
    from localcloud.lean import fast_moto
    from localcloud.outcomes import promise_summary, report_run, write_outcomes
    from localcloud.requests import RequestCount
    from localcloud.rollback import counts as rollback_counts

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    counted = RequestCount()
    counted.install()  # before the stack's sessions exist: the handlers' requests are counted
    try:
        with (out / "logs.jsonl").open("w") as log, mock_aws(), fast_moto(lean):
            sim = Simulation(
                loans=loans, seed=seed, start=start, log=log, faults=faults, lean=lean, book_file=book
            )
            task_queues = frozenset(
                sim.stack.physical[q].rsplit("/", 1)[-1] for q in ("CallTaskQueue", "FieldVisitQueue")
            )
            with EffectLog(task_queues).recording() as effects:
                sim.load_book()
                sim.run(days, progress)
                redriven = recover(sim)
            keys = export_archive(sim.stack, out / "archive")
            log.flush()
            summary = summarise(
                sim, keys, out / "archive", time.perf_counter() - started, days, logs=out / "logs.jsonl"
            )
            if book is not None:  # rows read, imported, rejected (line, field, problem) by the import
                summary["book_import"] = sim.book_import
            summary["faults"] = {
                **sim.cloud.faults.summary(),
                "redriven_during_run": dict(sorted(sim.redriven_during_run.items())),
                "redriven_after_run": redriven,
                "reporting_copies_dropped": copies_dropped(out / "logs.jsonl"),
                "refused_sends": refused_sends_outcome(
                    sim.cloud.faults.refused_sends, _scan(sim.settings.contacts_table)
                ),
            }
            summary["invariants"] = check(sim, out / "archive", effects)
            summary["erasures"] = erasure_summary(
                sim.erasures, _scan(sim.settings.contacts_table), out / "archive", out / "logs.jsonl"
            )
            fold_erasure_invariant(summary["invariants"], summary["erasures"])
            summary["promises"] = promise_summary(out / "archive")
            summary["bureau_files"] = bureau_files_summary(
                sim.stack.physical["BureauFilesBucket"], sim.stats.bureau_cycles, out
            )
            summary["outcomes"] = write_outcomes(
                cloud=sim.cloud,
                out=out,
                as_of=start + timedelta(days=days - 1),
                counted=counted.as_json(),
                invocations=sum(sim.stats.invocations.values()),
                # every outcome count from the archive, as a deployed stack's Athena report reads it
                run=report_run(summary),
            )
            # What the lean local cloud dropped (localcloud.lean); not part of the run's outcome.
            summary["local_cloud"] = {
                "lean": lean,
                "stream_records": sim.cloud.stream_records(),
                "ttl_expired": dict(sorted(sim.cloud.ttl_expired.items())),
                # TransactWriteItems run without moto's table copies (localcloud.rollback)
                "transactions": rollback_counts() if lean else {},
            }
            sim.http_api.close()
    finally:
        counted.uninstall()
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary
