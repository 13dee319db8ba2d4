"""The fast path's AWS: one in-memory account built from template.yaml, and the container over it.

`MemoryWorld.of(stack)` declares, from the template the moto path deploys, every DynamoDB table (key
schema, global secondary indexes, stream, TTL), SQS queue (FIFO, deduplication, redrive policy) and
S3 bucket, under the same physical names, and copies the secrets' and SSM parameters' values from the
deployed stack. `MemoryContainer` is the production `Container` with its boto3 resource and clients
replaced by the world's: every adapter it builds is the production adapter, over in-memory storage.

A service the fast path does not provide (a handler asking for, say, the Scheduler) raises
`NotInMemory` instead of silently reaching moto: the fast path never mixes in a slow path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

import boto3

from arrears.adapters.clock import Clock
from arrears.adapters.container import Container
from localcloud.memory.dynamodb import MemoryDynamoDB
from localcloud.memory.services import (
    Counted,
    MemoryQueue,
    MemoryS3,
    MemorySecrets,
    MemorySns,
    MemorySqs,
)
from localcloud.stack import LocalStack

# The properties the world reads, per resource type (the rest may name what is built elsewhere).
_WANTED = {
    "AWS::DynamoDB::Table": (
        "KeySchema",
        "GlobalSecondaryIndexes",
        "StreamSpecification",
        "TimeToLiveSpecification",
    ),
    "AWS::SQS::Queue": ("FifoQueue", "ContentBasedDeduplication", "RedrivePolicy"),
    "AWS::SNS::Topic": ("Subscription",),
}


class NotInMemory(RuntimeError):
    """A handler asked for an AWS service the fast path does not provide."""


class MemoryWorld:
    """Tables, queues, topics, buckets, secrets and parameters of one simulated account."""

    def __init__(self, seed: int = 0) -> None:
        self.dynamodb = MemoryDynamoDB(seed)
        self.s3 = MemoryS3()
        self.sqs = MemorySqs()
        self.sns = MemorySns()
        self.sns.sqs = self.sqs
        # One count of the handlers' requests for every service (what the report's cost is priced from).
        self.secrets = MemorySecrets({})
        self.counted = Counted()
        for service in (self.dynamodb, self.s3, self.sqs, self.sns, self.secrets):
            service.counted = self.counted
        self.parameters: dict[str, str] = {}
        self.fetched_parameters: dict[str, tuple[float, str | None]] = {}  # name -> (when, value)

    def client(self, service: str) -> Any:
        clients = {"s3": self.s3, "sqs": self.sqs, "sns": self.sns, "secretsmanager": self.secrets}
        if service not in clients:
            raise NotInMemory(f"the fast path has no {service}: run this path on the moto local cloud")
        return clients[service]

    def requests(self) -> dict[str, Any]:
        """The handlers' requests, as the moto path's `RequestCount.as_json()` gives them."""
        return self.counted.count.as_json()

    @classmethod
    def of(cls, stack: LocalStack, template: Mapping[str, Any], seed: int = 0) -> MemoryWorld:
        """The world of `stack` (deployed from `template`): the same resources, empty, under the same
        names; secrets and parameters read once from the deployed stack (moto)."""
        world = cls(seed)
        for logical_id, resource in template["Resources"].items():
            if logical_id not in stack.physical:
                continue  # a resource whose Condition is false
            kind = resource["Type"]
            raw = resource.get("Properties", {})
            wanted = _WANTED.get(kind, ())
            props = {key: stack.resolve(raw[key]) for key in wanted if key in raw}
            if kind == "AWS::DynamoDB::Table":
                ttl = props.get("TimeToLiveSpecification") or {}
                world.dynamodb.create_table(
                    stack.physical[logical_id],
                    props["KeySchema"],
                    {g["IndexName"]: g["KeySchema"] for g in props.get("GlobalSecondaryIndexes") or []},
                    stream_view=(props.get("StreamSpecification") or {}).get("StreamViewType"),
                    ttl_attribute=ttl.get("AttributeName")
                    if str(ttl.get("Enabled")).lower() == "true"
                    else None,
                )
            elif kind == "AWS::SQS::Queue":
                redrive = props.get("RedrivePolicy") or {}
                if isinstance(redrive, str):
                    import json

                    redrive = json.loads(redrive)
                world.sqs.add(
                    MemoryQueue(
                        stack.physical[logical_id],
                        stack.arns[logical_id],
                        fifo=str(props.get("FifoQueue")).lower() == "true",
                        content_dedup=str(props.get("ContentBasedDeduplication")).lower() == "true",
                        dead_letter_arn=redrive.get("deadLetterTargetArn"),
                        max_receives=int(redrive["maxReceiveCount"])
                        if "maxReceiveCount" in redrive
                        else None,
                    )
                )
            elif kind == "AWS::SNS::Topic":
                world.sns.subscriptions[stack.physical[logical_id]] = [
                    str(s["Endpoint"]) for s in props.get("Subscription") or [] if s.get("Protocol") == "sqs"
                ]
            elif kind == "AWS::S3::Bucket":
                world.s3.buckets[stack.physical[logical_id]] = {}
            elif kind == "AWS::SecretsManager::Secret":
                arn = stack.physical[logical_id]
                value = boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
                world.secrets.values[arn] = value
            elif kind == "AWS::SSM::Parameter":
                name = stack.physical[logical_id]
                world.parameters[name] = boto3.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        return world


class MemoryContainer(Container):
    """The production container whose AWS is `world`: same adapters, in-memory storage."""

    def __init__(self, settings: Any, world: MemoryWorld, clock: Clock | None = None) -> None:
        super().__init__(settings, None, clock)
        self.world = world

    def __repr__(self) -> str:
        return f"MemoryContainer(clock={self.clock!r})"

    @cached_property
    def _session(self) -> Any:
        raise NotInMemory("the fast path has no boto3 session")

    @cached_property
    def _dynamodb(self) -> Any:
        return self.world.dynamodb

    def client(self, service: str) -> Any:
        return self.world.client(service)

    def playbook_source(self, report: Callable[[str], None] | None = None) -> Any:
        from arrears.config.playbook import PlaybookSource

        world = self.world
        fetched = world.fetched_parameters

        def fetch(name: str, max_age: int) -> str | None:
            # As Powertools' get_parameter: one GetParameter, then its cached value for `max_age`
            # seconds (of the wall clock, as in Lambda). Its cache is the process's, shared by every
            # function of the local cloud, so the world's is shared too.
            now = time.monotonic()
            if name not in fetched or now - fetched[name][0] >= max_age:
                world.counted.note("ssm", "GetParameter")
                fetched[name] = (now, world.parameters.get(name))
            return fetched[name][1]

        return PlaybookSource(
            self.settings.strategy_parameter_name,
            max_age=self.settings.strategy_max_age_seconds,
            fetch=fetch,
            report=report,
        )
