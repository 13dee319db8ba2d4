"""payments: PaymentReceived on the lending-core bus -> waterfall, re-assessment, cure."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.events.bus import PaymentReceivedEvent
from arrears.handlers.lambda_events import receive
from arrears.handlers.reporting import payment_applied
from arrears.handlers.telemetry import Telemetry
from arrears.usecases.payments import UnknownLoan, receive_payment

telemetry = Telemetry()
container = Container.from_environment()
# The SSM collection policy (the planner reports an invalid document; here it is logged).
playbooks = container.playbook_source()


@telemetry.handler(correlation_paths.EVENT_BRIDGE)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payment = receive(event, PaymentReceivedEvent, telemetry.logger)
    with telemetry.failure_logged(
        "payment not applied", UnknownLoan, ValueError, payment_id=payment.payment_id
    ):
        outcome = receive_payment(
            payment,
            loans=container.loans,
            playbook=playbooks.current(),
        )
    return payment_applied(telemetry, payment, outcome)
