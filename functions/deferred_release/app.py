"""deferred-release: every 15 minutes -> dispatch the deferred actions whose time has come (DeferredIndex)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

if TYPE_CHECKING:
    from arrears.adapters.outbox import SendOutbox
    from arrears.usecases.dispatch import DispatchPorts

# The contacts it makes are the dispatcher's: alarms and the dashboard count them under its service.
telemetry = Telemetry(metrics_service="dispatcher")
container = Container.from_environment()  # the environment only: see the container's docstring


@cache
def wiring() -> tuple[SendOutbox, DispatchPorts]:
    """The send outbox and the dispatch ports, built on the first invocation, not at import:
    their modules, their clients (DynamoDB, SNS, SQS, Secrets Manager) and the token secret's read
    are not paid by an import, and a failed read is retried by the next invocation instead of
    failing the init."""
    from arrears.usecases.dispatch import DispatchPorts

    once = container.outbox
    return once, DispatchPorts.from_container(container, once)


# Stop releasing when less than this is left of the invocation: the rest wait for the next run.
TIME_RESERVE_MS = 30_000


@telemetry.handler(correlation_paths.EVENT_BRIDGE)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.events.schedules import ScheduledEvent
    from arrears.handlers.lambda_events import receive, time_left
    from arrears.handlers.reporting import DispatchReport
    from arrears.usecases.deferred_release import release_deferred

    once, ports = wiring()
    once.register_lambda_context(context)
    # The schedule's time is not the contact instant: each release is judged at the container's clock.
    receive(event, ScheduledEvent, telemetry.logger)
    release = release_deferred(
        ports,
        limit=container.settings.dispatch_deferred_limit,
        has_time_left=time_left(context, TIME_RESERVE_MS),
        observer=DispatchReport(telemetry),
    )
    # The run's counts, for the deferred-backlog runbook's query (docs/runbooks/deferred-backlog.md).
    telemetry.logger.info("deferred release run", extra=release.answer())
    return release.answer()
