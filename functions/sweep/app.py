"""sweep: daily schedule -> assess every loan whose next milestone has arrived (all shards)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.adapters.lambda_events import event_time
from arrears.config.policy import DEFAULT_POLICY
from arrears.domain.calendar import format_utc
from arrears.usecases.sweep import sweep_shard

logger = Logger()
metrics = Metrics()
container = Container.from_environment()
SAFETY_MS = 10_000


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    at = event_time(event)
    shards = container.settings.shard_count
    totals = {"examined": 0, "milestones_hit": 0, "writes": 0, "conflicts": 0, "items_read": 0}
    for shard in range(shards):
        key: dict[str, Any] | None = None
        while True:
            result = sweep_shard(
                container.loans,
                shard,
                at,
                DEFAULT_POLICY,
                shards,
                start_key=key,
                has_time_left=lambda: context.get_remaining_time_in_millis() > SAFETY_MS,
            )
            for name in totals:
                totals[name] += getattr(result, name)
            key = result.continuation
            if key is None:
                break
    for name, value in totals.items():
        metrics.add_metric(name=f"Sweep{name.title().replace('_', '')}", unit=MetricUnit.Count, value=value)
    metrics.add_metric(name="SweepCompleted", unit=MetricUnit.Count, value=1)
    logger.info("sweep finished", extra={"business_time": format_utc(at), **totals})
    return {"business_time": format_utc(at), **totals}
