"""List prices the benchmark's cost model uses: the only place they are written.

Every price is the public on-demand list price in us-east-1 (N. Virginia), without free tier, with
the page it comes from and the date it was read. A price change is one edit here, and `make bench`
then `python -m benchmarks.scaling_doc` carry it into benchmarks/results.json and docs/scaling.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Price:
    usd: float
    per: str
    source: str
    as_of: str


DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
LAMBDA = "https://aws.amazon.com/lambda/pricing/"
SQS = "https://aws.amazon.com/sqs/pricing/"
SNS = "https://aws.amazon.com/sns/pricing/"
S3 = "https://aws.amazon.com/s3/pricing/"
CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
KMS = "https://aws.amazon.com/kms/pricing/"
SMS = "https://aws.amazon.com/end-user-messaging/pricing/"
# When the figures below were taken from those pages; the DynamoDB ones are the on-demand prices in
# force since the reduction of 1 November 2024. Re-check the pages before quoting a bill.
AS_OF = "2025-07"
# Re-checked on 2026-11-30 against what could be read that day (not the AWS pages themselves):
# DynamoDB on-demand $0.625 / $0.125 per million WRU / RRU in us-east-1 (AWS News Blog, "Amazon
# DynamoDB On-Demand", updated 31 January 2025 for the reduced on-demand prices; airbyte.com's
# DynamoDB pricing guide quotes the same us-east-1 figures); CloudWatch $0.30 a custom metric (first
# 10,000), $0.10 a standard alarm metric, $3 a dashboard (cloudcostkit.com, factualminds.com,
# June 2026); SNS $0.50 per million publishes (factualminds.com). Unchanged, so AS_OF stays.
# Not in the model: SMS, priced per destination country and carrier (AWS End User Messaging
# pricing page; "these prices change regularly"): no per-country figure could be confirmed, so none
# is written here. SMS is the largest variable cost of contacting a book; price it from the page.
RECHECKED = "2026-11-30"
RECHECKED_PRICES = frozenset(
    {
        "dynamodb_write_request_unit",
        "dynamodb_read_request_unit",
        "cloudwatch_metric_month",
        "cloudwatch_alarm_month",
        "cloudwatch_dashboard_month",
        "sns_publish",
    }
)

PRICES: dict[str, Price] = {
    "dynamodb_write_request_unit": Price(0.625 / 1e6, "write request unit (1 KB written)", DYNAMODB, AS_OF),
    "dynamodb_read_request_unit": Price(
        0.125 / 1e6, "read request unit (4 KB strongly consistent, 8 KB eventually)", DYNAMODB, AS_OF
    ),
    "dynamodb_storage_gb_month": Price(0.25, "GB-month (Standard table class, past 25 GB)", DYNAMODB, AS_OF),
    "lambda_request": Price(0.20 / 1e6, "invocation", LAMBDA, AS_OF),
    "lambda_gb_second_arm64": Price(
        0.0000133334, "GB-second on arm64 (first 7.5 G GB-s a month)", LAMBDA, AS_OF
    ),
    "sqs_request": Price(0.40 / 1e6, "standard queue request (64 KB chunk)", SQS, AS_OF),
    "sns_publish": Price(
        0.50 / 1e6, "standard topic publish (64 KB chunk); SMS is priced per country", SNS, AS_OF
    ),
    "s3_put": Price(0.005 / 1e3, "PUT, COPY, POST or LIST request (S3 Standard)", S3, AS_OF),
    "s3_get": Price(0.0004 / 1e3, "GET, SELECT and every other request (S3 Standard)", S3, AS_OF),
    "kms_request": Price(0.03 / 1e4, "KMS API request (symmetric key)", KMS, AS_OF),
    # SMS is priced per message part and destination country; only the destinations with a price
    # here are priced (the report counts the others and says they are not priced). US: the base price
    # of an outbound part, without the carriers' pass-through fees.
    "sms_part_+1": Price(
        0.00581, "outbound SMS message part to the US (base, carrier fees extra)", SMS, AS_OF
    ),
    # No +86 (China) price: AWS End User Messaging sends to mainland China only for a sender registered
    # by a company incorporated in mainland China, with each message template registered beforehand
    # (docs.aws.amazon.com/sms-voice/latest/userguide/registrations-china.md, read 2026-11-30), and
    # its pricing page gives the per-country price only in its interactive table; no figure could be
    # read or confirmed from a public, citable page on 2026-11-30. The report counts the +86 parts and
    # lists them as not priced rather than invent a price; add `sms_part_+86` here once read.
    "cloudwatch_metric_month": Price(0.30, "custom metric a month (first 10,000)", CLOUDWATCH, AS_OF),
    "cloudwatch_alarm_month": Price(0.10, "standard-resolution alarm metric a month", CLOUDWATCH, AS_OF),
    "cloudwatch_dashboard_month": Price(3.00, "dashboard a month (past the first three)", CLOUDWATCH, AS_OF),
}


def price(name: str) -> float:
    return PRICES[name].usd


def as_json() -> dict[str, dict[str, object]]:
    return {
        name: {
            "usd": p.usd,
            "per": p.per,
            "source": p.source,
            "as_of": p.as_of,
            "rechecked": RECHECKED if name in RECHECKED_PRICES else None,
        }
        for name, p in PRICES.items()
    }
