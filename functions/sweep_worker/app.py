"""sweep-worker: sweep-tasks (SQS) -> sweep one shard, re-enqueue its continuation, count it done;
then count the shard's open loans per jurisdiction and bucket (the daily census, `kind` "census")."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import validate_emf_timestamp
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.adapters.items import MalformedItem
from arrears.usecases.census import CensusOutcome, CensusTask, enqueue_census, parse_task, run_census_task
from arrears.usecases.sweep import ShardSweep, run_sweep_task

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
container = Container.from_environment()
# The SSM collection policy (the planner reports an invalid document; here it is logged).
policies = container.playbook_source()
NAMESPACE = "Arrears"
TOTALS: dict[str, int] = {}
CENSUS_TOTALS: dict[str, int] = {}


def time_check(context: LambdaContext, started: float) -> Callable[[], bool]:
    """True while the invocation has time for another page (budget and safety margin from settings)."""
    settings = container.settings

    def has_time_left() -> bool:
        left = context.get_remaining_time_in_millis() - settings.sweep_safety_margin_ms
        if settings.sweep_time_budget_ms:
            elapsed_ms = (time.monotonic() - started) * 1000
            left = min(left, int(settings.sweep_time_budget_ms - elapsed_ms))
        return left > 0

    return has_time_left


def _emit(result: ShardSweep, duration_ms: float) -> None:
    for name, metric in (
        ("examined", "SweepShardLoansExamined"),
        ("milestones_hit", "SweepShardMilestonesHit"),
        ("writes", "SweepShardWrites"),
        ("conflicts", "SweepShardConflicts"),
        ("items_read", "SweepShardItemsRead"),
    ):
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=getattr(result, name))
    metrics.add_metric(name="SweepShardDurationMs", unit=MetricUnit.Milliseconds, value=duration_ms)


def _emit_census(outcome: CensusOutcome) -> None:
    """One `OpenLoans` metric per (jurisdiction, bucket), stamped with the run's business time.

    Every shard of a run stamps the same instant (the schedule's), so a daily Sum over the shards
    lands in one period even when the census straddles UTC midnight. CloudWatch drops EMF data
    stamped more than 14 days back or 2 hours ahead; only an operator's late re-run of an old date
    can be that far (logged as a warning; Powertools' own warning is silenced for it).
    """
    at = outcome.task.business_time
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Powertools' "outside CloudWatch's window" warning: logged below
        for row in outcome.rows:
            dimensions = {"service": logger.service, "jurisdiction": row.jurisdiction, "bucket": row.bucket}
            with single_metric(
                name="OpenLoans",
                unit=MetricUnit.Count,
                value=row.count,
                namespace=NAMESPACE,
                default_dimensions=dimensions,
            ) as metric:
                metric.set_timestamp(at)
    details = {
        "business_date": outcome.task.run_date.isoformat(),
        "shard": outcome.task.shard,
        "open_loans": outcome.result.total,
        "metrics": len(outcome.rows),
    }
    if validate_emf_timestamp(at):
        logger.info("open-loan census emitted", extra=details)
    else:
        logger.warning(
            "open-loan census emitted with a business time CloudWatch will not accept (older than 14 days "
            "or more than 2 hours ahead): these metrics will be dropped",
            extra=details,
        )


def census_handler(task: CensusTask, started: float, context: LambdaContext) -> None:
    if not container.settings.census_enabled:
        logger.info(
            "open-loan census disabled: task dropped",
            extra={"business_date": task.run_date.isoformat(), "shard": task.shard},
        )
        return
    outcome = run_census_task(
        task,
        loans=container.loans,
        policy=policies.current(),
        queue=container.sweep_tasks,
        runs=container.sweep_runs,
        has_time_left=time_check(context, started),
        page_size=container.settings.sweep_page_size,
    )
    # What the census's reads are charged on (whole items: ReviewIndex projects ALL); docs/scaling.md.
    metrics.add_metric(name="CensusItemsRead", unit=MetricUnit.Count, value=outcome.result.items_read)
    for name, value in (
        ("items_read", outcome.result.items_read),
        ("counted", outcome.result.counted),
        ("emitted", len(outcome.rows)),
    ):
        CENSUS_TOTALS[name] = CENSUS_TOTALS.get(name, 0) + value
    logger.info(
        "census shard segment done",
        extra={
            "business_date": task.run_date.isoformat(),
            "shard": task.shard,
            "continued": outcome.re_enqueued,
            "items_read": outcome.result.items_read,
            "counted": outcome.result.counted,
            "claimed": outcome.claimed,
        },
    )
    if outcome.claimed:
        _emit_census(outcome)
    elif not outcome.re_enqueued:
        logger.info(
            "open-loan census of this date and shard was emitted already: nothing emitted",
            extra={"business_date": task.run_date.isoformat(), "shard": task.shard},
        )


def record_handler(record: SQSRecord, started: float, context: LambdaContext) -> None:
    try:
        task = parse_task(record.body)
    except MalformedItem as error:
        logger.error("malformed sweep task", extra={"reason": str(error), "message_id": record.message_id})
        raise
    if isinstance(task, CensusTask):
        census_handler(task, started, context)
        return
    began = time.monotonic()
    outcome = run_sweep_task(
        task,
        loans=container.loans,
        policy=policies.current(),
        queue=container.sweep_tasks,
        runs=container.sweep_runs,
        has_time_left=time_check(context, started),
        page_size=container.settings.sweep_page_size,
    )
    _emit(outcome.result, (time.monotonic() - began) * 1000)
    for name, value in outcome.result.counts().items():
        TOTALS[name] = TOTALS.get(name, 0) + value
    logger.info(
        "sweep shard segment done",
        extra={
            "business_date": task.run_date.isoformat(),
            "shard": task.shard,
            "continued": outcome.re_enqueued,
            **outcome.result.counts(),
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
    if outcome.shard_completed and container.settings.census_enabled:
        # After the heartbeat: the census never holds it back, and a failed send retries the task
        # (the sweep writes nothing twice, the done-shard set and the heartbeat claim hold).
        enqueue_census(task, container.sweep_tasks)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.monotonic()
    TOTALS.clear()
    CENSUS_TOTALS.clear()

    def one(record: SQSRecord) -> None:
        record_handler(record, started, context)

    response = process_partial_response(event=event, record_handler=one, processor=processor, context=context)
    return {**response, "sweep": dict(TOTALS), "census": dict(CENSUS_TOTALS)}
