"""DynamoDB Streams records as Lambda delivers them, built from what the Streams API returns.

Used where Arrears re-delivers stream records itself: the operator's `replay-stream-failures` and
the local cloud's routing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


def lambda_stream_record(
    record: Mapping[str, Any], stream_arn: str, created_at: datetime | None = None
) -> dict[str, Any]:
    """`record` (a `GetRecords` entry) in Lambda's event shape: `eventSourceARN` set, the region taken
    from the ARN when the record lacks it, and `ApproximateCreationDateTime` as epoch seconds (from
    `created_at` when given, else from the record's own datetime)."""
    body = dict(record["dynamodb"])
    created = created_at or body.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        body["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", stream_arn.split(":")[3]),
        "dynamodb": body,
        "eventSourceARN": stream_arn,
    }
