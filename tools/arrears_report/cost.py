"""The run's AWS cost from its counted requests and SMS parts, at the list prices of benchmarks/prices.py.

Requests are priced one by one: a DynamoDB request at one read or write request unit (items under
4 KB read and 1 KB written: a lower bound; `make bench` meters the units exactly), a Lambda invocation
at the request price (compute time is not measured on the local cloud and is left out), SQS, SNS
publish (not SMS) and KMS requests at theirs, and S3's as S3 bills them: PUT, COPY, POST and LIST at
the PUT price (with the object-lock retention, legal hold and tagging puts, which S3 bills as PUT
requests), DELETE free, every other request at the GET price. SMS parts are priced per destination
country when the table has a price (else counted as not priced). Other requests (Secrets Manager,
SSM, CloudWatch) are counted and listed as not priced.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from benchmarks.prices import PRICES

_DYNAMODB_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
_S3_PUT_CLASS = {
    "PutObject",
    "CopyObject",
    "PostObject",
    "ListObjects",
    "ListObjectsV2",
    "CreateMultipartUpload",
    "PutObjectRetention",
    "PutObjectLegalHold",
    "PutObjectTagging",
}
FREE = "free"
"""`price_of_request`'s answer for a request AWS does not charge (S3's DELETE and multipart abort)."""


def price_of_request(service: str, operation: str) -> str | None:
    """The PRICES key a request is priced at, `FREE` when AWS does not charge it, or None when it is
    not priced."""
    if service == "dynamodb":
        return "dynamodb_read_request_unit" if operation in _DYNAMODB_READS else "dynamodb_write_request_unit"
    if service == "sqs":
        return "sqs_request"
    if service == "sns" and operation == "Publish":
        return "sns_publish"
    if service == "s3":
        if operation in _S3_PUT_CLASS:
            return "s3_put"
        if operation.startswith("Delete") or operation == "AbortMultipartUpload":
            return FREE
        return "s3_get"
    if service == "kms":
        return "kms_request"
    return None


def run_cost(
    counted: Mapping[str, Any], invocations: int, loans: int, sms_requests: int = 0
) -> dict[str, Any]:
    """Cost of the run in USD by price, total, and per 1,000 loans.

    `counted` is `localcloud.requests.RequestCount.as_json()`; `invocations` the Lambda invocations;
    `sms_requests` the SNS Publish requests that were SMS (priced per part, not as publishes)."""
    usd: dict[str, float] = defaultdict(float)
    units: Counter[str] = Counter()
    not_priced: Counter[str] = Counter()
    sms_left = sms_requests
    for name, counted_requests in counted.get("requests", {}).items():
        service, _, operation = name.partition(":")
        count = int(counted_requests)
        if service == "sns" and operation == "Publish" and sms_left:
            taken = min(count, sms_left)
            sms_left -= taken
            count -= taken
        key = price_of_request(service, operation)
        if key is None:
            not_priced[name] += count
            continue
        if key == FREE:
            units[FREE] += count
            continue
        units[key] += count
        usd[key] += count * PRICES[key].usd
    units["lambda_request"] += invocations
    usd["lambda_request"] += invocations * PRICES["lambda_request"].usd
    for code, parts in counted.get("sms_parts_by_country_code", {}).items():
        key = f"sms_part_{code}"
        if key in PRICES:
            units[key] += int(parts)
            usd[key] += int(parts) * PRICES[key].usd
        else:
            not_priced[f"sms parts to {code}"] += int(parts)
    total = sum(usd.values())
    return {
        "usd_by_price": {k: round(v, 6) for k, v in sorted(usd.items())},
        "units_by_price": dict(sorted(units.items())),
        "total_usd": round(total, 6),
        "usd_per_1000_loans": round(1000 * total / loans, 6) if loans else None,
        "not_priced": dict(sorted(not_priced.items())),
        "prices": {
            k: {"usd": PRICES[k].usd, "per": PRICES[k].per, "source": PRICES[k].source} for k in sorted(usd)
        },
    }


__all__ = ["price_of_request", "run_cost"]
