"""sweep: daily schedule -> the book's stock as OpenLoans, and the day's tasks on the sweep-tasks queue
(as many as the book needs, at most one per review shard; census-first on a census day)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.events.correlation import SCHEDULED_TIME
from arrears.handlers.telemetry import Telemetry

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@telemetry.handler(SCHEDULED_TIME)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.events.schedules import SchedulerInvocation
    from arrears.handlers.lambda_events import receive_scheduled
    from arrears.handlers.reporting import sweep_started
    from arrears.usecases.sweep_start import start_sweep

    # A time ahead of the clock is refused: no schedule fires before its time.
    at = receive_scheduled(event, SchedulerInvocation, telemetry.logger, container.clock.now())
    settings = container.settings
    start = start_sweep(
        at,
        shard_count=settings.shard_count,
        queue=container.sweep_tasks,
        stock=container.book_stock,
        runs=container.sweep_runs if settings.sweep_runs_table else None,
        census_enabled=settings.census_enabled,
        census_interval_days=settings.census_interval_days,
        loans_per_task=settings.sweep_loans_per_task,
    )
    return sweep_started(telemetry, at, start)
