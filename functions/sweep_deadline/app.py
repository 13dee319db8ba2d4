"""sweep-deadline: EventBridge Scheduler, every 15 minutes from the deadline hour -> is the sweep done?

Emits `SweepLate` (1: the run of the local business date has not completed, 0: it has) for the
sweep-late alarm, and logs which shards are still missing. Scheduled in the book's time zone, so the
deadline follows daylight saving time.
"""

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
    from arrears.handlers.reporting import deadline_checked
    from arrears.usecases.sweep import sweep_deadline_check

    # A time ahead of the clock is refused: no schedule fires before its time.
    at = receive_scheduled(event, SchedulerInvocation, telemetry.logger, container.clock.now())
    settings = container.settings
    progress = sweep_deadline_check(at, settings.sweep_timezone, container.sweep_runs)
    return deadline_checked(telemetry, at, progress, settings.shard_count)
