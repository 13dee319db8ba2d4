"""reporting-segment: reporting-segments (SQS) -> one Scan segment of the reporting export.

See `arrears.usecases.reporting_export.export_segment`: reads the message's segment of the Loans or
DelinquencyHistory table page by page, writes its parts to the reporting bucket, re-queues the rest
of the segment when the invocation runs short of time (recording its progress, so a second copy of
a task already continued is dropped), and, at the segment's end, writes its marker
and (the last segment of the run) the snapshot's completion marker. A malformed message, or one for
a snapshot without a plan, fails on its own (`batchItemFailures`) and reaches the queue's DLQ after
its retries, with a log line saying why. Rows, logs and metrics carry no borrower id and no
personal data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

if TYPE_CHECKING:
    from arrears.usecases.reporting_export import SegmentTask

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@telemetry.handler()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.events.reporting import ReportingSegmentRecord
    from arrears.handlers.lambda_events import process_batch, time_left
    from arrears.usecases.reporting_export import export_segment

    settings, logger = container.settings, telemetry.logger
    has_time_left = time_left(context, settings.reporting_safety_margin_ms)

    def work(task: SegmentTask) -> None:
        outcome = export_segment(
            task,
            container.reporting_source,
            container.reporting_store,
            container.reporting_segments,
            has_time_left=has_time_left,
            part_items=settings.reporting_part_items,
        )
        ids = {
            "snapshot": task.snapshot.isoformat(),
            "run": task.run,
            "table": task.table,
            "segment": task.segment,
            "segments": task.segments,
            "invocation": task.invocation,
        }
        if outcome.superseded:
            logger.info("reporting segment of a superseded run: dropped", extra=ids)
            return
        if outcome.duplicate:
            logger.info(
                "reporting segment already continued (a copy of its task): dropped",
                extra={**ids, "part": task.part},
            )
            return
        counts = {
            "items_read": outcome.items_read,
            "rows_written": outcome.rows_written,
            "parts_written": outcome.parts_written,
        }
        if outcome.continued:
            logger.info("reporting segment continued: the rest re-queued", extra={**ids, **counts})
            return
        marker = outcome.marker
        done = {"rows": marker.rows, "parts": marker.parts} if marker else {}
        logger.info("reporting segment done", extra={**ids, **counts, **done})
        if outcome.completed:
            logger.info("reporting snapshot complete", extra={"snapshot": ids["snapshot"], **outcome.counts})

    return process_batch(event, context, ReportingSegmentRecord, work, logger)
