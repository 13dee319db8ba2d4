"""erasure: ErasureRequested on the lending-core bus -> PII erased, ids pseudonymised, archive kept."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@telemetry.handler(correlation_paths.EVENT_BRIDGE)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.events.bus import ErasureRequestedEvent
    from arrears.handlers.lambda_events import receive
    from arrears.handlers.reporting import erasure_completed
    from arrears.usecases.erasure import ErasurePorts, erase_borrower

    request, at = receive(event, ErasureRequestedEvent, telemetry.logger)
    outcome = erase_borrower(
        request,
        at=at,
        ports=ErasurePorts.from_container(container),
    )
    return erasure_completed(telemetry, outcome)
