"""The fast path's local cloud: LocalCloud's routing, over the in-memory world instead of moto.

`MemoryCloud` is `localcloud.cloud.LocalCloud` with only its AWS-facing parts replaced: stream records
are read from the in-memory tables, SQS messages from the in-memory queues, failures go to the
in-memory on-failure queues, and each handler module is loaded with a `MemoryContainer` over the
world. Everything that decides what Lambda would deliver is LocalCloud's own code, inherited: the
template's FilterCriteria and BatchSize, `batchItemFailures`, MaximumRetryAttempts, bisection on a
function error, the on-failure destinations, EventBridge patterns, asynchronous retries, the
schedules' events, the simulated clock. The routing semantics are therefore the moto path's by
construction, not a second implementation to keep equal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from arrears.adapters.container import Container
from arrears.adapters.streams import lambda_stream_record
from localcloud.cloud import (
    LocalCloud,
    _QueueMapping,
    _StreamMapping,
)
from localcloud.memory.services import QueuedMessage
from localcloud.memory.world import MemoryContainer, MemoryWorld
from localcloud.stack import LocalStack


class MemoryCloud(LocalCloud):
    """LocalCloud over a `MemoryWorld` (see the module docstring). Takes LocalCloud's arguments."""

    def __init__(self, stack: LocalStack, world: MemoryWorld, **options: Any) -> None:
        self.world = world
        self._read_upto: dict[int, int] = {}  # id(mapping) -> stream records read
        super().__init__(stack, **options)
        world.sqs.now = lambda: self.clock

    def sent_since(
        self, topic_arn: str, sms_seen: int, notes_seen: int
    ) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
        """`LocalCloud.sent_since` from the in-memory SNS (the same order and shapes as moto's)."""
        sns = self.world.sns
        return sns.sms[sms_seen:], sns.notifications.get(topic_arn, [])[notes_seen:]

    # -- handlers -----------------------------------------------------------------------------

    @contextmanager
    def _memory_containers(self) -> Iterator[None]:
        original = vars(Container)["from_environment"]
        world, clock = self.world, self.simulated_clock

        def from_environment(cls: type[Container], given: Any = None) -> Container:
            import os

            return MemoryContainer(dict(os.environ), world, given or clock)

        setattr(Container, "from_environment", classmethod(from_environment))  # noqa: B010
        try:
            yield
        finally:
            setattr(Container, "from_environment", original)  # noqa: B010

    _module_prefix = "_arrears_fast_"

    def _handler_containers(self) -> AbstractContextManager[None]:
        return self._memory_containers()

    # -- streams ------------------------------------------------------------------------------

    def _open_iterators(self, mapping: _StreamMapping) -> None:
        self._read_upto[id(mapping)] = 0

    def _read(self, mapping: _StreamMapping) -> list[dict[str, Any]]:
        table = self.world.dynamodb.Table(mapping.table_name)
        start = self._read_upto.get(id(mapping), 0)
        fresh = table.stream[start - table.stream_dropped :]
        self._read_upto[id(mapping)] = table.stream_written
        # Each delivery gets its own record and body maps; the images are shared (no handler changes
        # the event it parses).
        return [lambda_stream_record(r.record, mapping.stream_arn, self.clock) for r in fresh]

    def _trim_streams(self) -> None:
        """Drop the stream records every mapping of their table has read (with `trim_streams`, as the
        lean moto cloud does): a long run's memory stays bounded by what is in flight."""
        read: dict[str, int] = {}
        for mapping in self._mappings:
            upto = self._read_upto.get(id(mapping), 0)
            read[mapping.table_name] = min(read.get(mapping.table_name, upto), upto)
        for name, upto in read.items():
            self.world.dynamodb.Table(name).trim_stream(min(upto, self._stream_pins.get(name, upto)))

    def stream_records(self) -> dict[str, int]:
        tables = [self.world.dynamodb.Table(t) for t in sorted({m.table_name for m in self._mappings})]
        return {
            "written": sum(t.stream_written for t in tables),
            "held": sum(len(t.stream) for t in tables),
            "dropped": sum(t.stream_dropped for t in tables),
        }

    # -- queues -------------------------------------------------------------------------------

    def _poll(self, queue: _QueueMapping, max_messages: int = 100_000) -> int:
        size = int(queue.source.properties.get("BatchSize", 10))
        delivered = 0
        sqs = self.world.sqs
        while delivered < max_messages:
            taken = sqs.receive(queue.queue_url, size)
            if not taken:
                return delivered
            delivered += len(taken)
            records = [self._record(m, queue.queue_arn) for m in taken]
            failed = self._deliver_batch(queue, records)
            sqs.settle_batch(queue.queue_url, taken, failed)
        raise RuntimeError(f"{queue.function}: more than {max_messages} messages in one settle: a loop?")

    @staticmethod
    def _record(message: QueuedMessage, queue_arn: str) -> dict[str, Any]:
        from localcloud.cloud import to_sqs_record

        return to_sqs_record(message.as_received(f"receipt-{message.message_id}"), queue_arn)

    def _send_failure(self, queue_logical_id: str, body: dict[str, Any]) -> None:
        self.world.sqs.send_message(
            QueueUrl=self.stack.physical[queue_logical_id], MessageBody=json.dumps(body)
        )

    # -- S3 and time --------------------------------------------------------------------------

    def put_object(self, bucket: str, key: str, body: bytes) -> list[Any]:
        self.world.s3.put_object(Bucket=self.stack.physical[bucket], Key=key, Body=body)
        return []

    def advance_to(self, moment: datetime) -> None:
        if moment.astimezone(UTC) < self.clock:
            raise ValueError("the simulated clock never runs backwards")
        new_day = moment.astimezone(UTC).date() != self.clock.date()
        self.clock = moment.astimezone(UTC)
        if new_day and self.expire_ttl:
            # As the moto path (localcloud.lean.expire_ttl_items): only tables without a stream.
            logical = {physical: name for name, physical in self.stack.physical.items()}
            for table in self.world.dynamodb.tables.values():
                if table.stream_view is not None:
                    continue
                count = table.expire(self.clock.timestamp())
                if count:
                    name = logical.get(table.name, table.name)
                    self.ttl_expired[name] = self.ttl_expired.get(name, 0) + count
