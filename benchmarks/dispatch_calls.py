"""AWS calls the dispatcher makes per contact, by channel and by API, through its real handler.

Each contact is one planned action delivered to the dispatcher's handler as the Actions stream
delivers it (the action's new image), on the stack of template.yaml deployed into moto, inside
contact hours, with a warm container (the token secret is read once per container, not per contact).
The calls are those the handler's boto3 clients make (`BaseClient._make_api_call`, above botocore's
retries: a retried request counts once), DynamoDB, SNS and SQS requests alike. Before this count
existed the dispatcher made 8 calls per SMS or e-mail and 10 per call task (three GetItem reads, a
separate outbox completion; docs/scaling.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
NOON_SHANGHAI = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
DUE = date(2026, 3, 1)

# (label, channel, template): a CN text and e-mail (no contact counted), a call task (opens the
# borrower's call task in the contact ledger), a field visit (FIFO queue).
CONTACTS = (
    ("SMS", "SMS", "sms_overdue"),
    ("EMAIL", "EMAIL", "email_overdue"),
    ("CALL_TASK", "CALL_TASK", "call_script"),
    ("FIELD_VISIT", "FIELD_VISIT", "field_visit"),
)


def _stream_event(image: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The Actions stream's INSERT record of an action whose stored item (DynamoDB JSON) is `image`."""
    return {
        "Records": [
            {
                "eventID": f"bench-{image['action_id']['S']}",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": int(at.timestamp()),
                    "Keys": {"action_id": image["action_id"]},
                    "NewImage": image,
                    "SequenceNumber": "4100000000000000000001",
                    "SizeBytes": 512,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/actions/stream/x",
            }
        ]
    }


def count_calls(cloud: Any, container: Any, loan_id: str, channel: str, template_id: str) -> dict[str, Any]:
    """Plan one `channel` action for a new overdue CN loan `loan_id`, deliver it to the dispatcher's
    handler, and count its AWS calls: `{"status", "total", "by_api"}`."""
    import boto3

    from arrears.config.playbook import bundled_playbook
    from arrears.domain.actions import Action, ActionStatus, action_id_for
    from arrears.domain.borrowers import Borrower
    from arrears.domain.loans import Instalment, Loan
    from arrears.domain.strategy import Channel
    from arrears.usecases.onboarding import register_loan

    principal = 500_000
    loan = Loan(
        loan_id=loan_id,
        borrower_id=f"B-{loan_id}",
        jurisdiction="CN",
        currency="CNY",
        principal_minor=principal,
        disbursed_on=date(2026, 1, 30),
        instalments=(Instalment(1, DUE, principal, principal * 7 // 1000, principal // 500),),
        penalty_daily_ppm=500,
        apr_cap_bps=2400,
    )
    borrower = Borrower(
        borrower_id=loan.borrower_id,
        timezone="Asia/Shanghai",
        language="zh-CN",
        region="Shanghai",
        name="Bench Borrower",
        phone="+8613800138000",
        email="bench@example.cn",
        address="Bench address",
    )
    registered = datetime(2026, 3, 10, tzinfo=UTC)
    register_loan(
        loan,
        borrower,
        registered,
        loans=container.loans,
        borrowers=container.borrowers,
        playbook=bundled_playbook(),
    )
    stored = container.loans.get(loan_id)
    action = Action(
        action_id=action_id_for(loan_id, f"bench-{channel}", stored.collection_instalment),
        loan_id=loan_id,
        borrower_id=loan.borrower_id,
        jurisdiction="CN",
        channel=Channel(channel),
        step_id=f"bench-{channel}",
        template_id=template_id,
        collection_instalment=stored.collection_instalment,
        status=ActionStatus.PENDING,
        planned_at=registered,
        not_before=registered,
        strategy_id="default",
        strategy_version="1",
        strategy_arm="champion",
        dpd=stored.dpd,
        bucket=stored.bucket,
        amount_due_minor=123_456,
        currency="CNY",
    )
    container.actions.create(action)
    image = boto3.client("dynamodb").get_item(
        TableName=container.settings.actions_table, Key={"action_id": {"S": action.action_id}}
    )["Item"]
    # Every API call made while the dispatcher's handler runs (only it runs: `invoke` delivers no
    # stream), counted where botocore makes it, above its retries (as the fault injector counts).
    from unittest import mock

    from botocore.client import BaseClient

    calls: Counter[str] = Counter()
    original = getattr(BaseClient, "_make_api_call")  # noqa: B009 (private, untyped in the stubs)

    def counted(client: Any, operation: str, params: Any) -> Any:
        calls[f"{client.meta.service_model.service_name}.{operation}"] += 1
        return original(client, operation, params)

    with mock.patch.object(BaseClient, "_make_api_call", counted):
        response = cloud.invoke("DispatcherFunction", _stream_event(image, cloud.clock))
    status = container.actions.get(action.action_id).status.value
    return {
        "status": status,
        "failed_records": len(response.get("batchItemFailures", [])),
        "total": sum(calls.values()),
        "by_api": dict(sorted(calls.items())),
    }


def dispatch_calls_section() -> dict[str, Any]:
    """Calls per contact by channel (see the module docstring), on a fresh moto stack."""
    import boto3
    from moto import mock_aws

    from arrears.adapters.container import Container
    from arrears.config.settings import load_settings
    from localcloud.cloud import LocalCloud
    from localcloud.stack import deploy

    with mock_aws():
        stack = deploy(TEMPLATE)
        functions = stack.functions
        settings = load_settings(
            {**functions["DispatcherFunction"].environment, **functions["SweepFunction"].environment}
        )
        container = Container(settings, boto3.session.Session())
        cloud = LocalCloud(stack, start=NOON_SHANGHAI, keep_invocations=False)
        # Warm the container (its first contact reads the token secret once for the container).
        count_calls(cloud, container, "L-BENCH-WARM", "CALL_TASK", "call_script")
        per_contact = {
            label: count_calls(cloud, container, f"L-BENCH-{label}", channel, template)
            for label, channel, template in CONTACTS
        }
    return {
        "contacts": per_contact,
        "before": {"SMS": 8, "EMAIL": 8, "CALL_TASK": 10},
        "target_per_sms": 5,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrears-bench-dispatch-calls", description=__doc__)
    parser.parse_args(argv)
    print(json.dumps(dispatch_calls_section(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
