"""archiver: Contacts stream -> pseudonymised, hash-chained, write-once JSON Lines in S3."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.adapters.items import MalformedItem, plain
from arrears.adapters.lambda_events import deserialize_new_image, stream_record_time
from arrears.domain.calendar import parse_utc
from arrears.usecases.archiving import archive_records, partition_of

logger = Logger()
metrics = Metrics()
container = Container.from_environment()


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Archive the batch as a whole (one object per partition); report malformed records as failures.

    A malformed record is reported in batchItemFailures. Lambda then retries from that record, and
    after bisecting and retrying sends it to the on-failure destination; the good records archived
    before it are recognised by their batch manifest and not written twice. Only the record's
    sequence number and the reason are logged, never the record (it holds the borrower id).
    """
    good: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    lag_s = 0.0
    for raw in event.get("Records", []):
        sequence = str(raw.get("dynamodb", {}).get("SequenceNumber", ""))
        try:
            record = plain(deserialize_new_image(raw))
            partition_of(record)
            for name in ("contact_id", "borrower_id", "occurred_at"):
                if not record.get(name):
                    raise ValueError(f"missing {name}")
            seen: datetime = stream_record_time(raw)
            lag_s = max(lag_s, (seen - parse_utc(str(record["occurred_at"]))).total_seconds())
        except (KeyError, TypeError, ValueError, MalformedItem) as error:
            logger.error(
                "malformed contact record",
                extra={
                    "reason": type(error).__name__,
                    "detail": str(error)[:200],
                    "sequence_number": sequence,
                },
            )
            failures.append({"itemIdentifier": sequence})
            break  # stream order: everything after the first failure is retried with it
        good.append(record)
    if good:
        result = archive_records(
            good,
            store=container.archive_store,
            chain=container.archive_chain,
            token_secret=container.token_secret.value,
            contacts=container.contacts,
            ttl_days=container.settings.contact_ttl_days,
        )
        metrics.add_metric(name="ArchivedRecords", unit=MetricUnit.Count, value=result.records)
        metrics.add_metric(name="ArchiveObjects", unit=MetricUnit.Count, value=len(result.objects))
        metrics.add_metric(name="ArchiveLagSeconds", unit=MetricUnit.Seconds, value=max(lag_s, 0.0))
        logger.info(
            "archived",
            extra={
                "records": result.records,
                "objects": len(result.objects),
                "already_archived": result.already_archived,
                "ttl_set": result.ttl_set,
            },
        )
    return {"batchItemFailures": failures}
