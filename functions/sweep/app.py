"""sweep: daily schedule -> one sweep task per review shard on the sweep-tasks queue (the fan-out)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.adapters.lambda_events import event_time
from arrears.domain.calendar import format_utc
from arrears.usecases.sweep import fan_out

logger = Logger()
metrics = Metrics()
container = Container.from_environment()


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    at = event_time(event)
    tasks = fan_out(at, container.settings.shard_count, container.sweep_tasks)
    metrics.add_metric(name="SweepShardsEnqueued", unit=MetricUnit.Count, value=len(tasks))
    summary = {
        "business_time": format_utc(at),
        "business_date": tasks[0].run_date.isoformat(),
        "shards": len(tasks),
    }
    logger.info("sweep fanned out", extra=summary)
    return summary
