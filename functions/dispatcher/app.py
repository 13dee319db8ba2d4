"""dispatcher: Actions stream (new PENDING actions) -> the compliance gate at send time, send once, record."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

if TYPE_CHECKING:
    from arrears.adapters.outbox import SendOutbox
    from arrears.events.streams import PlannedAction
    from arrears.handlers.reporting import DispatchReport
    from arrears.usecases.dispatch import DispatchPorts

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@cache
def wiring() -> tuple[SendOutbox, DispatchPorts, DispatchReport]:
    """The send outbox, the dispatch ports and the dispatch report, built on the first invocation,
    not at import: their modules, their clients (DynamoDB, SNS, SQS, Secrets Manager) and the token
    secret's read are not paid by an import, and a failed read is retried by the next invocation
    instead of failing the init."""
    from arrears.handlers.reporting import DispatchReport
    from arrears.usecases.dispatch import DispatchPorts

    once = container.outbox
    return once, DispatchPorts.from_container(container, once), DispatchReport(telemetry)


def send(action: PlannedAction) -> None:
    from arrears.usecases.dispatch import dispatch

    _, ports, report = wiring()
    # The record's creation time is the planning's business time; the contact is judged at the
    # instant it is made (the container's clock), which a retried or replayed record shows apart.
    # The image's ids and channel let one request read the action, loan, borrower (and a call task's
    # ledger) afresh.
    result = dispatch(
        action.action_id,
        ports,
        loan_id=action.loan_id,
        borrower_id=action.borrower_id,
        channel=action.channel,
    )
    report.dispatched(result, result.at or action.written_at)


@telemetry.handler()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.events.streams import ActionRecord
    from arrears.handlers.lambda_events import process_batch

    once = wiring()[0]
    once.register_lambda_context(context)
    return process_batch(event, context, ActionRecord, send, telemetry.logger)
