"""Reading the shapes Lambda delivers: stream records, scheduled events, EventBridge events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from arrears.adapters.items import MalformedItem
from arrears.domain.calendar import parse_utc


def stream_record_time(raw_record: Mapping[str, Any]) -> datetime:
    """The business time of a DynamoDB stream record: its ApproximateCreationDateTime (epoch seconds)."""
    try:
        value = raw_record["dynamodb"]["ApproximateCreationDateTime"]
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedItem(f"stream record without a usable ApproximateCreationDateTime: {error}") from None


def event_time(event: Mapping[str, Any]) -> datetime:
    """The `time` of a scheduled or EventBridge event, as aware UTC."""
    value = event.get("time")
    if not isinstance(value, str):
        raise MalformedItem("event has no 'time' (expected an EventBridge or scheduled event)")
    try:
        return parse_utc(value)
    except ValueError as error:
        raise MalformedItem(f"event time {value!r} is not ISO 8601: {error}") from None


def is_scheduled_event(event: Mapping[str, Any]) -> bool:
    return event.get("detail-type") == "Scheduled Event" and event.get("source") == "aws.events"


def deserialize_new_image(raw_record: Mapping[str, Any]) -> dict[str, Any]:
    """The NewImage of a raw Lambda DynamoDB stream record as Python values (numbers as Decimal)."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    image = raw_record["dynamodb"]["NewImage"]
    return {key: deserializer.deserialize(value) for key, value in image.items()}
