"""sweep: daily schedule -> one sweep task per review shard on the sweep-tasks queue (the fan-out)."""

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
    from arrears.handlers.reporting import fanned_out
    from arrears.usecases.sweep import fan_out

    # A time ahead of the clock is refused: no schedule fires before its time.
    at = receive_scheduled(event, SchedulerInvocation, telemetry.logger, container.clock.now())
    return fanned_out(telemetry, at, fan_out(at, container.settings.shard_count, container.sweep_tasks))
