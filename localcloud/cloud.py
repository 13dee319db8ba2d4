"""The local cloud: routes moto's resources to the real handlers the way AWS Lambda would.

moto holds the tables, queues, topics and bucket (built from template.yaml by `stack.deploy`) but
never runs Lambda code nor fires schedules. This module does the routing itself, in the shapes
Lambda delivers:

* DynamoDB stream event source mappings: reads moto's streams, stamps each record with the
  simulated clock (business time comes from `ApproximateCreationDateTime`), applies the
  template's FilterCriteria and BatchSize, holds records for a MaximumBatchingWindowInSeconds of a
  minute or more until the window passes in simulated time (the review lister's), honours
  `batchItemFailures`, retries up to MaximumRetryAttempts, bisects failing batches and sends
  exhausted batches to the on-failure destination in Lambda's own format. `pause_stream` simulates
  a consumer's outage: records past MaximumRecordAgeInSeconds when it resumes are lost.
* Schedules: `schedule(function)` invokes with what the function's schedule delivers at the simulated
  clock: an EventBridge Scheduled Event, or an EventBridge Scheduler Input with its context attributes
  filled in (localcloud.schedules).
* The clock: every handler's `Container` is built with `SimulatedClock`, so the instant a contact is
  judged and recorded at is the simulated clock's (the wall clock in Lambda), and the demo stays
  deterministic.
* EventBridge rules: `put_event` matches the template's patterns and invokes asynchronously
  (two retries, then the on-failure destination).
* SQS event source mappings: receives from moto's queue in Lambda's SQS event shape, up to the
  template's BatchSize, deletes what succeeded, honours `batchItemFailures` (a function error
  fails the whole batch), makes failed messages visible again at once (the visibility timeout
  elapsing, in simulated time) and lets the queue's RedrivePolicy move a message that was
  received `maxReceiveCount` times to its dead-letter queue. `settle` drains these queues too.

Handlers are imported fresh per LocalCloud (their boto3 clients bind to the active moto).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _datetime_module
import hashlib
import importlib.util
import io
import json
import logging
import os
import sys
import time
import types
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

import boto3
from aws_lambda_powertools.utilities import parameters

from arrears.adapters.container import Container
from arrears.adapters.streams import lambda_stream_record
from localcloud.faults import FaultInjector, InvocationKilled
from localcloud.lean import position, trim_stream, trimmed, written
from localcloud.patterns import matches
from localcloud.requests import current_function
from localcloud.schedules import Schedule
from localcloud.stack import EventSource, FunctionSpec, LocalStack

ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass
class LocalContext:
    """The subset of the Lambda context object the handlers use."""

    function_name: str
    timeout_s: int
    budget_ms: int | None = None
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        budget = self.budget_ms if self.budget_ms is not None else self.timeout_s * 1000
        return max(0, budget - int((time.monotonic() - self._started) * 1000))


class FunctionTimedOut(RuntimeError):
    """An invocation ended by Lambda before it returned (the trigger retries it as a function error)."""


@dataclass
class Invocation:
    function: str
    event: dict[str, Any]
    response: Any = None
    error: str | None = None


@dataclass
class _QueueMapping:
    function: str
    queue_url: str
    queue_arn: str
    queue_name: str
    source: EventSource


@dataclass
class _StreamMapping:
    function: str
    stream_arn: str
    source: EventSource
    table_name: str
    iterators: dict[str, str] = field(default_factory=dict)
    seen: int = -1  # records of the shard read so far, dropped ones included (-1: not read directly yet)
    held: list[dict[str, Any]] = field(default_factory=list)  # gathered in the batching window
    held_since: datetime | None = None  # the simulated time the first held record was read
    paused_until: datetime | None = None  # an outage of the consumer (`LocalCloud.pause_stream`)

    @property
    def window_s(self) -> int:
        return int(self.source.properties.get("MaximumBatchingWindowInSeconds", 0) or 0)

    def gather(self, records: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """The records to deliver now: as Lambda's batching window does, records are held until a
        batch's worth (`BatchSize`) is held or the window has passed since the first of them arrived
        (windows under a minute deliver at once: the simulated clock moves in larger steps)."""
        if self.paused_until is not None and now < self.paused_until:
            self.held.extend(records)  # the consumer is down: the stream keeps its records
            self.held_since = self.held_since or now
            return []
        if self.window_s < 60 and not self.held:
            return records
        if records and not self.held:
            self.held_since = now
        self.held.extend(records)
        size = int(self.source.properties.get("BatchSize", 100))
        since = self.held_since or now
        if self.held and (len(self.held) >= size or (now - since).total_seconds() >= self.window_s):
            ready, self.held, self.held_since = self.held, [], None
            return ready
        return []


def _moto_stream_shard(table_name: str) -> Any:
    """moto's in-process stream shard of `table_name` (None when moto runs elsewhere)."""
    try:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[ACCOUNT][REGION].tables[table_name].stream_shard
    except (ImportError, KeyError, AttributeError):
        return None


def stream_length(table_name: str) -> int | None:
    """How many records moto's stream of `table_name` holds (None when it cannot tell).

    A shortcut, read from moto's in-process state, that lets `settle` skip a stream with nothing
    new instead of paying a `GetRecords` round trip per stream after every invocation.
    """
    shard = _moto_stream_shard(table_name)
    return None if shard is None else written(shard)


def visible_messages(queue_name: str) -> int | None:
    """How many messages moto's queue holds visible now (None when it cannot tell).

    Like `stream_length`: lets `settle` skip an empty queue without a ReceiveMessage round trip.
    """
    try:
        from moto.sqs.models import sqs_backends

        return len(sqs_backends[ACCOUNT][REGION].queues[queue_name].messages)
    except (ImportError, KeyError, AttributeError):
        return None


def to_sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """A ReceiveMessage message in the shape Lambda delivers to an SQS-triggered function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": dict(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def _forget_powertools_logger(service: str) -> None:
    """Let a fresh handler module configure its Powertools logger again (and write to our log).

    Powertools configures one `logging.Logger` per service name, once per process; a second
    LocalCloud in the same process (the next test) would otherwise log into the first one's file.
    """
    logger = logging.getLogger(service)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    for attribute in ("init", "powertools_handler", "powertools_buffer_config", "powertools_buffer_cache"):
        if hasattr(logger, attribute):
            delattr(logger, attribute)


class SimulatedClock:
    """The local cloud's clock as the handlers' `Clock` port: the simulated instant, which only
    `LocalCloud.advance_to` moves."""

    def __init__(self, cloud: LocalCloud) -> None:
        self._cloud = cloud

    def now(self) -> datetime:
        return self._cloud.clock


_EMF_CHECK_BINDERS: list[Any] = [-1, []]  # (len(sys.modules) when scanned, modules binding the check)


@contextlib.contextmanager
def _cloudwatch_judges_at(clock: SimulatedClock) -> Iterator[None]:
    """While a handler runs, Powertools' EMF timestamp check compares with the simulated clock.

    CloudWatch accepts a metric whose timestamp is at most 14 days before, and 2 hours after, the
    instant it ingests the log line. In Lambda that instant is the wall clock; here it is the simulated
    clock (the logs are "ingested" as the simulated day runs), so a census stamped with its simulated
    business time is on time, and neither Powertools' "will be skipped" warning nor the handlers' own
    "will be dropped" warning fires for metrics CloudWatch would in fact keep. The check is swapped in
    every module that bound it by name (Powertools' metrics provider, the handlers' reporting).
    """
    from aws_lambda_powertools.metrics import functions
    from aws_lambda_powertools.shared import constants

    original = functions.validate_emf_timestamp

    past_ms: int = constants.EMF_MAX_TIMESTAMP_PAST_AGE
    future_ms: int = constants.EMF_MAX_TIMESTAMP_FUTURE_AGE

    def validate_emf_timestamp(timestamp: object) -> bool:
        if isinstance(timestamp, datetime):
            at_ms = int(timestamp.timestamp() * 1000)
        elif isinstance(timestamp, int):
            at_ms = timestamp
        else:
            return False
        now = int(clock.now().timestamp() * 1000)
        return now - past_ms <= at_ms <= now + future_ms

    if _EMF_CHECK_BINDERS[0] != len(sys.modules):  # rescan only after new imports
        binders = [
            module
            for module in list(sys.modules.values())
            if getattr(module, "validate_emf_timestamp", None) is original
        ]
        _EMF_CHECK_BINDERS[:] = [len(sys.modules), binders]
    bound: list[ModuleType] = _EMF_CHECK_BINDERS[1]
    for module in bound:
        setattr(module, "validate_emf_timestamp", validate_emf_timestamp)  # noqa: B010
    try:
        yield
    finally:
        for module in bound:
            setattr(module, "validate_emf_timestamp", original)  # noqa: B010


@contextlib.contextmanager
def _idempotency_judges_at(clock: SimulatedClock) -> Iterator[None]:
    """While a handler runs, Powertools' idempotency records are dated by the simulated clock.

    In Lambda an in-progress record left by a killed invocation expires with the invocation's own time
    (`register_lambda_context`), so the trigger's retry a minute later, or an operator's redrive, runs
    again. Powertools reads the wall clock for that; here the simulated clock is the one that passes
    (a redrive is an hour later in simulated time, a few milliseconds on the wall).
    """
    from aws_lambda_powertools.utilities.idempotency import base as handler_base
    from aws_lambda_powertools.utilities.idempotency.persistence import base, datarecord, dynamodb

    class SimulatedDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return clock.now() if tz is None else clock.now().astimezone(tz)

    simulated = types.SimpleNamespace(**{**vars(_datetime_module), "datetime": SimulatedDatetime})
    modules = (handler_base, base, datarecord, dynamodb)
    originals = [vars(module)["dt"] for module in modules]
    for module in modules:
        setattr(module, "dt", simulated)  # noqa: B010
    try:
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            setattr(module, "dt", original)  # noqa: B010


@contextlib.contextmanager
def _containers_with(clock: SimulatedClock) -> Iterator[None]:
    """While a handler module is imported, `Container.from_environment()` builds its container with
    the simulated clock, as Lambda's would be built with the wall clock."""
    original = vars(Container)["from_environment"]

    def from_environment(cls: type[Container], given: Any = None) -> Container:
        built: Container = original.__func__(cls, given or clock)
        return built

    setattr(Container, "from_environment", classmethod(from_environment))  # noqa: B010
    try:
        yield
    finally:
        setattr(Container, "from_environment", original)  # noqa: B010


def _environment_snapshot() -> dict[bytes, bytes]:
    """`os.environ` as the bytes CPython keeps it in (`os._Environ._data`): a C-level dict copy,
    where `dict(os.environ)` decodes every name and value (2.6 % of a what-if's CPU, twice an
    invocation). An implementation detail of CPython's `os` module since Python 3.2; the local cloud
    runs only on CPython 3.13 (the Makefile's interpreter)."""
    return dict(os.environ._data)  # type: ignore[attr-defined]


def _restore_environment(saved: Mapping[bytes, bytes]) -> None:
    """`os.environ` back to the snapshot `saved`, setting or unsetting only the variables that
    differ (clearing and refilling it costs two system calls per variable, for every invocation)."""
    environ: Any = os.environ
    now = environ._data
    if now == saved:
        return
    for name in now.keys() - saved.keys():
        del environ[environ.decodekey(name)]
    for name, value in saved.items():
        if now.get(name) != value:
            environ[environ.decodekey(name)] = environ.decodevalue(value)


def passes_filters(record: Mapping[str, Any], properties: Mapping[str, Any]) -> bool:
    criteria = properties.get("FilterCriteria") or {}
    filters = criteria.get("Filters") or []
    if not filters:
        return True
    return any(matches(json.loads(f["Pattern"]), record) for f in filters)


class LocalCloud:
    def __init__(
        self,
        stack: LocalStack,
        *,
        start: datetime,
        log: TextIO | None = None,
        budgets_ms: Mapping[str, int] | None = None,
        keep_invocations: bool = True,
        faults: FaultInjector | None = None,
        trim_streams: bool = False,
        expire_ttl: bool = False,
    ) -> None:
        # With `trim_streams`, stream records every consumer has read are dropped (localcloud.lean).
        self.trim_streams = trim_streams
        # A new cloud is a set of new Lambda containers: nothing a handler cached in an earlier cloud of
        # this process (Powertools' parameter cache: the collection policy from SSM) carries over.
        parameters.clear_caches()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped
        # With `expire_ttl`, the items whose TTL has passed are deleted at each new simulated day, as
        # DynamoDB's TTL does (localcloud.lean.expire_ttl_items); `ttl_expired` counts them per table.
        self.expire_ttl = expire_ttl
        self.ttl_expired: dict[str, int] = {}
        self.stream_records_expired: dict[str, int] = {}  # by function: `pause_stream`
        self._stream_pins: dict[str, int] = {}  # table -> first record a stream failure names
        # Every invocation (event and response) is kept in `invocations` for the tests that inspect
        # them; the demo keeps only the per-function `counts`, so its memory does not grow with days.
        self.keep_invocations = keep_invocations
        self.stack = stack
        # Counts the handlers' AWS calls; with a FaultPlan, also makes some of them fail.
        self.faults = faults if faults is not None else FaultInjector(None)
        self.clock = start.astimezone(UTC)
        self.simulated_clock = SimulatedClock(self)
        self.log: TextIO = log if log is not None else io.StringIO()
        self.budgets_ms = dict(budgets_ms or {})
        self.invocations: list[Invocation] = []
        self.counts: dict[str, int] = {}
        self._modules: dict[str, ModuleType] = {}
        self._patterns: dict[tuple[str, int], Any] = {}
        self._sqs = boto3.client("sqs", region_name=REGION)
        self._streams = boto3.client("dynamodbstreams", region_name=REGION)
        self._mappings = [
            _StreamMapping(
                name, stack.arns[f"{source.source}.StreamArn"], source, stack.physical[source.source]
            )
            for name, spec in stack.functions.items()
            for source in spec.events
            if source.kind == "dynamodb_stream"
        ]
        for mapping in self._mappings:
            self._open_iterators(mapping)
        self._queues = [
            _QueueMapping(
                name,
                stack.physical[source.source],
                stack.arns[source.source],
                stack.arns[source.source].rsplit(":", 1)[-1],
                source,
            )
            for name, spec in stack.functions.items()
            for source in spec.events
            if source.kind == "sqs"
        ]
        for name in stack.functions:
            self._load(name)

    # -- handlers ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _environment(self, spec: FunctionSpec) -> Iterator[None]:
        saved = _environment_snapshot()
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        os.environ.update(spec.environment)
        os.environ.setdefault("POWERTOOLS_SERVICE_NAME", spec.logical_id)
        # No X-Ray here: the handlers' Tracer stays off (the template turns tracing on in Lambda).
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = spec.logical_id
        running = current_function.set(spec.logical_id)  # whose AWS requests these are
        try:
            with (
                contextlib.redirect_stdout(self.log),
                _cloudwatch_judges_at(self.simulated_clock),
                _idempotency_judges_at(self.simulated_clock),
            ):
                yield
        finally:
            current_function.reset(running)
            _restore_environment(saved)

    def _deliver_batch(self, queue: _QueueMapping, records: list[dict[str, Any]]) -> set[str]:
        """Invoke `queue`'s function with the `records` its filters pass; the message ids that failed
        (its `batchItemFailures`, or every record delivered when the invocation raised)."""
        wanted = [r for r in records if passes_filters(_with_json_body(r), queue.source.properties)]
        if not wanted:
            return set()
        try:
            response = self.invoke(queue.function, {"Records": wanted})
        except Exception:
            return {r["messageId"] for r in wanted}
        return {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}

    # The prefix of the handler modules this cloud loads (each cloud loads its own copies).
    _module_prefix = "_arrears_fn_"

    def _handler_containers(self) -> contextlib.AbstractContextManager[None]:
        """While a handler module is imported: how `Container.from_environment()` builds its container."""
        return _containers_with(self.simulated_clock)

    def _load(self, name: str) -> ModuleType:
        spec = self.stack.functions[name]
        module_file, _, _ = spec.handler.partition(".")
        path = spec.code_dir / f"{module_file}.py"
        module_name = f"{self._module_prefix}{name}_{id(self)}"
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ImportError(f"cannot load handler module {path}")
        module = importlib.util.module_from_spec(loader_spec)
        _forget_powertools_logger(spec.environment.get("POWERTOOLS_SERVICE_NAME", name))
        with self._environment(spec), self._handler_containers():
            sys.modules[module_name] = module
            loader_spec.loader.exec_module(module)
        self._modules[name] = module
        return module

    def close(self) -> None:
        """Unload this cloud's handler modules (each cloud imports its own copies, with their
        containers and AWS clients): a process that builds many clouds (the test session) keeps none
        of a closed cloud's. The cloud cannot invoke a handler afterwards."""
        for name in list(self._modules):
            sys.modules.pop(f"{self._module_prefix}{name}_{id(self)}", None)
        self._modules.clear()
        _EMF_CHECK_BINDERS[:] = [-1, []]  # the next check rescans the modules still loaded

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke a handler synchronously; exceptions propagate like a function error."""
        spec = self.stack.functions[function]
        handler_name = spec.handler.partition(".")[2]
        handler: Callable[[dict[str, Any], Any], Any] = getattr(self._modules[function], handler_name)
        context = LocalContext(function, spec.timeout_s, self.budgets_ms.get(function))
        self.counts[function] = self.counts.get(function, 0) + 1
        call = Invocation(function, event)
        if self.keep_invocations:
            self.invocations.append(call)
        with self._environment(spec), self.faults.invocation(function):
            try:
                call.response = handler(event, context)
            except InvocationKilled as killed:
                # Lambda ended the invocation (its timeout): a function error for the trigger.
                call.error = f"Task timed out ({killed})"
                raise FunctionTimedOut(call.error) from None
            except Exception as error:
                call.error = f"{type(error).__name__}: {error}"
                raise
        return call.response

    @contextlib.contextmanager
    def invoker(self, function: str) -> Iterator[Callable[[dict[str, Any]], Any]]:
        """Invoke `function` many times under one environment: what `invoke` does, without setting
        the process environment and recording each call (tests/fuzz sends thousands of events;
        exceptions propagate like a function error)."""
        spec = self.stack.functions[function]
        handler: Callable[[dict[str, Any], Any], Any] = getattr(
            self._modules[function], spec.handler.partition(".")[2]
        )

        def invoke(event: dict[str, Any]) -> Any:
            self.counts[function] = self.counts.get(function, 0) + 1
            return handler(event, LocalContext(function, spec.timeout_s, self.budgets_ms.get(function)))

        with self._environment(spec):
            yield invoke

    # -- schedules and EventBridge ----------------------------------------------------------

    def schedule_of(self, function: str) -> Schedule:
        """The function's schedule as the template declares it (rule or EventBridge Scheduler)."""
        for source in self.stack.functions[function].events:
            if source.kind == "schedule":
                return Schedule.from_properties(function, source.properties, self.stack.resolve)
        raise KeyError(f"{function} has no schedule in the template")

    def scheduled_event(self, function: str) -> dict[str, Any]:
        """The event `function`'s schedule delivers at the simulated clock."""
        return self.schedule_of(function).event(self.clock, region=REGION, account=ACCOUNT)

    def schedule(self, function: str) -> Any:
        """Fire `function`'s schedule now, as an asynchronous invocation, then settle the streams."""
        response = self.invoke_async(function, self.scheduled_event(function))
        self.settle()
        return response

    def _pattern(self, function: str, source: EventSource) -> Any:
        """A rule's pattern with its intrinsics resolved (`name: [!Ref ImportBucket]`), once per rule."""
        key = (function, id(source))
        if key not in self._patterns:
            self._patterns[key] = self.stack.resolve(source.properties.get("Pattern") or {})
        return self._patterns[key]

    def sent_since(
        self, topic_arn: str, sms_seen: int, notes_seen: int
    ) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
        """What SNS delivered after the first `sms_seen` SMS and `notes_seen` notifications of
        `topic_arn`, in order: the SMS as (E.164 number, text), the notifications as tuples whose
        second member is the message. What the simulated borrowers read (`localcloud.reactions`);
        here from moto's SNS backend (copied only when something is new: it is asked after every
        simulated event)."""
        from moto.sns.models import sns_backends

        backend = sns_backends[ACCOUNT][REGION]
        sms: list[tuple[str, str]] = []
        if len(backend.sms_messages) != sms_seen:
            sms = [(str(n), str(t)) for n, t in list(backend.sms_messages.values())[sms_seen:]]
        topic = backend.topics.get(topic_arn)
        sent = topic.sent_notifications if topic is not None else []
        return sms, list(sent[notes_seen:]) if len(sent) != notes_seen else []

    def put_event(self, bus: str, source: str, detail_type: str, detail: dict[str, Any]) -> list[Any]:
        """Put one event on the bus `bus` (logical id); returns the responses of the rules it matched."""
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": source,
            "account": ACCOUNT,
            "time": self.clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [],
            "detail": detail,
        }
        responses: list[Any] = []
        for name, spec in self.stack.functions.items():
            for source_spec in spec.events:
                if source_spec.kind != "eventbridge_rule" or source_spec.source != bus:
                    continue
                if matches(self._pattern(name, source_spec), event):
                    responses.append(self.invoke_async(name, event))
        self.settle()
        return responses

    def put_object(self, bucket: str, key: str, body: bytes) -> list[Any]:
        """Put `body` at `key` of the bucket `bucket` (logical id) as a client would; when the bucket
        sends its events to EventBridge, S3's `Object Created` event goes to the default bus's rules.
        Returns the responses of the rules it matched."""
        name = self.stack.physical[bucket]
        boto3.client("s3", region_name=REGION).put_object(Bucket=name, Key=key, Body=body)
        if bucket not in self.stack.eventbridge_buckets:
            return []
        detail = {
            "version": "0",
            "bucket": {"name": name},
            "object": {"key": key, "size": len(body), "etag": hashlib.md5(body).hexdigest()},  # noqa: S324
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": ACCOUNT,
            "reason": "PutObject",
        }
        return self.put_event("", "aws.s3", "Object Created", detail)

    def publish(self, topic: str, message: str) -> list[Any]:
        """Publish `message` to the topic `topic` (logical id) in moto, then deliver it to the functions the
        template subscribes to it, in Lambda's SNS event shape, asynchronously (two retries, then the
        on-failure destination); returns their responses."""
        arn = self.stack.physical[topic]
        message_id = boto3.client("sns", region_name=REGION).publish(TopicArn=arn, Message=message)[
            "MessageId"
        ]
        responses: list[Any] = []
        for name, spec in self.stack.functions.items():
            for source in spec.events:
                if source.kind != "sns" or source.source != topic:
                    continue
                record = {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": f"{arn}:{uuid.uuid4()}",
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": message_id,
                        "TopicArn": arn,
                        "Subject": None,
                        "Message": message,
                        "Timestamp": self.clock.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "SignatureVersion": "1",
                        "Signature": "local",
                        "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/local.pem",
                        "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                        "MessageAttributes": {},
                    },
                }
                responses.append(self.invoke_async(name, {"Records": [record]}))
        self.settle()
        return responses

    def invoke_async(self, function: str, event: dict[str, Any], attempts: int = 3) -> Any:
        """Lambda's asynchronous invocation: up to two retries, then the on-failure destination."""
        last_error = ""
        for _ in range(attempts):
            try:
                return self.invoke(function, event)
            except Exception as error:
                last_error = f"{type(error).__name__}: {error}"
        self._send_failure(
            "AsyncFailureQueue",
            {
                "version": "1.0",
                "timestamp": self.clock.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": attempts,
                },
                "requestPayload": event,
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                },
                "responsePayload": {"errorMessage": last_error},
            },
        )
        return None

    def _send_failure(self, queue_logical_id: str, body: dict[str, Any]) -> None:
        self._sqs.send_message(QueueUrl=self.stack.physical[queue_logical_id], MessageBody=json.dumps(body))

    # -- streams ----------------------------------------------------------------------------

    def _open_iterators(self, mapping: _StreamMapping) -> None:
        description = self._streams.describe_stream(StreamArn=mapping.stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in mapping.iterators:
                mapping.iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=mapping.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]

    def _read(self, mapping: _StreamMapping) -> list[dict[str, Any]]:
        shard = _moto_stream_shard(mapping.table_name)
        if shard is not None and mapping.seen >= 0:
            # In-process moto: take the new records straight from its shard. They are the very
            # dicts GetRecords would return (DynamoDB JSON), without the ~20 ms per call that
            # moto's response serialisation costs on large items.
            fresh = shard.items[mapping.seen - trimmed(shard) :]
            mapping.seen = written(shard)
            return [
                lambda_stream_record(copy.deepcopy(r.to_json()), mapping.stream_arn, self.clock)
                for r in fresh
            ]
        records: list[dict[str, Any]] = []
        for shard_id in list(mapping.iterators):
            while True:
                response = self._streams.get_records(ShardIterator=mapping.iterators[shard_id], Limit=1000)
                mapping.iterators[shard_id] = response["NextShardIterator"]
                records.extend(
                    lambda_stream_record(r, mapping.stream_arn, self.clock) for r in response["Records"]
                )
                if len(response["Records"]) < 1000:
                    break
        if shard is not None:
            mapping.seen = written(shard)  # from now on, read moto's shard directly
        return records

    def settle(self, max_rounds: int = 100) -> int:
        """Deliver stream records and SQS messages until all are drained; returns how many moved."""
        delivered = 0
        for _ in range(max_rounds):
            moved = 0
            for mapping in self._mappings:
                records = [r for r in self._read(mapping) if passes_filters(r, mapping.source.properties)]
                self._expire(mapping)
                records = mapping.gather(records, self.clock)
                if records:
                    moved += len(records)
                    self._deliver(mapping, records)
            for queue in self._queues:
                moved += self._poll(queue)
            delivered += moved
            if moved == 0:
                if self.trim_streams:
                    self._trim_streams()
                return delivered
        raise RuntimeError(f"streams did not settle after {max_rounds} rounds: a feedback loop?")

    def pause_stream(self, function: str, until: datetime) -> None:
        """An outage of `function`'s stream consumer until `until` (a broken deploy, a mapping
        disabled by mistake): its records wait in the stream. When it resumes, those older than the
        mapping's `MaximumRecordAgeInSeconds` are discarded, as Lambda does (the stream keeps records
        24 hours: they are gone; `stream_records_expired` counts them by function; the local cloud
        sends no on-failure record for them, whose replay could read nothing), and the rest is
        delivered."""
        for mapping in self._mappings:
            if mapping.function == function:
                mapping.paused_until = until.astimezone(UTC)

    def _expire(self, mapping: _StreamMapping) -> None:
        """Drop the held records a resumed consumer finds past its maximum record age."""
        if mapping.paused_until is None or self.clock < mapping.paused_until:
            return
        mapping.paused_until = None
        max_age = int(mapping.source.properties.get("MaximumRecordAgeInSeconds", 86_400))
        oldest = self.clock.timestamp() - max_age
        kept = [r for r in mapping.held if float(r["dynamodb"]["ApproximateCreationDateTime"]) >= oldest]
        expired = len(mapping.held) - len(kept)
        if expired:
            self.stream_records_expired[mapping.function] = (
                self.stream_records_expired.get(mapping.function, 0) + expired
            )
        mapping.held = kept
        mapping.held_since = self.clock if kept else None

    def drain_windows(self) -> int:
        """Deliver what batching windows hold now, as Lambda does once a window passes (the end of a
        simulated run, before its checks); returns how many records moved."""
        moved = 0
        for mapping in self._mappings:
            if mapping.paused_until is not None and self.clock < mapping.paused_until:
                continue  # still down: its records wait
            held, mapping.held, mapping.held_since = mapping.held, [], None
            if held:
                moved += len(held)
                self._deliver(mapping, held)
        return moved + self.settle()

    def _trim_streams(self) -> None:
        """Drop the stream records every mapping of their table has read (none a failure still names)."""
        read: dict[str, int] = {}
        for mapping in self._mappings:
            read[mapping.table_name] = min(read.get(mapping.table_name, mapping.seen), mapping.seen)
        for table, upto in read.items():
            shard = _moto_stream_shard(table)
            if shard is not None and upto >= 0:
                trim_stream(shard, min(upto, self._stream_pins.get(table, upto)))

    def stream_records(self) -> dict[str, int]:
        """Records of the routed streams: written since the start, still held by moto, dropped."""
        shards = [_moto_stream_shard(table) for table in sorted({m.table_name for m in self._mappings})]
        held = [shard for shard in shards if shard is not None]
        return {
            "written": sum(written(shard) for shard in held),
            "held": sum(len(shard.items) for shard in held),
            "dropped": sum(trimmed(shard) for shard in held),
        }

    # -- SQS event sources ------------------------------------------------------------------

    def _receive(self, queue: _QueueMapping, size: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < size:
            response = self._sqs.receive_message(
                QueueUrl=queue.queue_url,
                MaxNumberOfMessages=min(10, size - len(messages)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            batch = response.get("Messages", [])
            if not batch:
                break
            messages.extend(dict(m) for m in batch)
        return messages

    def _poll(self, queue: _QueueMapping, max_messages: int = 100_000) -> int:
        """Deliver `queue`'s messages to its function, batch by batch, until the queue is empty."""
        size = int(queue.source.properties.get("BatchSize", 10))
        delivered = 0
        while delivered < max_messages:
            if visible_messages(queue.queue_name) == 0:
                return delivered
            messages = self._receive(queue, size)
            if not messages:
                return delivered
            delivered += len(messages)
            records = [to_sqs_record(m, queue.queue_arn) for m in messages]
            failed = self._deliver_batch(queue, records)
            for record in records:
                if record["messageId"] in failed:
                    # The visibility timeout elapses (simulated): the message is received again, and
                    # the RedrivePolicy moves it to the DLQ once received maxReceiveCount times.
                    self._sqs.change_message_visibility(
                        QueueUrl=queue.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                    )
                else:
                    self._sqs.delete_message(QueueUrl=queue.queue_url, ReceiptHandle=record["receiptHandle"])
        raise RuntimeError(f"{queue.function}: more than {max_messages} messages in one settle: a loop?")

    def _deliver(self, mapping: _StreamMapping, records: list[dict[str, Any]]) -> None:
        props = mapping.source.properties
        size = int(props.get("BatchSize", 100))
        for start in range(0, len(records), size):
            self._attempt(
                mapping, records[start : start + size], retries_left=int(props.get("MaximumRetryAttempts", 3))
            )

    def _attempt(self, mapping: _StreamMapping, batch: list[dict[str, Any]], retries_left: int) -> None:
        props = mapping.source.properties
        while batch:
            try:
                response = self.invoke(mapping.function, {"Records": batch})
                failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
                if not failed:
                    return
                first = min(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed)
                batch = batch[first:]
            except Exception:
                if props.get("BisectBatchOnFunctionError") and len(batch) > 1:
                    half = len(batch) // 2
                    self._attempt(mapping, batch[:half], retries_left)
                    self._attempt(mapping, batch[half:], retries_left)
                    return
            if retries_left <= 0:
                self._stream_failure(mapping, batch)
                return
            retries_left -= 1

    def _stream_failure(self, mapping: _StreamMapping, batch: list[dict[str, Any]]) -> None:
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        shard = _moto_stream_shard(mapping.table_name)
        if shard is not None:  # the operator's replay reads these records again: keep them
            at = position(shard, first["SequenceNumber"])
            self._stream_pins[mapping.table_name] = min(self._stream_pins.get(mapping.table_name, at), at)
        self._send_failure(
            "StreamFailureQueue",
            {
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{mapping.function}",
                    "condition": "RetryAttemptsExhausted",
                    "approximateInvokeCount": 1,
                },
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                },
                "version": "1.0",
                "timestamp": self.clock.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "DDBStreamBatchInfo": {
                    "shardId": "local",
                    "startSequenceNumber": first["SequenceNumber"],
                    "endSequenceNumber": last["SequenceNumber"],
                    "approximateArrivalOfFirstRecord": self.clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "approximateArrivalOfLastRecord": self.clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "batchSize": len(batch),
                    "streamArn": mapping.stream_arn,
                },
            },
        )

    def replay_stream_failure(self, failure: Mapping[str, Any]) -> None:
        """Replay one on-failure record's batch through its consumer, as `arrears-ops
        replay-stream-failures` does: the records from start to end sequence number, re-read from
        the stream, delivered with the mapping's retries (a batch that fails again goes back to the
        on-failure destination)."""
        info = failure["DDBStreamBatchInfo"]
        function = str(failure["requestContext"]["functionArn"]).split(":")[6]
        start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
        for mapping in self._mappings:
            if mapping.function != function or mapping.stream_arn != info["streamArn"]:
                continue
            shard = _moto_stream_shard(mapping.table_name)
            if shard is None:  # pragma: no cover (the local cloud runs moto in process)
                raise RuntimeError("replay needs moto in process")
            records = [
                lambda_stream_record(copy.deepcopy(r.to_json()), mapping.stream_arn, self.clock)
                for r in shard.items
                if start <= int(r.to_json()["dynamodb"]["SequenceNumber"]) <= end
            ]
            records = [r for r in records if passes_filters(r, mapping.source.properties)]
            if records:
                retries = int(mapping.source.properties.get("MaximumRetryAttempts", 3))
                self._attempt(mapping, records, retries_left=retries)
            return
        raise KeyError(f"no stream mapping of {function} on {info['streamArn']}")

    # -- time -------------------------------------------------------------------------------

    def advance_to(self, moment: datetime) -> None:
        if moment.astimezone(UTC) < self.clock:
            raise ValueError("the simulated clock never runs backwards")
        new_day = moment.astimezone(UTC).date() != self.clock.date()
        self.clock = moment.astimezone(UTC)
        if new_day and self.expire_ttl:
            from localcloud.lean import expire_ttl_items

            logical = {physical: name for name, physical in self.stack.physical.items()}
            for table, count in expire_ttl_items(self.clock, ACCOUNT, REGION).items():
                name = logical.get(table, table)
                self.ttl_expired[name] = self.ttl_expired.get(name, 0) + count


def _with_json_body(record: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS record with its body parsed when it is JSON (what Lambda's filter patterns match)."""
    try:
        return {**record, "body": json.loads(record["body"])}
    except (TypeError, ValueError):
        return dict(record)


def functions_with(stack: LocalStack, kind: str) -> list[str]:
    return [name for name, spec in stack.functions.items() if any(e.kind == kind for e in spec.events)]


def code_root() -> Path:
    """The repository root (functions/, template.yaml), found from this file."""
    return Path(__file__).resolve().parents[1]
