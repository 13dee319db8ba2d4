"""call-outcomes: what the dialer and the field collectors report (bus).

* `CallAttempted` (the dialer contract's report of one attempt) -> the loan's unanswered-contacts
  counter, the borrower's call ledger, an archived contact record per attempt. `CallOutcome`, the
  earlier one-report-per-call form, is folded into the same path.
* `FieldVisitReported` -> the visit checked against the pack in force, archived as a contact record.

docs/contracts.md, "The dialer contract".
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

if TYPE_CHECKING:
    from arrears.adapters.idempotency import OnceRunner
    from arrears.domain.call_attempts import CallAttempt
    from arrears.usecases.dispatch import DispatchPorts

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@cache
def wiring() -> tuple[OnceRunner, DispatchPorts]:
    """The idempotency store and the dispatch ports, built on the first invocation, not at import:
    their modules, their clients (DynamoDB, SNS, SQS, Secrets Manager) and the token secret's read
    are not paid by an import, and a failed read is retried by the next invocation instead of
    failing the init."""
    from arrears.adapters.idempotency import OnceRunner
    from arrears.usecases.dispatch import DispatchPorts

    once = OnceRunner(container.settings.idempotency_table)
    return once, DispatchPorts.from_container(container, once)


def _field_visit(event: dict[str, Any], ports: DispatchPorts) -> dict[str, Any]:
    from arrears.events.dialer import FieldVisitReportedEvent
    from arrears.handlers.lambda_events import receive
    from arrears.handlers.reporting import field_visit_recorded
    from arrears.usecases.field_visits import RejectedVisit, report_field_visit

    visit = receive(event, FieldVisitReportedEvent, telemetry.logger)
    try:
        result = report_field_visit(visit, ports)
    except RejectedVisit as error:  # nothing written; the event goes to AsyncFailureQueue
        telemetry.logger.error(
            "field visit rejected",
            extra={"visit_id": visit.visit_id, "task_id": visit.task_id, "reason": str(error)},
        )
        raise
    return field_visit_recorded(telemetry, visit, result)


@telemetry.handler(correlation_paths.EVENT_BRIDGE)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.events.bus import CallOutcomeEvent
    from arrears.events.dialer import CallAttemptedEvent
    from arrears.handlers.lambda_events import receive
    from arrears.handlers.reporting import call_attempt_recorded
    from arrears.usecases.call_outcomes import RejectedAttempt, report_call_attempt

    once, ports = wiring()
    once.register_lambda_context(context)
    # An event that is not an object is refused by the parser below, with its log line.
    kind = event.get("detail-type") if isinstance(event, dict) else None
    if kind == "FieldVisitReported":
        return _field_visit(event, ports)
    attempt: CallAttempt
    if kind == "CallOutcome":
        attempt = receive(event, CallOutcomeEvent, telemetry.logger).attempt()
    else:
        attempt = receive(event, CallAttemptedEvent, telemetry.logger)
    try:
        result = report_call_attempt(attempt, ports)
    except RejectedAttempt as error:  # nothing written; the event goes to AsyncFailureQueue
        telemetry.logger.error(
            "call attempt rejected",
            extra={"call_id": attempt.call_id, "task_id": attempt.task_id, "reason": str(error)},
        )
        raise
    return call_attempt_recorded(telemetry, attempt, result)
