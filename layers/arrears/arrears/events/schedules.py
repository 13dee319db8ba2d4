"""Schedules: an EventBridge rule's Scheduled Event, and the Input of an EventBridge Scheduler schedule.

Either way the business time is the scheduled time, never the time of delivery: a retried or late
invocation decides as of the moment it was scheduled for.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, Field

from arrears.events.base import INBOUND, Inbound, UtcTime
from arrears.events.correlation import SCHEDULED_TIME

__all__ = ["SCHEDULED_TIME", "ScheduledEvent", "SchedulerInvocation"]


class ScheduledEvent(Inbound, EventBridgeModel):
    """What an EventBridge rule's schedule (`Type: Schedule`) delivers: a Scheduled Event at `time`.

    `version` may be missing: the event `sam local generate-event cloudwatch scheduled-event` writes has
    none, and Powertools' `EventBridgeModel` requires it.
    """

    model_config = INBOUND
    MALFORMED: ClassVar[str] = "malformed scheduled event"

    version: str = "0"
    source: Literal["aws.events"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    time: UtcTime

    def unwrap(self) -> datetime:
        return self.time


class SchedulerInvocation(Inbound, BaseModel):
    """The Input of our EventBridge Scheduler schedules (template.yaml):
    `{"time": "<aws.scheduler.scheduled-time>", "schedule": "<schedule arn>", "attempt": "<n>"}`."""

    model_config = INBOUND
    MALFORMED: ClassVar[str] = "malformed scheduled invocation"
    REFERENCE: ClassVar[tuple[str, tuple[str, ...]]] = ("scheduled_time", ("time",))

    time: UtcTime
    schedule: str | None = None
    attempt: str | None = None

    def unwrap(self) -> datetime:
        return self.time
