"""erasure: ErasureRequested on the lending-core bus -> PII erased, archive kept, erasure audited."""

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
    from arrears.usecases.erasure import erase_borrower

    request, at = receive(event, ErasureRequestedEvent, telemetry.logger)
    outcome = erase_borrower(
        request,
        at=at,
        borrowers=container.borrowers,
        loan_ids_for=container.loan_ids_for_borrower,
        contacts=container.contacts,
        store=container.archive_store,
        token_secret=container.token_secret.value,
    )
    return erasure_completed(telemetry, outcome)
