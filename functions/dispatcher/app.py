"""dispatcher: Actions stream (new actions) and a 15-minute schedule (deferred ones) -> gate, send, record;
CallOutcome events from the dialer -> the loan's unanswered-contacts counter and the call ledger."""

from __future__ import annotations

from datetime import datetime
from itertools import islice
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.adapters.idempotency import OnceRunner
from arrears.adapters.lambda_events import event_time, is_scheduled_event, stream_record_time
from arrears.domain.actions import ActionStatus
from arrears.domain.calendar import format_utc
from arrears.domain.strategy import Channel
from arrears.usecases.call_outcomes import CallOutcomeReport, report_call_outcome
from arrears.usecases.dispatch import DispatchPorts, DispatchResult, dispatch

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
container = Container.from_environment()
once = OnceRunner(container.settings.idempotency_table)
ports = DispatchPorts.from_container(container, once)
# Stop releasing deferred actions when less than this is left of the invocation: the rest wait
# for the next 15-minute run (they stay in DeferredIndex).
TIME_RESERVE_MS = 30_000
CALL_OUTCOME = "CallOutcome"


def _count(result: DispatchResult) -> None:
    if result.status is None:
        return
    with single_metric(
        name="Contacts", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
    ) as metric:
        metric.add_dimension(name="channel", value=result.channel)
        metric.add_dimension(name="outcome", value=result.outcome)
    if result.channel == Channel.SMS.value and result.status is ActionStatus.SENT:
        metrics.add_metric(name="SmsSent", unit=MetricUnit.Count, value=1)
    elif result.channel == Channel.SMS.value and result.status is ActionStatus.FAILED:
        metrics.add_metric(name="SmsFailed", unit=MetricUnit.Count, value=1)


def _dispatch(action_id: str, at: datetime) -> None:
    result = dispatch(action_id, at, ports)
    logger.info(
        "action dispatched",
        extra={
            "action_id": action_id,
            "outcome": result.outcome,
            "channel": result.channel,
            "reason": result.reason,
            "at": format_utc(at),
        },
    )
    _count(result)


def record_handler(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else None
    action_id = image.get("action_id") if image else None
    if not isinstance(action_id, str):
        logger.error("action stream record without action_id", extra={"event_id": record.event_id})
        raise ValueError("action stream record without action_id")
    _dispatch(action_id, stream_record_time(record.raw_event))


def release_deferred(at: datetime, context: LambdaContext) -> dict[str, Any]:
    """The 15-minute run: dispatch deferred actions whose time has come, bounded per run.

    One action's failure (throttling, an action another dispatcher holds) does not stop the run:
    the action stays DEFERRED and due, and the next run picks it up again.
    """
    backlog = container.actions.deferred_due_count(at)
    metrics.add_metric(name="DeferredBacklog", unit=MetricUnit.Count, value=backlog)
    processed = failed = 0
    for action_id in islice(container.actions.deferred_due(at), container.settings.dispatch_deferred_limit):
        if context.get_remaining_time_in_millis() < TIME_RESERVE_MS:
            break
        try:
            _dispatch(action_id, at)
        except Exception:  # isolate one action: it stays due for the next run
            failed += 1
            logger.exception("deferred action not dispatched", extra={"action_id": action_id})
        processed += 1
    return {"deferred_due": backlog, "deferred_processed": processed, "deferred_failed": failed}


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    once.register_lambda_context(context)
    if is_scheduled_event(event):
        return release_deferred(event_time(event), context)
    if event.get("detail-type") == CALL_OUTCOME:
        report = CallOutcomeReport.from_detail(event.get("detail"))
        result = report_call_outcome(report, ports)
        answer = {
            "call_id": report.call_id,
            "duplicate": not result.new,
            "loan_id": result.loan_id,
            "unanswered_contacts": result.unanswered_contacts,
            "loan_changed": result.loan_changed,
        }
        logger.info("call outcome recorded", extra={**answer, "action_id": report.action_id})
        return answer
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
