"""sweep-deadline: EventBridge Scheduler, every 15 minutes from the deadline hour -> is the sweep done?

Emits `SweepLate` (1: the run of the local business date has not completed, 0: it has) for the
sweep-late alarm, and logs which shards are still missing. Scheduled in the book's time zone, so the
deadline follows daylight saving time.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.adapters.lambda_events import event_time
from arrears.domain.calendar import format_utc
from arrears.usecases.sweep import sweep_deadline_check

logger = Logger()
metrics = Metrics()
container = Container.from_environment()


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    at = event_time(event)
    progress = sweep_deadline_check(at, container.settings.sweep_timezone, container.sweep_runs)
    metrics.add_metric(name="SweepLate", unit=MetricUnit.Count, value=0 if progress.completed else 1)
    summary = {
        "checked_at": format_utc(at),
        "business_date": progress.business_date.isoformat(),
        "completed": progress.completed,
        "completed_at": progress.completed_at,
        "shards_done": progress.shards_done,
        "shard_count": progress.shard_count or container.settings.shard_count,
    }
    if progress.completed:
        logger.info("sweep finished", extra=summary)
    else:
        logger.warning("sweep not finished by the deadline", extra=summary)
    return summary
