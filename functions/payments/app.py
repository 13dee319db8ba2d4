"""payments: PaymentReceived and PaymentReversed on the lending-core bus -> the payment ledger, the
waterfall on each payment's own value date, re-assessment, cure; a reversal rebuilds the loan without
the payment. One EventBridge rule (both detail-types), dispatched on `detail-type`."""

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


REVERSED = "PaymentReversed"


@telemetry.handler(correlation_paths.EVENT_BRIDGE)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.domain.payments import PaymentError
    from arrears.events.bus import PaymentReceivedEvent, PaymentReversedEvent
    from arrears.handlers.lambda_events import receive
    from arrears.handlers.reporting import payment_applied, payment_reversed
    from arrears.usecases.payments import UnknownLoan, receive_payment, reverse_payment

    # Anything but an object is parsed (and rejected, logged) as a PaymentReceived.
    if isinstance(event, dict) and event.get("detail-type") == REVERSED:  # type: ignore[redundant-expr]
        reversal = receive(event, PaymentReversedEvent, telemetry.logger)
        result = reverse_payment(
            reversal, loans=container.loans, ledger=container.payments, playbook=playbooks().current()
        )
        return payment_reversed(telemetry, reversal, result)
    payment = receive(event, PaymentReceivedEvent, telemetry.logger)
    with telemetry.failure_logged(
        "payment not applied", UnknownLoan, PaymentError, ValueError, payment_id=payment.payment_id
    ):
        outcome = receive_payment(
            payment,
            loans=container.loans,
            ledger=container.payments,
            playbook=playbooks().current(),
        )
    return payment_applied(telemetry, payment, outcome)
