"""The one classification of AWS errors: transient ("retry later") against a refusal of the request."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from arrears.adapters.errors import is_permanent, is_transient


def client_error(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "Op")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("Throttled", 429),
        ("KMSThrottling", 400),
        ("KmsThrottled", 400),
        ("KMS.ThrottlingException", 400),
        ("RequestThrottled", 403),
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("RequestLimitExceeded", 400),
        ("InternalServerError", 500),
        ("AnythingAtAll", 502),
        ("", 503),
        ("NoCodeButTooMany", 429),
    ],
)
def test_throttles_and_server_errors_are_transient(code: str, status: int) -> None:
    assert is_transient(client_error(code, status))
    assert not is_permanent(client_error(code, status))


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://x"),
        ConnectTimeoutError(endpoint_url="https://x"),
        ReadTimeoutError(endpoint_url="https://x"),
    ],
)
def test_a_service_not_reached_is_transient(error: Exception) -> None:
    assert is_transient(error)
    assert not is_permanent(error)


@pytest.mark.parametrize(
    "code", ["InvalidParameter", "OptedOut", "EndpointDisabled", "InvalidMessageContents"]
)
def test_only_a_refusal_of_the_request_itself_is_permanent(code: str) -> None:
    assert is_permanent(client_error(code, 400))
    assert not is_transient(client_error(code, 400))


def test_neither_transient_nor_permanent_errors_are_left_to_the_failure_path() -> None:
    assert not is_transient(client_error("AuthorizationError", 403))
    assert not is_permanent(client_error("AuthorizationError", 403))
    assert not is_transient(ParamValidationError(report="bad"))
    assert not is_transient(ValueError("not an AWS error"))
