"""sweep-worker: sweep-tasks (SQS) -> sweep one shard, re-enqueue its continuation, count it done."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.config.policy import DEFAULT_POLICY
from arrears.usecases.sweep import ShardSweep, SweepTask, run_sweep_task

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
container = Container.from_environment()
NAMESPACE = "Arrears"
TOTALS: dict[str, int] = {}


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


def record_handler(record: SQSRecord, started: float, context: LambdaContext) -> None:
    task = SweepTask.from_body(json.loads(record.body))
    began = time.monotonic()
    outcome = run_sweep_task(
        task,
        loans=container.loans,
        policy=DEFAULT_POLICY,
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


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.monotonic()
    TOTALS.clear()

    def one(record: SQSRecord) -> None:
        record_handler(record, started, context)

    response = process_partial_response(event=event, record_handler=one, processor=processor, context=context)
    return {**response, "sweep": dict(TOTALS)}
