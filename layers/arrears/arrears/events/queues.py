"""SQS records: sweep-tasks, the sweep's and the census's units of work (docs/contracts.md)."""

from __future__ import annotations

from typing import Any, ClassVar

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import InstanceOf, field_validator

from arrears.events.base import INBOUND, Inbound
from arrears.usecases.census import CensusTask, parse_task
from arrears.usecases.sweep import SweepTask


class SweepTaskRecord(Inbound, SqsRecordModel):
    """One sweep-tasks message: a sweep task, or a census task (body `kind` "census")."""

    model_config = INBOUND
    MALFORMED: ClassVar[str] = "malformed sweep task"
    REFERENCE: ClassVar[tuple[str, tuple[str, ...]]] = ("message_id", ("messageId",))

    # Narrower than the Powertools field, which allows any body.
    body: InstanceOf[SweepTask] | InstanceOf[CensusTask]  # type: ignore[assignment]

    @field_validator("body", mode="before")
    @classmethod
    def _task(cls, body: Any) -> SweepTask | CensusTask:
        return parse_task(body)

    def unwrap(self) -> SweepTask | CensusTask:
        return self.body
