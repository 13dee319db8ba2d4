"""planner: Loans stream -> plan actions for the steps a loan reached; cancel them on cure."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.adapters.items import MalformedItem, loan_from_item
from arrears.adapters.lambda_events import stream_record_time
from arrears.usecases.planning import plan_for_change

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
container = Container.from_environment()


def _invalid_policy(reason: str) -> None:
    # The reason names the parameter, the field and the problem; the document holds no PII.
    logger.error("invalid collection policy document; keeping the last good one", extra={"reason": reason})
    metrics.add_metric(name="PolicyDocumentInvalid", unit=MetricUnit.Count, value=1)


policies = container.playbook_source(report=_invalid_policy)


def record_handler(record: DynamoDBRecord) -> None:
    new_image = record.dynamodb.new_image if record.dynamodb else None
    if not new_image:
        return
    try:
        after = loan_from_item(new_image)
        old_image = record.dynamodb.old_image if record.dynamodb else None
        before = loan_from_item(old_image) if old_image else None
        at = stream_record_time(record.raw_event)
    except MalformedItem as error:
        logger.error(
            "malformed loan stream record", extra={"reason": str(error), "event_id": record.event_id}
        )
        raise
    result = plan_for_change(
        before,
        after,
        at,
        actions=container.actions,
        contacts=container.contacts,
        borrowers=container.borrowers,
        field_visits=container.field_visits,
        call_tasks=container.call_tasks,
        playbook=policies.current(),
    )
    metrics.add_metric(name="ActionsPlanned", unit=MetricUnit.Count, value=len(result.planned))
    metrics.add_metric(
        name="ActionsDeferredToWindow", unit=MetricUnit.Count, value=len(result.deferred_to_window)
    )
    metrics.add_metric(name="ActionsHeld", unit=MetricUnit.Count, value=len(result.deferred))
    metrics.add_metric(name="ActionsSuppressed", unit=MetricUnit.Count, value=len(result.suppressed))
    metrics.add_metric(name="ActionsCancelled", unit=MetricUnit.Count, value=len(result.cancelled))
    metrics.add_metric(name="DuplicatePlansIgnored", unit=MetricUnit.Count, value=result.duplicates)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
