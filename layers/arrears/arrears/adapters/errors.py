"""Which AWS errors are transient: the one place that decides "retry later" against "this failed".

A transient error says nothing about the request itself (the service was busy, overloaded, or not
reached): the caller must leave its state as it was and retry later. Any other error is permanent
for that request (a bad number, an opted-out phone, a disabled endpoint, a missing key) and may be
recorded as a failure. The test is on what botocore really reports:

* the error code of a service's response, as botocore parses it: each service spells throttling its
  own way (SNS `Throttled` and `KMSThrottling`, SQS `RequestThrottled` and `KmsThrottled` or, in its
  query-compatible form, `KMS.ThrottlingException`, DynamoDB `ProvisionedThroughputExceededException`,
  `ThrottlingException` and `RequestLimitExceeded`);
* the HTTP status of the response: 429 and every 5xx, whatever the code;
* botocore's own exceptions for a service that was not reached or did not answer in time
  (`EndpointConnectionError`, `ConnectTimeoutError`, `ReadTimeoutError`, `ConnectionClosedError`:
  every `ConnectionError` and `HTTPClientError` of botocore, as its own retries count them).

A read timeout or a closed connection after the request went out is ambiguous: the service may have
applied it. Retrying is still the only safe answer; what absorbs a repeat is the caller's business
(conditional writes, idempotency records, deduplication ids).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

TRANSIENT_CODES = frozenset(
    {
        # Throttling, as botocore's standard retry mode knows it (any service).
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        # DynamoDB.
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "InternalServerError",
        # SNS (the codes of ThrottledException, KMSThrottlingException, InternalErrorException).
        "Throttled",
        "KMSThrottling",
        "KMSThrottlingException",
        "InternalError",
        "InternalFailure",
        # SQS: the JSON code and the query-compatible code of KmsThrottled.
        "KmsThrottled",
        "KMS.ThrottlingException",
        "AWS.SimpleQueueService.KmsThrottled",
        # Timeouts and unavailability reported as codes.
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
"""Error codes that mean "not now" rather than "not this request"."""

TRANSIENT_STATUS = 429
"""Too Many Requests; with every 5xx, a status that is transient whatever its error code."""


PERMANENT_CODES = frozenset(
    {
        # SNS: the number or the message is refused for what it is (a malformed or unreachable number,
        # an endpoint disabled, a phone opted out of SMS, a parameter out of range).
        "InvalidParameter",
        "ParameterValueInvalid",
        "ValidationException",
        "EndpointDisabled",
        "OptedOut",
        "PlatformApplicationDisabled",
        # SQS: the message itself is refused (characters outside the allowed set, bad attributes).
        "InvalidMessageContents",
        "InvalidAttributeName",
        "InvalidAttributeValue",
    }
)
"""Error codes that refuse the request itself: retrying it would fail the same way, so it may end FAILED.

Everything else that is not transient either (access denied, a missing or disabled KMS key, a topic or
queue that does not exist) is the deployment's fault, not the contact's: the caller retries and the
failure path (bounded retries, the failure queue, its alarm) brings it to an operator.
"""


def error_code(error: ClientError) -> str:
    """The service's error code of `error` (`""` when the response carries none)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def http_status(error: ClientError) -> int:
    """The HTTP status of the response behind `error` (0 when botocore recorded none)."""
    metadata: Any = error.response.get("ResponseMetadata", {})
    status = metadata.get("HTTPStatusCode", 0)
    return status if isinstance(status, int) else 0


def is_transient(error: BaseException) -> bool:
    """True when `error` says "retry later": throttling, a 5xx or 429, or a service not reached."""
    if isinstance(error, ClientError):
        status = http_status(error)
        return error_code(error) in TRANSIENT_CODES or status == TRANSIENT_STATUS or status >= 500
    return isinstance(error, (BotocoreConnectionError, HTTPClientError))


def is_permanent(error: BaseException) -> bool:
    """True only for a known refusal of the request itself (`PERMANENT_CODES`), never for a transient one."""
    return isinstance(error, ClientError) and not is_transient(error) and error_code(error) in PERMANENT_CODES


def not_applied(error: BaseException) -> bool:
    """Whether the service certainly did not take the request: it answered with an error (any
    `ClientError`), or no connection was ever opened (`EndpointConnectionError`,
    `ConnectTimeoutError`). A request sent without an answer (`ReadTimeoutError`,
    `ConnectionClosedError`, any other botocore error) is ambiguous: False."""
    return isinstance(error, ClientError | EndpointConnectionError | ConnectTimeoutError)
