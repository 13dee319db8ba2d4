"""call-outcomes: the dialer's CallOutcome (bus) -> the loan's unanswered-contacts counter, the call caps."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.adapters.idempotency import OnceRunner
from arrears.events.bus import CallOutcomeEvent
from arrears.handlers.lambda_events import receive
from arrears.handlers.reporting import call_outcome_recorded
from arrears.handlers.telemetry import Telemetry
from arrears.usecases.call_outcomes import report_call_outcome
from arrears.usecases.dispatch import DispatchPorts

telemetry = Telemetry()
container = Container.from_environment()  # settings only: every client is built on first use


@cache
def wiring() -> tuple[OnceRunner, DispatchPorts]:
    """The idempotency store and the dispatch ports, built on the first invocation, not at import:
    their clients (DynamoDB, SNS, SQS, Secrets Manager) and the token secret's read are not paid by
    an import, and a failed read is retried by the next invocation instead of failing the init."""
    once = OnceRunner(container.settings.idempotency_table)
    return once, DispatchPorts.from_container(container, once)


@telemetry.handler(correlation_paths.EVENT_BRIDGE)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    once, ports = wiring()
    once.register_lambda_context(context)
    report = receive(event, CallOutcomeEvent, telemetry.logger)
    return call_outcome_recorded(telemetry, report, report_call_outcome(report, ports))
