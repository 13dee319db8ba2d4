"""Outbound channels: SMS and e-mail through SNS, tasks through SQS, hand-offs through SNS topics.

Every channel makes its client leave an ambiguous send to the send outbox (`no_retry_of_ambiguous_sends`):
botocore's standard retry would repeat a Publish or SendMessage whose request went out and whose
answer was lost, and that repeat is a second SMS, e-mail or task the outbox never sees.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from arrears.adapters.errors import not_applied

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


SENDS = {"sns": ("Publish", "PublishBatch"), "sqs": ("SendMessage", "SendMessageBatch")}
"""The operations that hand a contact to its channel, per service (botocore's service name)."""
_DEDUPLICATED = "arrears_deduplicated"


def no_retry_of_ambiguous_sends(client: Any) -> None:
    """Make botocore's retries of `client` stop at an ambiguous send, and leave it to the caller.

    For each of `SENDS`' operations of the client's service, an error after which the request may
    have been applied (the request went out, no answer came: `ReadTimeoutError`,
    `ConnectionClosedError`; anything `errors.not_applied` does not call certain) is raised to the
    caller at once, on the first attempt, instead of being retried: the send outbox records it
    "unconfirmed" and never sends it again (docs/reliability.md). Errors known to be before the
    call (an error answer, a throttle, a 5xx, a connection never opened) are retried by botocore
    as before. A send to a FIFO queue, or with a deduplication id, is left to botocore's retries
    too: SQS drops the repeat within its 5-minute deduplication interval.

    Idempotent: registering again on the same client (several channels share one) changes nothing.
    Works with any botocore: the handler raises the error itself (raising from a `needs-retry`
    handler ends the call with it) rather than rely on a return value's meaning.
    """
    service = client.meta.service_model.service_name
    operations = SENDS.get(service, ())
    events = client.meta.events
    hyphenized = client.meta.service_model.service_id.hyphenize()
    for operation in operations:
        events.register(
            f"before-parameter-build.{hyphenized}.{operation}",
            _note_deduplication,
            unique_id=f"arrears-deduplication-{hyphenized}-{operation}",
        )
        events.register(
            f"needs-retry.{hyphenized}.{operation}",
            _stop_at_ambiguous_send,
            unique_id=f"arrears-ambiguous-send-{hyphenized}-{operation}",
        )


def _note_deduplication(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """Mark a send SQS deduplicates (a FIFO queue, a deduplication id) in the request's context."""
    queue_url = str(params.get("QueueUrl", ""))
    entries = params.get("Entries") or [params]
    context[_DEDUPLICATED] = queue_url.endswith(".fifo") or all(
        isinstance(entry, dict) and "MessageDeduplicationId" in entry for entry in entries
    )


def _stop_at_ambiguous_send(
    caught_exception: BaseException | None = None, request_dict: dict[str, Any] | None = None, **_: Any
) -> None:
    """`needs-retry` for a send: raise an ambiguous error at once (no retry); otherwise say nothing,
    and botocore's own retry handler decides."""
    if caught_exception is None or not_applied(caught_exception):
        return
    if (request_dict or {}).get("context", {}).get(_DEDUPLICATED):
        return
    raise caught_exception


class SmsSender:
    """Direct SNS publish to an E.164 number, transactional type, sender id from configuration."""

    def __init__(self, sns: SNSClient, sender_id: str) -> None:
        no_retry_of_ambiguous_sends(sns)
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
        no_retry_of_ambiguous_sends(sns)
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
        no_retry_of_ambiguous_sends(sqs)
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
