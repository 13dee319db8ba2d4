"""holds: HoldChanged on the loan-events bus -> the hold set or lifted on the loan, re-assessed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.domain.holds import InvalidHoldChange
from arrears.events.bus import HoldChangedEvent
from arrears.handlers.lambda_events import receive
from arrears.handlers.reporting import hold_recorded
from arrears.handlers.telemetry import Telemetry
from arrears.usecases.holds import UnknownLoan, record_hold

telemetry = Telemetry()
container = Container.from_environment()
# The SSM collection policy (the planner reports an invalid document; here it is logged).
playbooks = container.playbook_source()


@telemetry.handler(correlation_paths.EVENT_BRIDGE)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = receive(event, HoldChangedEvent, telemetry.logger)
    ids = {"request_id": change.request_id, "loan_id": change.loan_id, "hold": change.hold.value}
    with telemetry.failure_logged("hold change not applied", UnknownLoan, InvalidHoldChange, **ids):
        result = record_hold(
            change,
            loans=container.loans,
            playbook=playbooks.current(),
        )
    return hold_recorded(telemetry, change, result)
