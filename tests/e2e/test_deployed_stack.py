"""End-to-end checks against a deployed stack (skipped unless ARREARS_E2E_STACK names one).

Run after `sam deploy`:
`ARREARS_E2E_STACK=arrears-dev AWS_PROFILE=... .venv/bin/python -m pytest tests/e2e -m e2e`.
They write one synthetic loan (ids prefixed `E2E-`) and read back what the stack did with it.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

STACK = os.environ.get("ARREARS_E2E_STACK", "")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not STACK, reason="set ARREARS_E2E_STACK to the name of a deployed Arrears stack"),
]


def _outputs() -> dict[str, str]:
    import boto3

    stack = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_a_payment_event_reaches_the_loan() -> None:
    import boto3

    from arrears.adapters.items import borrower_to_item, loan_to_item
    from arrears.domain.borrowers import Borrower
    from arrears.domain.loans import Instalment, Loan

    outputs = _outputs()
    bus = outputs["LoanEventsBusName"]
    dynamodb = boto3.resource("dynamodb")
    loan_id = f"E2E-{int(time.time())}"
    today = datetime.now(UTC).date()
    loan = Loan(
        loan_id,
        f"B-{loan_id}",
        "CN",
        "CNY",
        10_000,
        today - timedelta(days=40),
        (Instalment(1, today - timedelta(days=10), 10_000, 100),),
        500,
        2400,
    )
    loans_table = dynamodb.Table(outputs["LoansTableName"])
    dynamodb.Table(outputs["BorrowersTableName"]).put_item(
        Item=borrower_to_item(Borrower(loan.borrower_id, "Asia/Shanghai", "zh-CN", "Shanghai"))
    )
    loans_table.put_item(Item=loan_to_item(loan, shard_count=16))
    detail: dict[str, Any] = {
        "payment_id": f"P-{loan_id}",
        "loan_id": loan_id,
        "amount_minor": 500,
        "currency": "CNY",
        "paid_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    boto3.client("events").put_events(
        Entries=[
            {
                "Source": "arrears.lending-core",
                "DetailType": "PaymentReceived",
                "Detail": json.dumps(detail),
                "EventBusName": bus,
            }
        ]
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        item: dict[str, Any] = loans_table.get_item(Key={"loan_id": loan_id}, ConsistentRead=True)["Item"]
        if f"P-{loan_id}" in item.get("applied_payment_ids", []):
            break
        time.sleep(3)
    else:
        pytest.fail("the payment did not reach the loan within 90 s")
