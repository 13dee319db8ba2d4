"""The run's cost from its counted requests (`arrears_report.cost`), priced as AWS bills them."""

from __future__ import annotations

import pytest

from arrears_report.cost import FREE, price_of_request, run_cost
from benchmarks.prices import PRICES


@pytest.mark.parametrize(
    ("operation", "price"),
    [
        ("PutObject", "s3_put"),
        ("ListObjectsV2", "s3_put"),
        ("PutObjectRetention", "s3_put"),  # an object-lock extension is a PUT request on the bill
        ("PutObjectTagging", "s3_put"),
        ("GetObject", "s3_get"),
        ("HeadObject", "s3_get"),
        ("DeleteObject", FREE),
        ("DeleteObjects", FREE),
    ],
)
def test_s3_requests_are_priced_as_s3_bills_them(operation: str, price: str) -> None:
    assert price_of_request("s3", operation) == price


def test_the_run_cost_adds_every_priced_request_and_lists_the_rest() -> None:
    counted = {
        "requests": {
            "dynamodb:GetItem": 10,
            "dynamodb:PutItem": 4,
            "s3:PutObjectRetention": 1000,
            "s3:GetObject": 1000,
            "s3:DeleteObject": 7,
            "sns:Publish": 5,  # 3 of them SMS, priced per part below
            "secretsmanager:GetSecretValue": 2,
        },
        "sms_parts_by_country_code": {"+1": 3, "+86": 2},
    }
    cost = run_cost(counted, invocations=100, loans=20, sms_requests=3)
    expected = (
        10 * PRICES["dynamodb_read_request_unit"].usd
        + 4 * PRICES["dynamodb_write_request_unit"].usd
        + 1000 * PRICES["s3_put"].usd
        + 1000 * PRICES["s3_get"].usd
        + 2 * PRICES["sns_publish"].usd
        + 100 * PRICES["lambda_request"].usd
        + 3 * PRICES["sms_part_+1"].usd
    )
    assert cost["total_usd"] == pytest.approx(expected, abs=1e-6)
    assert cost["usd_per_1000_loans"] == pytest.approx(1000 * expected / 20, abs=1e-5)
    assert cost["units_by_price"][FREE] == 7
    assert cost["not_priced"] == {"secretsmanager:GetSecretValue": 2, "sms parts to +86": 2}
