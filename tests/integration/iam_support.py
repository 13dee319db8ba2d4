"""Which AWS calls each function makes on the local cloud, and whether its deployed role allows them.

moto enforces no IAM: a permission missing from template.yaml would only show in production, as an
AccessDenied. This module closes that gap for the calls the tests make happen:

* :class:`CallRecorder` wraps ``botocore.client.BaseClient._make_api_call`` and records every call
  made while a function runs. The local cloud sets ``AWS_LAMBDA_FUNCTION_NAME`` to the function's
  logical id for the length of an invocation (and of its module's cold start), so a call is
  attributed to the function whose code made it; calls made outside an invocation (the test's own
  set-up, the local cloud's routing, moto) are not recorded. It can also inject a failure into a
  call (a throttle, a lost conditional write) so the code's retry paths run too.
* :func:`needs` turns a recorded call into the IAM actions and resource ARNs AWS would authorise it
  against (a ``TransactWriteItems`` needs ``dynamodb:PutItem``... on each item's table; a
  ``SendMessageBatch`` needs ``sqs:SendMessage``; a ``HeadObject`` that finds nothing needs
  ``s3:ListBucket`` as well, or S3 answers 403 instead of 404).
* :func:`role_statements` reads the function's role from the SAM-translated template (policy
  templates expanded, the managed policies SAM attaches spelled out) and resolves every
  statement's Resource against the deployed local stack (``LocalStack.resolve``), so that a
  statement and a call are compared as the concrete ARNs IAM compares.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from unittest import mock

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from localcloud.stack import LocalStack, LocalStackError

# --------------------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------------------
# Request parameters that name the resource a call acts on (values kept as sent).
RESOURCE_PARAMETERS = (
    "TableName",
    "IndexName",
    "StreamArn",
    "QueueUrl",
    "TopicArn",
    "TargetArn",
    "Bucket",
    "Key",
    "VersionId",
    "SecretId",
    "Name",
    "KeyId",
)
# Request parameters whose presence changes what is authorised (the value is not kept).
FLAG_PARAMETERS = ("PhoneNumber", "ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus")


@dataclass(frozen=True)
class Call:
    """One API call a function made: its service (botocore signing name), operation, resources."""

    function: str
    service: str
    operation: str
    params: tuple[tuple[str, str], ...]
    error: str = ""  # the error code AWS answered with ("" = success)

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.params)
        answer = f" -> {self.error}" if self.error else ""
        return f"{self.function}: {self.service}:{self.operation}({shown}){answer}"


def summarise(api_params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The resource-naming parameters of a request, as (name, value) pairs (no item data, no PII)."""
    found = [(name, str(api_params[name])) for name in RESOURCE_PARAMETERS if name in api_params]
    found += [(name, "<set>") for name in FLAG_PARAMETERS if name in api_params]
    for item in api_params.get("TransactItems", []):  # TransactWriteItems / TransactGetItems
        for kind, request in item.items():
            found.append((f"Transact{kind}", str(request["TableName"])))
    for table in api_params.get("RequestItems", {}):  # BatchGetItem / BatchWriteItem
        found.append(("RequestItems", str(table)))
    for entry in api_params.get("Entries", []):  # PutEvents (SQS batch entries carry no bus)
        if isinstance(entry, dict) and "Source" in entry:
            found.append(("EventBusName", str(entry.get("EventBusName", "default"))))
    return tuple(found)


@dataclass
class Fault:
    """Answer a matching call with `code` instead of making it, `times` times (a throttle, a conflict)."""

    function: str
    service: str
    operation: str
    code: str
    when: Callable[[Call], bool] = lambda _call: True
    times: int = 1
    injected: int = 0

    def matches(self, call: Call) -> bool:
        return (
            self.injected < self.times
            and (call.function, call.service, call.operation) == (self.function, self.service, self.operation)
            and self.when(call)
        )


@dataclass
class CallRecorder:
    calls: Counter[Call] = field(default_factory=Counter)
    faults: list[Fault] = field(default_factory=list)

    @contextmanager
    def recording(self) -> Iterator[CallRecorder]:
        # Private to botocore (the stubs omit it), but every client's request goes through it.
        original: Callable[..., Any] = getattr(BaseClient, "_make_api_call")  # noqa: B009
        recorder = self

        def make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
            if not function:
                return original(client, operation_name, api_params)
            model = client.meta.service_model
            service = str(model.signing_name or model.endpoint_prefix)
            call = Call(function, service, operation_name, summarise(api_params))
            error = ""
            try:
                for fault in recorder.faults:
                    if fault.matches(call):
                        fault.injected += 1
                        message = "injected by the IAM coverage test"
                        raise ClientError({"Error": {"Code": fault.code, "Message": message}}, operation_name)
                return original(client, operation_name, api_params)
            except ClientError as exc:
                error = str(exc.response.get("Error", {}).get("Code", "ClientError"))
                raise
            finally:
                recorder.calls[Call(function, service, operation_name, call.params, error)] += 1

        with mock.patch.object(BaseClient, "_make_api_call", make_api_call):
            yield self


# --------------------------------------------------------------------------------------------------
# What a call needs: IAM actions on resource ARNs
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Need:
    action: str  # "dynamodb:Query"
    resource: str  # an ARN, or "*" for an action with no resource-level permission (SMS to a number)


class Unattributable(LookupError):
    """A call this module cannot map to IAM, or that names no resource of the deployed stack."""


# DynamoDB transaction members -> the item action IAM checks on the member's table.
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
# Batch operations authorised as their single-message action.
SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class StackIndex:
    """The deployed local stack's resources by the names calls use (table name, queue URL ...)."""

    def __init__(self, stack: LocalStack, template: dict[str, Any]) -> None:
        self.stack = stack
        types = {name: str(r["Type"]) for name, r in template["Resources"].items()}
        self.partition = str(stack.resolve({"Ref": "AWS::Partition"}))
        self.region = str(stack.resolve({"Ref": "AWS::Region"}))
        self.account = str(stack.resolve({"Ref": "AWS::AccountId"}))

        def of(kind: str) -> dict[str, str]:
            return {stack.physical[n]: n for n, t in types.items() if t == kind and n in stack.physical}

        self.tables = of("AWS::DynamoDB::Table")
        self.queues = of("AWS::SQS::Queue")
        self.topics = of("AWS::SNS::Topic")
        self.buckets = of("AWS::S3::Bucket")
        self.secrets = of("AWS::SecretsManager::Secret")
        self.parameters = of("AWS::SSM::Parameter")
        self.buses = of("AWS::Events::EventBus")
        self.keys = of("AWS::KMS::Key")
        # ARN -> logical id, to name resources in reports.
        self.names: dict[str, str] = {arn: name for name, arn in stack.arns.items()}
        for physical, name in {**self.topics, **self.secrets}.items():
            self.names[physical] = name
        for name_, logical in self.parameters.items():
            self.names[self.parameter_arn(name_)] = logical

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def table_arn(self, table: str | None) -> str:
        if table in self.tables:
            return self.stack.arns[self.tables[table]]
        if table and table in self.names and ":dynamodb:" in table:  # TableName given as an ARN
            return table
        raise Unattributable(f"table {table!r} is not a table of the stack")

    def parameter_arn(self, name: str) -> str:
        return self.arn("ssm", "parameter/" + name.lstrip("/"))

    def describe(self, resource: str) -> str:
        """A resource ARN by its logical id where the stack has one (`LoansTable/index/ReviewIndex`);
        an S3 object by its bucket and first key segment (`ArchiveBucket/contacts/*`)."""
        for arn, name in sorted(self.names.items(), key=lambda item: -len(item[0])):
            if resource == arn or resource.startswith(arn + "/"):
                rest = resource[len(arn) :]
                if arn.startswith(f"arn:{self.partition}:s3:::") and rest.count("/") > 1:
                    rest = "/" + rest.split("/")[1] + "/*"
                return name + rest
        return resource


def needs(call: Call, index: StackIndex) -> list[Need]:
    """What AWS authorises `call` against. Raises :class:`Unattributable` when it cannot say."""
    service, operation = call.service, call.operation
    if service == "dynamodb":
        if operation.startswith("Transact"):
            return [
                Need(f"dynamodb:{TRANSACT_ACTIONS[key.removeprefix('Transact')]}", index.table_arn(table))
                for key, table in call.params
                if key.startswith("Transact")
            ]
        if operation in {"BatchGetItem", "BatchWriteItem"}:
            return [
                Need(f"dynamodb:{operation}", index.table_arn(t))
                for k, t in call.params
                if k == "RequestItems"
            ]
        if stream := call.param("StreamArn"):  # DynamoDB Streams (signed as dynamodb)
            if stream not in index.names:
                raise Unattributable(f"stream {stream!r} is not a stream of the stack")
            return [Need(f"dynamodb:{operation}", stream)]
        resource = index.table_arn(call.param("TableName"))
        if index_name := call.param("IndexName"):
            resource += f"/index/{index_name}"
        return [Need(f"dynamodb:{operation}", resource)]
    if service == "sqs":
        url = call.param("QueueUrl")
        if url not in index.queues:
            raise Unattributable(f"queue {url!r} is not a queue of the stack")
        return [Need(f"sqs:{SQS_ACTIONS.get(operation, operation)}", index.stack.arns[index.queues[url]])]
    if service == "sns":
        if operation not in {"Publish", "PublishBatch"}:
            raise Unattributable(f"no IAM mapping for sns:{operation}")
        if call.param("PhoneNumber"):
            return [Need("sns:Publish", "*")]  # a phone number has no ARN
        topic = call.param("TopicArn") or call.param("TargetArn")
        if topic not in index.topics:
            raise Unattributable(f"topic {topic!r} is not a topic of the stack")
        return [Need("sns:Publish", str(topic))]
    if service == "s3":
        return _s3_needs(call, index)
    if service == "secretsmanager":
        secret = call.param("SecretId")
        if secret not in index.secrets:
            raise Unattributable(f"secret {secret!r} is not the stack's (by ARN)")
        return [Need(f"secretsmanager:{operation}", str(secret))]
    if service == "ssm":
        name = call.param("Name")
        if operation != "GetParameter" or name not in index.parameters:
            raise Unattributable(f"ssm:{operation} of {name!r}: not a parameter of the stack")
        return [Need("ssm:GetParameter", index.parameter_arn(str(name)))]
    if service == "events":
        buses = [bus for key, bus in call.params if key == "EventBusName"]
        unknown = [bus for bus in buses if bus not in index.buses and bus not in index.names]
        if operation != "PutEvents" or unknown or not buses:
            raise Unattributable(f"events:{operation} on {buses}: not a bus of the stack")
        return [
            Need("events:PutEvents", index.stack.arns.get(index.buses.get(bus, ""), bus)) for bus in buses
        ]
    if service == "kms":
        key = call.param("KeyId")
        if key not in index.keys:
            raise Unattributable(f"key {key!r} is not the stack's")
        return [Need(f"kms:{operation}", index.stack.arns[index.keys[key]])]
    raise Unattributable(f"no IAM mapping for {service}:{operation}")


def _s3_needs(call: Call, index: StackIndex) -> list[Need]:
    bucket = call.param("Bucket")
    if bucket not in index.buckets:
        raise Unattributable(f"bucket {bucket!r} is not a bucket of the stack")
    bucket_arn = f"arn:{index.partition}:s3:::{bucket}"
    operation = call.operation
    if operation in {"ListObjectsV2", "ListObjects"}:
        return [Need("s3:ListBucket", bucket_arn)]
    key = call.param("Key")
    if key is None:
        raise Unattributable(f"no IAM mapping for s3:{operation} without a key")
    object_arn = f"{bucket_arn}/{key}"
    if operation == "PutObject":
        found = [Need("s3:PutObject", object_arn)]
        if call.param("ObjectLockMode") or call.param("ObjectLockRetainUntilDate"):
            found.append(Need("s3:PutObjectRetention", object_arn))
        if call.param("ObjectLockLegalHoldStatus"):
            found.append(Need("s3:PutObjectLegalHold", object_arn))
        return found
    if operation in {"GetObject", "HeadObject"}:
        found = [Need("s3:GetObjectVersion" if call.param("VersionId") else "s3:GetObject", object_arn)]
        if call.error in NOT_FOUND:
            # S3 answers 404 for a missing key only to whom may list the bucket, 403 to anyone else.
            found.append(Need("s3:ListBucket", bucket_arn))
        return found
    if operation == "DeleteObject":
        return [Need("s3:DeleteObjectVersion" if call.param("VersionId") else "s3:DeleteObject", object_arn)]
    if operation in {"GetObjectRetention", "GetObjectLegalHold"}:
        return [Need(f"s3:{operation}", object_arn)]
    if operation == "PutObjectRetention":
        # Extending needs only this; shortening a GOVERNANCE date would need s3:BypassGovernanceRetention.
        found = [Need("s3:PutObjectRetention", object_arn)]
        if call.param("BypassGovernanceRetention"):
            found.append(Need("s3:BypassGovernanceRetention", object_arn))
        return found
    if operation == "PutObjectTagging":
        return [
            Need(
                "s3:PutObjectVersionTagging" if call.param("VersionId") else "s3:PutObjectTagging", object_arn
            )
        ]
    raise Unattributable(f"no IAM mapping for s3:{operation}")


# --------------------------------------------------------------------------------------------------
# What a role allows
# --------------------------------------------------------------------------------------------------
# The AWS managed policies SAM attaches (tests/infrastructure/test_iam.py allows only these), as AWS
# publishes them. A role with any other managed policy fails the check: teach it here first.
_LOGS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
MANAGED_POLICIES: dict[str, tuple[str, ...]] = {
    "service-role/AWSLambdaBasicExecutionRole": _LOGS,
    "AWSXrayWriteOnlyAccess": (
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    ),
    "service-role/AWSLambdaDynamoDBExecutionRole": (
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        *_LOGS,
    ),
    "service-role/AWSLambdaSQSQueueExecutionRole": (
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        *_LOGS,
    ),
}


@dataclass(frozen=True)
class Statement:
    source: str  # "<policy name>/<Sid>" or "managed:<name>"
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]  # resolved against the local stack
    unresolved: tuple[str, ...]  # resources naming something not built locally (never match)
    conditioned: bool

    def grants(self, action: str) -> bool:
        return any(_wildcard(pattern, ignore_case=True).fullmatch(action) for pattern in self.actions)

    def covers(self, resource: str) -> bool:
        return any(_wildcard(pattern, ignore_case=False).fullmatch(resource) for pattern in self.resources)


@cache
def _wildcard(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """IAM's matching: `*` is any run of characters, `?` any one character."""
    text = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(text, re.IGNORECASE if ignore_case else 0)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_of(translated: dict[str, Any], function: str) -> str:
    role = translated["Resources"][function]["Properties"]["Role"]
    return str(role["Fn::GetAtt"][0])


def role_statements(translated: dict[str, Any], stack: LocalStack, function: str) -> list[Statement]:
    """Every statement of `function`'s role: inline policies, and the managed policies spelled out."""
    role = translated["Resources"][role_of(translated, function)]["Properties"]
    found: list[Statement] = []
    for policy in role.get("Policies", []):
        for n, raw in enumerate(_as_list(policy["PolicyDocument"]["Statement"])):
            if "NotAction" in raw or "NotResource" in raw:
                raise NotImplementedError(f"{function}: NotAction/NotResource are not evaluated here")
            resources: list[str] = []
            unresolved: list[str] = []
            for resource in _as_list(raw["Resource"]):
                try:
                    resources.append(str(stack.resolve(resource)))
                except LocalStackError:
                    unresolved.append(json.dumps(resource))
            found.append(
                Statement(
                    source=f"{policy['PolicyName']}/{raw.get('Sid', n)}",
                    effect=str(raw["Effect"]),
                    actions=tuple(str(a) for a in _as_list(raw["Action"])),
                    resources=tuple(resources),
                    unresolved=tuple(unresolved),
                    conditioned=bool(raw.get("Condition")),
                )
            )
    for arn in role.get("ManagedPolicyArns", []):
        name = str(stack.resolve(arn)).split(":policy/", 1)[1]
        if name not in MANAGED_POLICIES:
            raise NotImplementedError(f"{function}: managed policy {name} is unknown to this check")
        found.append(Statement(f"managed:{name}", "Allow", MANAGED_POLICIES[name], ("*",), (), False))
    return found


def verdict(statements: Iterable[Statement], need: Need) -> str:
    """ "" when `statements` allow `need`, else why not (IAM: an explicit Deny wins, no Allow = denied)."""
    matching = [s for s in statements if s.grants(need.action) and s.covers(need.resource)]
    if denied := [s.source for s in matching if s.effect == "Deny"]:
        return f"explicitly denied by {denied}"
    allows = [s for s in matching if s.effect == "Allow"]
    if any(not s.conditioned for s in allows):
        return ""
    if allows:
        return f"allowed only under a condition this check cannot evaluate ({[s.source for s in allows]})"
    return "no Allow statement matches"
