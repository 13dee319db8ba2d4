"""Outbound channels: SMS and e-mail through SNS, tasks through SQS, hand-offs through SNS topics."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


class SmsSender:
    """Direct SNS publish to an E.164 number, transactional type, sender id from configuration."""

    def __init__(self, sns: SNSClient, sender_id: str) -> None:
        self._sns = sns
        self._sender_id = sender_id

    def send(self, phone_e164: str, body: str) -> str:
        response = self._sns.publish(
            PhoneNumber=phone_e164,
            Message=body,
            MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self._sender_id},
            },
        )
        return response["MessageId"]


class TopicPublisher:
    """Publish a JSON message to an SNS topic with string message attributes."""

    def __init__(self, sns: SNSClient, topic_arn: str) -> None:
        self._sns = sns
        self._topic_arn = topic_arn

    def publish(self, message: dict[str, Any], attributes: dict[str, str], subject: str = "") -> str:
        kwargs: dict[str, Any] = {
            "TopicArn": self._topic_arn,
            "Message": json.dumps(message, sort_keys=True, ensure_ascii=False),
            "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        }
        if subject:
            kwargs["Subject"] = subject
        return self._sns.publish(**kwargs)["MessageId"]


class TaskQueue:
    """A task queue. FIFO (field visits): group = region, deduplication id = action id. Standard
    (call tasks): no group; the consumer deduplicates on the body's `action_id`."""

    def __init__(self, sqs: SQSClient, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def send(self, body: dict[str, Any], *, group: str | None = None, dedup_id: str | None = None) -> str:
        kwargs: dict[str, Any] = {
            "QueueUrl": self._queue_url,
            "MessageBody": json.dumps(body, sort_keys=True, ensure_ascii=False),
        }
        if group is not None:
            kwargs["MessageGroupId"] = group
        if dedup_id is not None:
            kwargs["MessageDeduplicationId"] = dedup_id
        if "action_id" in body:
            kwargs["MessageAttributes"] = {
                "action_id": {"DataType": "String", "StringValue": str(body["action_id"])}
            }
        return str(self._sqs.send_message(**kwargs)["MessageId"])
