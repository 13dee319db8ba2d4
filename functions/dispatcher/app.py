"""dispatcher: Actions stream (new actions) and a 15-minute schedule (deferred ones) -> gate, send, record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.adapters.idempotency import OnceRunner
from arrears.adapters.lambda_events import event_time, is_scheduled_event, stream_record_time
from arrears.domain.calendar import format_utc
from arrears.usecases.dispatch import DispatchPorts, DispatchResult, Outcome, dispatch

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
container = Container.from_environment()
once = OnceRunner(container.settings.idempotency_table)
ports = DispatchPorts(
    loans=container.loans,
    borrowers=container.borrowers,
    actions=container.actions,
    contacts=container.contacts,
    sms=container.sms,
    reminders=container.reminders,
    field_visits=container.field_visits,
    token_secret=container.token_secret.value,
    once=once,
    contact_ttl_days=container.settings.contact_ttl_days,
)


def _count(result: DispatchResult) -> None:
    if result.outcome is Outcome.SKIPPED:
        return
    with single_metric(
        name="Contacts", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
    ) as metric:
        metric.add_dimension(name="channel", value=result.channel)
        metric.add_dimension(name="outcome", value=result.outcome.value)


def _dispatch(action_id: str, at: datetime) -> None:
    result = dispatch(action_id, at, ports)
    logger.info(
        "action dispatched",
        extra={
            "action_id": action_id,
            "outcome": result.outcome.value,
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


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    once.register_lambda_context(context)
    if is_scheduled_event(event):
        at = event_time(event)
        due = list(container.actions.deferred_due(at))
        for action_id in due:
            _dispatch(action_id, at)
        metrics.add_metric(name="DeferredActionsDue", unit=MetricUnit.Count, value=len(due))
        return {"deferred_processed": len(due)}
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
