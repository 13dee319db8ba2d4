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


def test_a_paged_walk_reads_a_page_that_met_a_transient_error_again_alone() -> None:
    """A whole-table walk (the census, the reporting export) under a steady error rate: each failed
    page is read again, never the walk from its first page."""
    from arrears.adapters.tables import all_items

    book: dict[str | None, dict[str, Any]] = {
        None: {"Items": [{"n": 1}, {"n": 2}], "LastEvaluatedKey": "k2"},
        "k2": {"Items": [{"n": 3}, {"n": 4}], "LastEvaluatedKey": "k4"},
        "k4": {"Items": [{"n": 5}]},
    }
    calls: list[Any] = []

    def scan(**request: Any) -> dict[str, Any]:
        calls.append(request.get("ExclusiveStartKey"))
        if len(calls) % 2:  # every other read times out
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        return book[request.get("ExclusiveStartKey")]

    assert [item["n"] for item in all_items(scan, TableName="Loans")] == [1, 2, 3, 4, 5]
    assert calls == [None, None, "k2", "k2", "k4", "k4"]
