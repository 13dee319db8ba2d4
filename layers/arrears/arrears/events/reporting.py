"""SQS records: reporting-segments, the reporting export's units of work (one Scan segment of one table).

The body is a `SegmentTask` (`arrears.usecases.reporting_export`): {"snapshot", "run", "table",
"segment", "segments", "start_key"?, "part"?, "rows"?, "invocation"?}; sent by the export's plan and
by a segment that re-queues its rest (docs/reporting.md).
"""

from __future__ import annotations

from typing import Any, ClassVar

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import InstanceOf, field_validator

from arrears.events.base import INBOUND, Inbound
from arrears.usecases.reporting_export import SegmentTask, parse_segment_task


class ReportingSegmentRecord(Inbound, SqsRecordModel):
    """One reporting-segments message: a segment of the reporting export to read and write."""

    model_config = INBOUND
    MALFORMED: ClassVar[str] = "malformed reporting segment task"
    REFERENCE: ClassVar[tuple[str, tuple[str, ...]]] = ("message_id", ("messageId",))

    # Narrower than the Powertools field, which allows any body.
    body: InstanceOf[SegmentTask]  # type: ignore[assignment]

    @field_validator("body", mode="before")
    @classmethod
    def _task(cls, body: Any) -> SegmentTask:
        return parse_segment_task(body)

    def unwrap(self) -> SegmentTask:
        return self.body
