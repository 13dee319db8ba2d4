"""In-memory S3, SQS, SNS, Secrets Manager and SSM clients behind the production adapters.

Each class answers the calls `arrears.adapters` makes of a boto3 client (archive_store.py,
channels.py, sweep_runs.py, secrets.py, the playbook's SSM read), with the same response shapes and
the same `ClientError` codes where a call is refused (`NoSuchKey` / 404 for a missing object). What
was sent is kept for the simulation to read (the SMS delivered, the notifications of each topic), as
the moto path reads moto's backends.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from localcloud.requests import RequestCount, current_function

SENDER_ID = "AIDAIT2UOQQY3AUEKVGXU"  # the sender id moto reports


class Counted:
    """The requests the handlers make, by `service:Operation` and by function, in the shape the moto
    path's `RequestCount` counts them (localcloud.requests; what the report prices): a request the
    simulator makes itself (no function running) is not counted, nor one made inside another (a
    transaction's writes)."""

    def __init__(self) -> None:
        self.count = RequestCount()
        self.quiet = 0

    def note(self, service: str, operation: str) -> None:
        function = current_function.get()
        if function is None or self.quiet:
            return
        self.count.record(function, service, operation)


def _error(code: str, message: str, operation: str, status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(
        response,
        operation,
    )


class _Events:
    """botocore's event hooks: the in-memory clients have no wire and no retries, so a hook the
    adapters register (channels.no_retry_of_ambiguous_sends) is kept and never fires."""

    def __init__(self) -> None:
        self.registered: dict[str, Any] = {}

    def register(self, event: str, handler: Any, unique_id: str | None = None) -> None:
        self.registered[unique_id or event] = handler


class _ServiceId(str):
    def hyphenize(self) -> str:
        return self.lower().replace(" ", "-")


class _ServiceModel:
    def __init__(self, name: str, service_id: str) -> None:
        self.service_name = name
        self.service_id = _ServiceId(service_id)


class ClientMeta:
    """What the adapters read of a boto3 client's `meta`."""

    def __init__(self, name: str, service_id: str) -> None:
        self.service_model = _ServiceModel(name, service_id)
        self.events = _Events()
        self.region_name = "us-east-1"


@dataclass
class StoredObject:
    body: bytes
    content_type: str
    retain_until: datetime | None
    lock_mode: str | None
    tags: dict[str, str] = field(default_factory=dict)
    versions: int = 1


class MemoryS3:
    """Buckets of objects (the latest version's bytes; a versioned bucket's repeats counted)."""

    def __init__(self) -> None:
        self.buckets: dict[str, dict[str, StoredObject]] = {}
        self.meta = ClientMeta("s3", "S3")
        self.counted = Counted()  # replaced by the world's, shared by every service
        # Each bucket's keys in S3's listing order, kept on each put and delete: a listing page is a
        # bisection, not a sort of the whole bucket (a case file lists its jurisdiction's archive).
        self._listing: dict[str, list[str]] = {}

    def _keys(self, bucket: str) -> list[str]:
        """`bucket`'s keys, sorted (rebuilt if the bucket was changed other than by put and delete)."""
        objects = self.bucket(bucket)
        keys = self._listing.get(bucket)
        if keys is None or len(keys) != len(objects):
            keys = self._listing[bucket] = sorted(objects)
        return keys

    def bucket(self, name: str) -> dict[str, StoredObject]:
        try:
            return self.buckets[name]
        except KeyError:
            raise _error(
                "NoSuchBucket", f"The specified bucket does not exist: {name}", "GetObject", 404
            ) from None

    def put_object(self, *, Bucket: str, Key: str, Body: bytes | str, **options: Any) -> dict[str, Any]:
        self.counted.note("s3", "PutObject")
        body = Body.encode() if isinstance(Body, str) else bytes(Body)
        objects = self.bucket(Bucket)
        previous = objects.get(Key)
        if previous is None:
            bisect.insort(self._keys(Bucket), Key)
        objects[Key] = StoredObject(
            body,
            str(options.get("ContentType", "binary/octet-stream")),
            options.get("ObjectLockRetainUntilDate"),
            options.get("ObjectLockMode"),
            versions=previous.versions + 1 if previous else 1,
        )
        return {"ETag": '"' + hashlib.md5(body).hexdigest() + '"'}  # noqa: S324 (S3's ETag)

    def _object(self, bucket: str, key: str, operation: str) -> StoredObject:
        found = self.bucket(bucket).get(key)
        if found is None:
            code = "404" if operation == "HeadObject" else "NoSuchKey"
            raise _error(code, "The specified key does not exist.", operation, 404)
        return found

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        self.counted.note("s3", "GetObject")
        found = self._object(Bucket, Key, "GetObject")
        return {
            "Body": io.BytesIO(found.body),
            "ContentType": found.content_type,
            "ContentLength": len(found.body),
        }

    def head_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        self.counted.note("s3", "HeadObject")
        found = self._object(Bucket, Key, "HeadObject")
        return {"ContentType": found.content_type, "ContentLength": len(found.body)}

    def delete_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        self.counted.note("s3", "DeleteObject")
        keys = self._keys(Bucket)
        if self.bucket(Bucket).pop(Key, None) is not None:
            del keys[bisect.bisect_left(keys, Key)]
        return {}

    def put_object_retention(
        self, *, Bucket: str, Key: str, Retention: Mapping[str, Any], **_: Any
    ) -> dict[str, Any]:
        self.counted.note("s3", "PutObjectRetention")
        found = self._object(Bucket, Key, "PutObjectRetention")
        until = Retention["RetainUntilDate"]
        if found.lock_mode == "COMPLIANCE" and found.retain_until is not None and until < found.retain_until:
            raise _error(
                "AccessDenied",
                "Access Denied because object protected by object lock.",
                "PutObjectRetention",
                403,
            )
        found.retain_until, found.lock_mode = until, str(Retention["Mode"])
        return {}

    def put_object_tagging(
        self, *, Bucket: str, Key: str, Tagging: Mapping[str, Any], **_: Any
    ) -> dict[str, Any]:
        self.counted.note("s3", "PutObjectTagging")
        found = self._object(Bucket, Key, "PutObjectTagging")
        found.tags = {t["Key"]: t["Value"] for t in Tagging["TagSet"]}
        return {}

    def list_objects_v2(
        self, *, Bucket: str, Prefix: str = "", ContinuationToken: str = "", **_: Any
    ) -> dict[str, Any]:
        self.counted.note("s3", "ListObjectsV2")
        objects, ordered = self.bucket(Bucket), self._keys(Bucket)
        at = bisect.bisect_left(ordered, Prefix)
        if ContinuationToken:
            at = max(at, bisect.bisect_right(ordered, ContinuationToken))
        keys: list[str] = []
        for key in ordered[at : at + 1001]:
            if not key.startswith(Prefix):
                break
            keys.append(key)
        page: dict[str, Any] = {"Contents": [{"Key": k, "Size": len(objects[k].body)} for k in keys[:1000]]}
        if len(keys) > 1000:
            page["IsTruncated"] = True
            page["NextContinuationToken"] = keys[999]
        return page

    def get_paginator(self, operation: str) -> _Paginator:
        if operation != "list_objects_v2":
            raise NotImplementedError(f"the in-memory S3 pages only list_objects_v2, not {operation}")
        return _Paginator(self)


class _Paginator:
    def __init__(self, s3: MemoryS3) -> None:
        self._s3 = s3

    def paginate(self, **request: Any) -> Iterator[dict[str, Any]]:
        token = ""
        while True:
            page = self._s3.list_objects_v2(**request, ContinuationToken=token)
            yield page
            if not page.get("IsTruncated"):
                return
            token = str(page["NextContinuationToken"])


@dataclass
class QueuedMessage:
    message_id: str
    body: str
    attributes: dict[str, str]
    message_attributes: dict[str, Any]
    receives: int = 0

    def as_received(self, receipt: str) -> dict[str, Any]:
        return {
            "MessageId": self.message_id,
            "ReceiptHandle": receipt,
            "Body": self.body,
            "MD5OfBody": hashlib.md5(self.body.encode()).hexdigest(),  # noqa: S324 (SQS's digest)
            "Attributes": {**self.attributes, "ApproximateReceiveCount": str(self.receives)},
            "MessageAttributes": self.message_attributes,
        }


@dataclass
class MemoryQueue:
    url: str
    arn: str
    fifo: bool = False
    content_dedup: bool = False
    dead_letter_arn: str | None = None
    max_receives: int | None = None
    messages: list[QueuedMessage] = field(default_factory=list)
    dedup_ids: set[str] = field(default_factory=set)
    sent: int = 0


class MemorySqs:
    """Queues (standard and FIFO) with their redrive policy; messages stay in order."""

    def __init__(self) -> None:
        self.queues: dict[str, MemoryQueue] = {}
        self.meta = ClientMeta("sqs", "SQS")
        self.now: Callable[[], datetime] = lambda: datetime(1970, 1, 1, tzinfo=UTC)  # the cloud's clock
        self._ids = itertools.count(1)
        self.counted = Counted()  # replaced by the world's, shared by every service

    def add(self, queue: MemoryQueue) -> None:
        self.queues[queue.url] = queue

    def by_arn(self, arn: str) -> MemoryQueue:
        return next(q for q in self.queues.values() if q.arn == arn)

    def _queue(self, url: str, operation: str) -> MemoryQueue:
        try:
            return self.queues[url]
        except KeyError:
            raise _error("AWS.SimpleQueueService.NonExistentQueue", f"no queue {url}", operation) from None

    def _enqueue(self, queue: MemoryQueue, body: str, options: Mapping[str, Any]) -> str | None:
        dedup = None
        if queue.fifo:
            dedup = options.get("MessageDeduplicationId")
            if dedup is None and queue.content_dedup:
                dedup = hashlib.sha256(body.encode()).hexdigest()
            if dedup is not None:
                if dedup in queue.dedup_ids:
                    return None  # accepted, not delivered twice (SQS's deduplication)
                queue.dedup_ids.add(str(dedup))
        number = next(self._ids)
        message_id = f"00000000-0000-4000-8000-{number:012d}"
        sent = str(int(self.now().timestamp() * 1000))
        attributes = {"SentTimestamp": sent, "ApproximateFirstReceiveTimestamp": sent, "SenderId": SENDER_ID}
        if options.get("MessageGroupId"):
            attributes["MessageGroupId"] = str(options["MessageGroupId"])
        if queue.fifo:
            attributes["SequenceNumber"] = f"{number:020d}"
            if dedup is not None:
                attributes["MessageDeduplicationId"] = str(dedup)
        queue.messages.append(
            QueuedMessage(message_id, body, attributes, dict(options.get("MessageAttributes") or {}))
        )
        queue.sent += 1
        return message_id

    def send_message(self, *, QueueUrl: str, MessageBody: str, **options: Any) -> dict[str, Any]:
        self.counted.note("sqs", "SendMessage")
        queue = self._queue(QueueUrl, "SendMessage")
        message_id = self._enqueue(queue, MessageBody, options) or "deduplicated"
        return {"MessageId": message_id, "MD5OfMessageBody": hashlib.md5(MessageBody.encode()).hexdigest()}  # noqa: S324

    def send_message_batch(self, *, QueueUrl: str, Entries: list[Mapping[str, Any]]) -> dict[str, Any]:
        self.counted.note("sqs", "SendMessageBatch")
        queue = self._queue(QueueUrl, "SendMessageBatch")
        if len(Entries) > 10:
            raise _error(
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                "at most 10 entries",
                "SendMessageBatch",
            )
        successful = []
        for entry in Entries:
            options = {k: v for k, v in entry.items() if k not in ("Id", "MessageBody")}
            message_id = self._enqueue(queue, str(entry["MessageBody"]), options) or "deduplicated"
            successful.append({"Id": entry["Id"], "MessageId": message_id})
        return {"Successful": successful, "Failed": []}

    def receive(self, url: str, size: int) -> list[QueuedMessage]:
        """Up to `size` messages from the head of the queue (each received once more)."""
        queue = self._queue(url, "ReceiveMessage")
        taken = queue.messages[:size]
        for message in taken:
            message.receives += 1
        return taken

    def settle_batch(self, url: str, taken: list[QueuedMessage], failed: set[str]) -> None:
        """Delete what succeeded; a failed message is visible again at once (its visibility timeout
        elapsed), or moved to the dead-letter queue once received `maxReceiveCount` times."""
        queue = self._queue(url, "DeleteMessage")
        for message in taken:
            if message.message_id not in failed:
                queue.messages.remove(message)
            elif queue.dead_letter_arn and queue.max_receives and message.receives >= queue.max_receives:
                queue.messages.remove(message)
                dead = self.by_arn(queue.dead_letter_arn)
                message.receives = 0
                dead.messages.append(message)


class MemorySns:
    """Topics and direct SMS: what was published, kept in order (moto's `sms_messages` and
    `sent_notifications`, as the reacting borrowers read them)."""

    def __init__(self) -> None:
        self.sms: list[tuple[str, str]] = []  # (E.164 number, text)
        self.meta = ClientMeta("sns", "SNS")
        self.subscriptions: dict[str, list[str]] = {}  # topic ARN -> SQS queue ARNs subscribed
        self.sqs: MemorySqs | None = None  # where an SQS subscription delivers
        self.notifications: dict[str, list[tuple[str, str, str]]] = {}  # topic ARN -> (id, message, subject)
        self._ids = itertools.count(1)
        self.counted = Counted()  # replaced by the world's, shared by every service

    def publish(self, **request: Any) -> dict[str, Any]:
        self.counted.note("sns", "Publish")
        message_id = f"10000000-0000-4000-8000-{next(self._ids):012d}"
        if "PhoneNumber" in request:
            self.sms.append((str(request["PhoneNumber"]), str(request["Message"])))
            if current_function.get() is not None:
                self.counted.count._publish(params=dict(request))  # its parts, by country code
        else:
            topic = str(request["TopicArn"])
            self.notifications.setdefault(topic, []).append(
                (message_id, str(request["Message"]), str(request.get("Subject", "")))
            )
            for queue_arn in self.subscriptions.get(topic, []):
                self._deliver(queue_arn, topic, message_id, request)
        return {"MessageId": message_id}

    def _deliver(self, queue_arn: str, topic: str, message_id: str, request: Mapping[str, Any]) -> None:
        """An SQS subscription's delivery: SNS's JSON envelope (no raw delivery), as moto sends it."""
        if self.sqs is None:
            return
        queue = self.sqs.by_arn(queue_arn)
        envelope: dict[str, Any] = {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic,
            "Message": str(request["Message"]),
            "Timestamp": self.sqs.now().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "SignatureVersion": "1",
            "Signature": "EXAMPLElDMXvB8r9R83tGoNn0ecwd5UjllzsvSvbItzfaMpN2nk5HVSw7XnOn/49IkxDKz8YZR6V4I=",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        }
        if request.get("Subject"):
            envelope["Subject"] = str(request["Subject"])
        if request.get("MessageAttributes"):
            envelope["MessageAttributes"] = {
                name: {"Type": value.get("DataType", "String"), "Value": value.get("StringValue", "")}
                for name, value in request["MessageAttributes"].items()
            }
        # SNS's own delivery, not a request of the function that published.
        self.counted.quiet += 1
        try:
            self.sqs.send_message(QueueUrl=queue.url, MessageBody=json.dumps(envelope))
        finally:
            self.counted.quiet -= 1


class MemorySecrets:
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.counted = Counted()
        self.meta = ClientMeta("secretsmanager", "Secrets Manager")

    def get_secret_value(self, *, SecretId: str, **_: Any) -> dict[str, Any]:
        self.counted.note("secretsmanager", "GetSecretValue")
        if SecretId not in self.values:
            raise _error(
                "ResourceNotFoundException",
                "Secrets Manager can't find the specified secret.",
                "GetSecretValue",
            )
        return {"ARN": SecretId, "SecretString": self.values[SecretId]}


def json_lines(body: bytes) -> list[dict[str, Any]]:
    """The JSON records of a JSON Lines object (the archive's format)."""
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]
