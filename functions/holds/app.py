"""holds: HoldChanged on the loan-events bus -> the hold set or lifted on the loan, re-assessed."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

if TYPE_CHECKING:
    from arrears.config.playbook import PlaybookSource

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@cache
def playbooks() -> PlaybookSource:
    """The SSM collection policy (the planner reports an invalid document; here it is logged), read
    by the first invocation that needs it."""
    return container.playbook_source()


@telemetry.handler(correlation_paths.EVENT_BRIDGE)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.domain.holds import InvalidHoldChange
    from arrears.events.bus import HoldChangedEvent
    from arrears.handlers.lambda_events import receive
    from arrears.handlers.reporting import hold_recorded
    from arrears.usecases.holds import UnknownLoan, record_hold

    change = receive(event, HoldChangedEvent, telemetry.logger)
    ids = {"request_id": change.request_id, "loan_id": change.loan_id, "hold": change.hold.value}
    with telemetry.failure_logged("hold change not applied", UnknownLoan, InvalidHoldChange, **ids):
        result = record_hold(
            change,
            loans=container.loans,
            playbook=playbooks().current(),
        )
    return hold_recorded(telemetry, change, result)
