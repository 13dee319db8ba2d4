"""retry_transient: one idempotent call retried alone on a transient error, anything else raised."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from arrears.adapters.retrying import MAX_BACKOFF_S, retry_transient

THROTTLED: Any = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
DENIED: Any = {
    "Error": {"Code": "AccessDeniedException", "Message": "no"},
    "ResponseMetadata": {"HTTPStatusCode": 400},
}


def failing(errors: list[Exception], value: str = "done") -> tuple[Any, list[int]]:
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return value

    return work, calls


def test_transient_errors_are_retried_with_a_capped_backoff_until_the_call_succeeds() -> None:
    errors: list[Exception] = [ClientError(THROTTLED, "GetItem") for _ in range(4)]
    errors.append(ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"))
    work, calls = failing(errors)
    pauses: list[float] = []

    assert retry_transient(work, pause=pauses.append) == "done"

    assert len(calls) == 6
    assert pauses == [0.05, 0.1, 0.2, MAX_BACKOFF_S, MAX_BACKOFF_S]


def test_the_last_attempts_error_and_any_other_error_are_raised() -> None:
    work, calls = failing([ClientError(THROTTLED, "GetItem") for _ in range(3)])
    with pytest.raises(ClientError, match="Throttling"):
        retry_transient(work, attempts=3, pause=lambda _: None)
    assert len(calls) == 3
    work, calls = failing([ClientError(DENIED, "GetItem")])
    with pytest.raises(ClientError, match="AccessDenied"):
        retry_transient(work, pause=lambda _: None)
    assert len(calls) == 1  # not transient: a deployment's fault, for the failure queue
