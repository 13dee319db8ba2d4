"""dispatcher: Actions stream (new PENDING actions) -> the compliance gate at send time, send once, record."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.adapters.outbox import SendOutbox
from arrears.events.streams import ActionRecord, PlannedAction
from arrears.handlers.lambda_events import process_batch
from arrears.handlers.reporting import DispatchReport
from arrears.handlers.telemetry import Telemetry
from arrears.usecases.dispatch import DispatchPorts, dispatch

telemetry = Telemetry()
report = DispatchReport(telemetry)
container = Container.from_environment()  # settings only: every client is built on first use


@cache
def wiring() -> tuple[SendOutbox, DispatchPorts]:
    """The send outbox and the dispatch ports, built on the first invocation, not at import:
    their clients (DynamoDB, SNS, SQS, Secrets Manager) and the token secret's read are not paid by
    an import, and a failed read is retried by the next invocation instead of failing the init."""
    once = container.outbox
    return once, DispatchPorts.from_container(container, once)


def send(action: PlannedAction) -> None:
    # The record's creation time is the planning's business time; the contact is judged at the
    # instant it is made (the container's clock), which a retried or replayed record shows apart.
    # The image's ids and channel let one request read the action, loan, borrower (and a call task's
    # ledger) afresh.
    result = dispatch(
        action.action_id,
        wiring()[1],
        loan_id=action.loan_id,
        borrower_id=action.borrower_id,
        channel=action.channel,
    )
    report.dispatched(result, result.at or action.written_at)


@telemetry.handler()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    once, _ = wiring()
    once.register_lambda_context(context)
    return process_batch(event, context, ActionRecord, send, telemetry.logger)
