"""Outbound channels: SMS and e-mail through SNS, field-visit tasks through SQS FIFO."""

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
    """A FIFO task queue: group = region (ordered per region), deduplication id = action id."""

    def __init__(self, sqs: SQSClient, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def send(self, body: dict[str, Any], *, group: str, dedup_id: str) -> str:
        response = self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=json.dumps(body, sort_keys=True, ensure_ascii=False),
            MessageGroupId=group,
            MessageDeduplicationId=dedup_id,
        )
        return response["MessageId"]
