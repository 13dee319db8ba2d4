"""What each function tells its operators and its caller about a use case's result: metrics (EMF; the
names and dimensions docs/contracts.md "Metrics" lists, which the alarms and the dashboard read), one
log line of ids and counts (never personal data), and the invocation's answer.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import validate_emf_timestamp

from arrears.domain.actions import ActionStatus
from arrears.domain.calendar import format_utc, parse_utc
from arrears.domain.holds import HoldChange, HoldChangeStatus
from arrears.domain.strategy import Channel
from arrears.handlers.telemetry import Telemetry

# The result types of the use cases are annotations only: a handler imports no other handler's
# use case (nor its models) by importing its reports.
if TYPE_CHECKING:
    from arrears.adapters.sweep_runs import RunProgress
    from arrears.domain.call_attempts import CallAttempt
    from arrears.domain.field_visits import FieldVisit
    from arrears.domain.payments import PaymentOutcome
    from arrears.usecases.archiving import ArchiveResult
    from arrears.usecases.book_stock import Reconciliation
    from arrears.usecases.call_outcomes import CallOutcomeResult
    from arrears.usecases.census import CensusOutcome, CensusTask
    from arrears.usecases.dispatch import DispatchResult
    from arrears.usecases.erasure import ErasureOutcome
    from arrears.usecases.field_visits import FieldVisitResult
    from arrears.usecases.holds import HoldResult
    from arrears.usecases.payments import PaymentReceived, PaymentReversed, ReversalResult
    from arrears.usecases.planning import PlanResult
    from arrears.usecases.sweep import SweepTask, TaskOutcome
    from arrears.usecases.sweep_start import SweepStart

# The namespace of the metrics the sweep worker emits under a service of their own (the heartbeat is
# the sweep's, the census carries the bucket dimensions).
NAMESPACE = "Arrears"


# -- sweep, sweep-deadline --------------------------------------------------------------------------
def sweep_started(telemetry: Telemetry, at: datetime, start: SweepStart) -> dict[str, Any]:
    """One `OpenLoans` per (jurisdiction, bucket) of the stock from flows, stamped with the run's
    business time, and the fan-out's log line.

    The stock is read when the sweep starts: the open loans at the close of the previous business
    date. A re-run of the same business time emits again (an operator's re-run; the daily panel's
    Maximum per day is unaffected, its Sum doubles for that day). CloudWatch drops EMF data stamped more
    than 14 days back or 2 hours ahead; only an operator's late re-run of an old date can be that far
    (logged as a warning; Powertools' own warning is silenced for it).
    """
    # No metric for the fan-out: the tasks sent are in the log line (investigation counts are logs,
    # not custom metrics at $0.30 a month each; docs/operations.md "What the metrics cost").
    logger = telemetry.logger
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Powertools' "outside CloudWatch's window" warning: logged below
        for row in start.rows:
            dimensions = {"service": logger.service, "jurisdiction": row.jurisdiction, "bucket": row.bucket}
            with single_metric(
                name="OpenLoans",
                unit=MetricUnit.Count,
                value=row.count,
                namespace=NAMESPACE,
                default_dimensions=dimensions,
            ) as metric:
                metric.set_timestamp(at)
    summary = {
        "business_time": format_utc(at),
        "business_date": start.business_date.isoformat(),
        "tasks": len(start.tasks),
        "sweep_tasks": start.sweep_tasks,
        "census_day": start.census_day,
        "open_loans": start.open_loans,
    }
    logger.info("sweep fanned out", extra=summary)
    if start.rows and not validate_emf_timestamp(at):
        logger.warning(
            "open-loan stock emitted with a business time CloudWatch will not accept (older than 14 "
            "days or more than 2 hours ahead): these metrics will be dropped",
            extra=summary,
        )
    return summary


def deadline_checked(
    telemetry: Telemetry, at: datetime, progress: RunProgress, shard_count: int
) -> dict[str, Any]:
    """`SweepLate` 1 while the run of the local business date is unfinished, 0 once it is."""
    telemetry.count("SweepLate", 0 if progress.completed else 1)
    summary = {
        "checked_at": format_utc(at),
        "business_date": progress.business_date.isoformat(),
        "completed": progress.completed,
        "completed_at": progress.completed_at,
        "shards_done": progress.shards_done,
        "shard_count": progress.shard_count or shard_count,
    }
    if progress.completed:
        telemetry.logger.info("sweep finished", extra=summary)
    else:
        telemetry.logger.warning("sweep not finished by the deadline", extra=summary)
    return summary


# -- sweep-worker ---------------------------------------------------------------------------------------
class SweepWorkReport:
    """The sweep worker's metrics and log lines per task, and the counts of one invocation (its answer)."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        self.sweep: dict[str, int] = {}
        self.census: dict[str, int] = {}

    def answer(self, response: Mapping[str, Any]) -> dict[str, Any]:
        return {**response, "sweep": dict(self.sweep), "census": dict(self.census)}

    def swept(self, outcome: TaskOutcome, duration_ms: float) -> None:
        result, task, logger = outcome.result, outcome.task, self.telemetry.logger
        # The segment's counts and duration are in its log line only (no panel or alarm reads them;
        # Logs Insights sums them per business date): no custom metric per count.
        _add(self.sweep, result.counts().items())
        logger.info(
            "sweep shard segment done",
            extra={
                "business_date": task.run_date.isoformat(),
                "shard": task.shard,
                "continued": outcome.re_enqueued,
                "shards_completed": len(outcome.shards_completed),  # recorded in one ledger write
                "duration_ms": round(duration_ms),
                **result.counts(),
            },
        )
        if outcome.run_completed:
            # The heartbeat the operations alarm watches: once per business date, when every shard is done.
            with single_metric(
                name="SweepHeartbeat",
                unit=MetricUnit.Count,
                value=1,
                namespace=NAMESPACE,
                default_dimensions={"service": "sweep"},
            ):
                pass
            logger.info("sweep completed", extra={"business_date": task.run_date.isoformat()})

    def resumed_later(self, task: SweepTask, error: Exception) -> None:
        self.telemetry.logger.warning(
            "sweep shard failed: the rest of the task re-enqueued from it",
            extra={
                "business_date": task.run_date.isoformat(),
                "shard": task.shard,
                "last_shard": task.last,
                "reason": type(error).__name__,
            },
        )

    def census_dropped(self, task: CensusTask) -> None:
        self.telemetry.logger.info(
            "open-loan census disabled: task dropped",
            extra={"business_date": task.run_date.isoformat(), "shard": task.shard},
        )

    def counted(self, outcome: CensusOutcome) -> None:
        result, task = outcome.result, outcome.task
        # The index entries the census's reads are charged on (keys, jurisdiction, bucket; docs/scaling.md)
        # are the log line's `items_read`.
        overdue, requested = len(result.overdue), len(result.requested)
        _add(
            self.census,
            (
                ("items_read", result.items_read),
                ("counted", result.counted),
                ("overdue_reviews", overdue),
                ("requests_relisted", requested),
            ),
        )
        ids = {"business_date": task.run_date.isoformat(), "shard": task.shard}
        self.telemetry.logger.info(
            "census shard segment done",
            extra={
                **ids,
                "continued": outcome.re_enqueued,
                "items_read": result.items_read,
                "counted": result.counted,
                "overdue_reviews": overdue,
                "requests_relisted": requested,
                "claimed": outcome.claimed,
                "completed": outcome.totals is not None,
            },
        )
        if overdue:
            # Loans off the timer wheel (docs/operations.md, "Loans off the timer wheel"): listed again,
            # late; `OverdueReviews` rings the `timer-wheel-overdue` alarm.
            with single_metric(
                name="OverdueReviews",
                unit=MetricUnit.Count,
                value=overdue,
                namespace=NAMESPACE,
                default_dimensions={"service": self.telemetry.logger.service},
            ) as metric:
                metric.set_timestamp(task.business_time)
            self.telemetry.logger.warning(
                "open loans whose review passed unswept: listed for the day's sweep",
                extra={**ids, "overdue_reviews": overdue, "due_items_written": result.due_items_written},
            )
        if not outcome.claimed and not outcome.re_enqueued:
            self.telemetry.logger.info(
                "open-loan census of this date and shard was counted already: nothing added", extra=ids
            )

    def reconciled(self, task: CensusTask, reconciliation: Reconciliation) -> None:
        """`StockDrift` (Σ |census - stock| over jurisdictions and buckets; 0 when the stock from flows
        is exact) and a log line naming each difference (jurisdiction, bucket, count: no loan, no
        person), a warning when there is any."""
        _add(self.census, (("reconciled", 1), ("drift", reconciliation.absolute_drift)))
        with single_metric(
            name="StockDrift",
            unit=MetricUnit.Count,
            value=reconciliation.absolute_drift,
            namespace=NAMESPACE,
            default_dimensions={"service": self.telemetry.logger.service},
        ) as metric:
            metric.set_timestamp(task.business_time)
        details = {
            "business_date": reconciliation.business_date.isoformat(),
            "census_open_loans": reconciliation.census_total,
            "stock_open_loans": reconciliation.stock_total,
            "drift": {f"{j} {b}": n for (j, b), n in sorted(reconciliation.drift.items())},
            "corrected": reconciliation.corrected,
        }
        if reconciliation.drift:
            self.telemetry.logger.warning(
                "stock from flows differs from the census: corrected", extra=details
            )
        else:
            self.telemetry.logger.info("stock from flows matches the census", extra=details)


def _add(totals: dict[str, int], counts: Iterable[tuple[str, int]]) -> None:
    for name, value in counts:
        totals[name] = totals.get(name, 0) + value


# -- planner --------------------------------------------------------------------------------------------
def planned(telemetry: Telemetry, result: PlanResult) -> None:
    for name, value in (
        ("ActionsPlanned", len(result.planned)),
        ("ActionsDeferredToWindow", len(result.deferred_to_window)),
        ("ActionsHeld", len(result.deferred)),
        ("ActionsSuppressed", len(result.suppressed)),
        ("ActionsCancelled", len(result.cancelled)),
    ):
        telemetry.count(name, value)
    if result.duplicates:
        # A redelivered loan change plans nothing new: a log line, not a metric of its own.
        telemetry.logger.info("duplicate plans ignored", extra={"duplicates": result.duplicates})


def invalid_policy_reporter(telemetry: Telemetry) -> Callable[[str], None]:
    """What the planner does with an invalid collection policy document (it keeps the last good one)."""

    def report(reason: str) -> None:
        # The reason names the parameter, the field and the problem; the document holds no PII.
        telemetry.logger.error(
            "invalid collection policy document; keeping the last good one", extra={"reason": reason}
        )
        telemetry.count("PolicyDocumentInvalid")

    return report


# -- dispatcher, deferred-release, call-outcomes ------------------------------------------------------
class DispatchReport:
    """The dispatcher's log line and metrics for each action it dispatches (new and deferred ones)."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def dispatched(self, result: DispatchResult, at: datetime) -> None:
        self.telemetry.logger.info(
            "action dispatched",
            extra={
                "action_id": result.action_id,
                "outcome": result.outcome,
                "channel": result.channel,
                "reason": result.reason,
                "at": format_utc(at),
            },
        )
        if result.status is None:
            return
        self.telemetry.count("Contacts", channel=result.channel, outcome=result.outcome)
        if result.channel == Channel.SMS.value and result.status is ActionStatus.SENT:
            self.telemetry.count("SmsSent")
        elif result.channel == Channel.SMS.value and result.status is ActionStatus.FAILED:
            self.telemetry.count("SmsFailed")

    def backlog(self, due: int) -> None:
        self.telemetry.count("DeferredBacklog", due)

    def not_dispatched(self, action_id: str) -> None:
        """Called while handling the error: the traceback goes with the line."""
        self.telemetry.logger.exception("deferred action not dispatched", extra={"action_id": action_id})


def call_attempt_recorded(
    telemetry: Telemetry, attempt: CallAttempt, result: CallOutcomeResult
) -> dict[str, Any]:
    """`CallAttempts` (by `result`), `CallAttemptBreaches` for an attempt that broke a rule; one log
    line of ids (a breach as a warning, with the rule that failed)."""
    answer = {
        "call_id": attempt.call_id,
        "task_id": attempt.task_id,
        "duplicate": not result.new,
        "loan_id": result.loan_id,
        "unanswered_contacts": result.unanswered_contacts,
        "loan_changed": result.loan_changed,
        "task_closed": result.task_closed,
        "breach": result.breach,
    }
    if result.new:
        telemetry.count("CallAttempts", result=attempt.result.value)
        if result.breach:
            telemetry.count("CallAttemptBreaches")
            telemetry.logger.warning(
                "call attempt broke a rule", extra={**answer, "rules_checked": list(result.rules_checked)}
            )
            return answer
    telemetry.logger.info("call attempt recorded", extra=answer)
    return answer


def field_visit_recorded(telemetry: Telemetry, visit: FieldVisit, result: FieldVisitResult) -> dict[str, Any]:
    """`FieldVisitsReported` (by jurisdiction), `FieldVisitViolations` for a visit that broke a rule
    (no dimension: the alarm `collector-rule-breach` sums it with `CallAttemptBreaches`; the warning
    line names the jurisdiction)."""
    answer = {
        "visit_id": visit.visit_id,
        "task_id": visit.task_id,
        "duplicate": not result.new,
        "loan_id": result.loan_id,
        "outcome": visit.outcome.value,
        "breaches": list(result.breaches),
    }
    if result.new:
        telemetry.count("FieldVisitsReported", jurisdiction=result.jurisdiction)
        if result.breaches:
            telemetry.count("FieldVisitViolations")
            telemetry.logger.warning(
                "field visit broke a rule", extra={**answer, "jurisdiction": result.jurisdiction}
            )
            return answer
    telemetry.logger.info("field visit recorded", extra=answer)
    return answer


# -- archiver --------------------------------------------------------------------------------------------
def archived(
    telemetry: Telemetry, result: ArchiveResult, records: list[tuple[dict[str, Any], datetime]]
) -> None:
    """`ArchiveLagSeconds`: how long the oldest contact of the batch waited, from its time to the stream."""
    lags = [(seen - parse_utc(str(record["occurred_at"]))).total_seconds() for record, seen in records]
    lag_s = max([0.0, *lags])
    telemetry.count("ArchivedRecords", result.records)
    telemetry.count("ArchiveLagSeconds", lag_s, MetricUnit.Seconds)
    telemetry.logger.info(
        "archived",
        extra={
            "records": result.records,
            "objects": len(result.objects),
            "already_archived": result.already_archived,
            "ttl_set": result.ttl_set,
        },
    )


# -- payments, holds, erasure ------------------------------------------------------------------------------
def payment_applied(
    telemetry: Telemetry, payment: PaymentReceived, outcome: PaymentOutcome
) -> dict[str, Any]:
    telemetry.count("PaymentsApplied", 0 if outcome.duplicate else 1)
    telemetry.count("PaymentsReplayed", int(outcome.replayed))
    telemetry.count("Recoveries", int(outcome.recovered_minor > 0))
    telemetry.count("Cures", int(outcome.cured))
    answer = {
        "loan_id": payment.loan_id,
        "duplicate": outcome.duplicate,
        "replayed": outcome.replayed,
        "cured": outcome.cured,
        "closed": outcome.closed,
        "recovered_minor": outcome.recovered_minor,
    }
    telemetry.logger.info(
        "payment applied",
        extra={
            "payment_id": payment.payment_id,
            **answer,
            "applied_minor": outcome.applied_minor,
            "unapplied_minor": outcome.unapplied_minor,
            "prepaid_minor": outcome.prepaid_minor,
            "rebate_minor": outcome.rebate_minor,
        },
    )
    return answer


def payment_reversed(
    telemetry: Telemetry, reversal: PaymentReversed, result: ReversalResult
) -> dict[str, Any]:
    from arrears.usecases.payments import ReversalVerdict  # the payments handler has it imported already

    undone = result.verdict is ReversalVerdict.REVERSED
    telemetry.count("PaymentsReversed", int(undone))
    answer = {
        "loan_id": reversal.loan_id,
        "payment_id": reversal.payment_id,
        "verdict": result.verdict.value,
        "rebuilt": result.rebuilt,
    }
    extra = {**answer, "reason": reversal.reason}
    if undone:
        telemetry.logger.info("payment reversed", extra=extra)
    else:
        # An unknown loan or payment, or one reversed before: nothing to undo (a no-op, not an error).
        telemetry.logger.warning("payment reversal ignored", extra=extra)
    return answer


def hold_recorded(telemetry: Telemetry, change: HoldChange, result: HoldResult) -> dict[str, Any]:
    applied = result.status is HoldChangeStatus.APPLIED
    if applied:
        telemetry.count("HoldsChanged", hold=change.hold.value, change="set" if change.active else "lift")
    loan = result.loan
    answer = {
        "request_id": change.request_id,
        "loan_id": change.loan_id,
        "hold": change.hold.value,
        "active": change.active,
        "outcome": result.status.value,
        "changed": result.changed,
        "next_review_on": loan.next_review_on.isoformat() if loan.next_review_on else None,
    }
    if result.status is HoldChangeStatus.LOAN_CLOSED:
        telemetry.logger.warning(
            "hold change for a closed loan ignored", extra={**answer, "status": loan.status.value}
        )
    else:
        telemetry.logger.info("hold change recorded" if applied else "hold change ignored", extra=answer)
    return answer


def erasure_completed(telemetry: Telemetry, outcome: ErasureOutcome) -> dict[str, Any]:
    # Counts, field names and the request id's hash only: never the borrower id, any erased value,
    # nor the caller's request id (it may carry personal data).
    summary = {
        "request_sha256": outcome.request_sha256,
        "borrower_found": outcome.borrower_found,
        "fields_erased": outcome.fields_erased,
        "identity_kept": outcome.identity_kept,
        "open_debt": outcome.open_debt,
        # identity kept until the bureau file reporting a paid account closed (arrears.usecases.erasure)
        "closing_report_pending": outcome.closing_report_pending,
        "loans": outcome.loans,
        "contacts_pseudonymised": outcome.contacts_pseudonymised,
        "pseudonymised": outcome.pseudonymised,
        "audit_key": outcome.audit_key,
    }
    if outcome.already_erased:
        # A pseudonym names a borrower erased before: nothing re-keyed (never an error for the failure
        # queue); the pseudonym is not logged either, the request's hash says which request it was.
        summary["already_erased"] = True
        telemetry.logger.info(
            "erasure request names an erased borrower's pseudonym: nothing to re-key",
            extra={**summary, "audit_written": outcome.audit_written},
        )
        return summary
    telemetry.logger.info("erasure completed", extra={**summary, "audit_written": outcome.audit_written})
    return summary
