"""Fault injection for integration tests: AWS calls that time out at a steady rate.

`every_third_call_fails` makes every third AWS call inside its block time out (botocore's
`ReadTimeoutError`, a transient error), before the request is sent or once the service applied it
(the answer lost): a long job must then make progress call by call (`retry_transient`) and
recognise its own applied writes, where one that needs every call through at once never finishes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ReadTimeoutError


@contextmanager
def every_third_call_fails(*, after: bool, service: str | None = None) -> Iterator[list[str]]:
    """Every third AWS call made inside the block times out: before it is sent, or once applied.
    With `service` (`dynamodb`, `s3`...), only that service's calls are counted and faulted.
    Yields the operations that failed, in order."""
    original = BaseClient._make_api_call  # type: ignore[attr-defined]
    failed: list[str] = []
    made = 0

    def make_api_call(client: BaseClient, operation: str, params: Any) -> Any:
        nonlocal made
        if service is not None and client.meta.service_model.service_name != service:
            return original(client, operation, params)
        made += 1
        if made % 3:
            return original(client, operation, params)
        failed.append(operation)
        if after:
            original(client, operation, params)
        raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    BaseClient._make_api_call = make_api_call  # type: ignore[attr-defined]
    try:
        yield failed
    finally:
        BaseClient._make_api_call = original  # type: ignore[attr-defined]
