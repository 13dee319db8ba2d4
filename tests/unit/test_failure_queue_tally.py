"""What is left in a failure queue after the redrive is named in summary.json: function, event kind and
error name (never the error's message, which may quote a value)."""

from __future__ import annotations

import json

from localcloud.invariants import failure_kind

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}:$LATEST"


def test_an_async_failure_names_its_function_event_kind_and_error_name_only() -> None:
    schedule = {
        "requestContext": {"functionArn": ARN.format("RetentionFunction")},
        "requestPayload": {"time": "2026-03-02T03:00:00Z", "schedule": "arn:...", "attempt": "1"},
        "responsePayload": {"errorMessage": "ClientError: ... BatchGetItem operation: Rate exceeded"},
    }
    bus = {
        "requestContext": {"functionArn": ARN.format("ErasureFunction")},
        "requestPayload": {"detail-type": "ErasureRequested", "detail": {"borrower_id": "B-1"}},
        "responsePayload": {"errorMessage": "ValidationException: B-1 ..."},
    }

    assert failure_kind("AsyncFailureQueue", json.dumps(schedule)) == (
        "RetentionFunction",
        "schedule",
        "ClientError",
    )
    assert failure_kind("AsyncFailureQueue", json.dumps(bus)) == (
        "ErasureFunction",
        "ErasureRequested",
        "ValidationException",
    )


def test_a_stream_failure_names_its_table_and_a_queue_message_its_type() -> None:
    stream = {
        "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:ArchiverFunction"},
        "DDBStreamBatchInfo": {"streamArn": "arn:aws:dynamodb:us-east-1:1:table/Contacts/stream/2026"},
    }

    assert failure_kind("StreamFailureQueue", json.dumps(stream)) == (
        "ArchiverFunction",
        "stream Contacts",
        "",
    )
    assert failure_kind("CallTaskDLQ", json.dumps({"type": "CALL_TASK"})) == ("CallTaskDLQ", "CALL_TASK", "")
    assert failure_kind("CallTaskDLQ", "not json") == ("", "not JSON", "")
