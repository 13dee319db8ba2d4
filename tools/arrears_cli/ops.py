"""arrears-ops: the on-call engineer's tool (redrive, replay, re-run the sweep, loan history, holds).

Every command works against a deployed stack (``--stack NAME`` reads the stack's outputs and derives
the function names ``<stack>-<name>``) or against explicit names (``--loans-table``, ``--function``
...), which is how the tests drive it on moto. It only uses boto3; the one thing moto cannot do, run a
Lambda function, goes through :data:`Invoker`, a seam the tests replace with the local cloud.

    arrears-ops --stack arrears-prod redrive --dlq FieldVisitDLQ
    arrears-ops --stack arrears-prod replay-stream-failures --queue StreamFailureQueue
    arrears-ops --stack arrears-prod rerun-sweep --business-date 2026-03-02
    arrears-ops --stack arrears-prod history --loan L-000123
    arrears-ops --stack arrears-prod hold --loan L-000123 --hold cease_contact [--until D] [--lift]

The commands are safe to repeat: the handlers are idempotent (a replayed stream batch plans and sends
nothing twice; a re-run sweep for the same business date writes nothing new), a redriven message is
deleted from the dead-letter queue only after it was sent to its source, and a stream failure record
only after its replay succeeded. A hold is sent as a `HoldChanged` event, applied once per request id.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import boto3
from boto3.dynamodb.conditions import Key
from botocore.config import Config
from botocore.exceptions import ClientError

from arrears.adapters.dynamodb import batch_get
from arrears.adapters.streams import lambda_stream_record
from arrears.adapters.tables import all_items
from arrears.domain.calendar import format_utc, parse_utc
from arrears.domain.holds import HoldKind, InvalidHoldChange
from arrears.events.bus import HOLD_DETAIL_TYPE, HOLD_SOURCES, hold_change_from_detail
from arrears_cli.aws_errors import reports_aws_errors

__all__ = [
    "Invoker",
    "OpsError",
    "Resources",
    "history",
    "hold_detail",
    "main",
    "mask_email",
    "mask_name",
    "mask_phone",
    "redrive",
    "replay_stream_failures",
    "rerun_sweep",
    "send_hold",
    "sweep_event",
]

# (function name, event) -> the function's response payload (parsed JSON). Raise on a function error.
Invoker = Callable[[str, dict[str, Any]], Any]

# Stack outputs of template.yaml the tool reads with --stack.
_OUTPUTS = {
    "loans_table": "LoansTableName",
    "borrowers_table": "BorrowersTableName",
    "actions_table": "ActionsTableName",
    "contacts_table": "ContactsTableName",
}
_SQS_BATCH = 10
_DEFAULT_SWEEP_ZONE = "Asia/Shanghai"
_DEFAULT_SWEEP_TIME = time(0, 30)
_MAX_EMPTY_READS = 5


class OpsError(RuntimeError):
    """A command cannot do what was asked (unknown queue, no redrive source, trimmed stream ...)."""


@dataclass
class Resources:
    """Names of the deployed stack's resources (explicit, or read from the stack's outputs)."""

    stack: str = ""
    loans_table: str = ""
    borrowers_table: str = ""
    actions_table: str = ""
    contacts_table: str = ""
    functions: dict[str, str] = field(default_factory=dict)

    def function(self, name: str) -> str:
        """The physical name of function ``name`` (``sweep``, ``planner`` ...)."""
        if name in self.functions:
            return self.functions[name]
        if not self.stack:
            raise OpsError(f"no function name for {name!r}: pass --stack or --function")
        return f"{self.stack}-{name}"

    def table(self, attribute: str) -> str:
        value = str(getattr(self, attribute))
        if not value:
            raise OpsError(
                f"no {attribute.replace('_', ' ')}: pass --stack or --{attribute.replace('_', '-')}"
            )
        return value

    @classmethod
    def from_stack(cls, session: boto3.session.Session, stack: str) -> Resources:
        cloudformation: Any = session.client("cloudformation")
        try:
            described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        except ClientError as error:
            raise OpsError(f"cannot read stack {stack!r}: {error}") from None
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        return cls(stack=stack, **{name: outputs.get(key, "") for name, key in _OUTPUTS.items()})


def lambda_invoker(session: boto3.session.Session) -> Invoker:
    """Synchronous lambda.invoke; a function error becomes an :class:`OpsError`."""
    client: Any = session.client("lambda", config=Config(read_timeout=900, retries={"max_attempts": 0}))

    def invoke(function: str, event: dict[str, Any]) -> Any:
        response = client.invoke(
            FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
        payload = response["Payload"].read()
        result = json.loads(payload) if payload else None
        if response.get("FunctionError"):
            raise OpsError(f"{function} failed: {result}")
        return result

    return invoke


# --------------------------------------------------------------------------------------------------
# redrive: dead-letter queue -> its source queue
# --------------------------------------------------------------------------------------------------
def queue_url(sqs: Any, name_or_url: str) -> str:
    if name_or_url.startswith(("https://", "http://")):
        return name_or_url
    try:
        return str(sqs.get_queue_url(QueueName=name_or_url)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        raise OpsError(f"no queue named {name_or_url!r}") from None


def _find_queue(sqs: Any, stack: str, logical_id: str) -> str:
    """The URL of the stack's queue whose generated name contains ``logical_id``."""
    # CloudFormation names a queue <stack>-<LogicalId>-<random>[.fifo]
    pattern = re.compile(rf"-{re.escape(logical_id)}(-[A-Za-z0-9]+)?(\.fifo)?$")
    urls = [
        url
        for url in sqs.list_queues(QueueNamePrefix=stack).get("QueueUrls", [])
        if pattern.search(url.rsplit("/", 1)[-1])
    ]
    if len(urls) != 1:
        raise OpsError(f"expected one queue {logical_id} of stack {stack}, found {urls}")
    return str(urls[0])


def _give_back(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    """Make messages received a second time (already handled in this run) visible again at once."""
    for message in messages:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )


def _each_message_once(
    sqs: Any, url: str, batch_size: Callable[[], int], **receive: Any
) -> Iterator[dict[str, Any]]:
    """Every message of the queue at most once in this run (a message received again is given back).

    `batch_size()` is asked before each receive (0 stops), so a caller with a limit never holds
    more messages invisible than it will handle.
    """
    seen: set[str] = set()
    while (size := batch_size()) > 0:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=size, WaitTimeSeconds=0, VisibilityTimeout=60, **receive
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        _give_back(sqs, url, [m for m in messages if m["MessageId"] in seen])
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message


def redrive_source(sqs: Any, dlq_url: str) -> str:
    """The queue whose redrive policy names this DLQ (exactly one)."""
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
    if len(sources) != 1:
        raise OpsError(f"{dlq_url} is the dead-letter queue of {len(sources)} queues; pass --to")
    return str(sources[0])


def _body(text: str) -> Any:
    """A message body as JSON when it is JSON, else the text as received."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _give_back_looked_at(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    """Make the messages a dry run held visible again (one whose 60 s already ran out is visible)."""
    for message in messages:
        try:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        except ClientError:
            continue


def redrive(
    sqs: Any, dlq_url: str, *, target_url: str | None = None, limit: int | None = None, dry_run: bool = False
) -> dict[str, Any]:
    """Move messages from ``dlq_url`` to its redrive source (or ``target_url``).

    Body and message attributes are kept; for a FIFO queue the group id and deduplication id too, so
    the consumer still sees one ordered stream per group and the same deduplication id (note: SQS drops
    a message whose deduplication id it saw in the last 5 minutes). Each message is deleted from the
    DLQ only after it was sent.

    A dry run sends and deletes nothing: it answers each message's id and body (``messages``), holding
    the messages it received invisible until it has read the queue (so that each receive brings new
    ones), then makes them all visible again. On a FIFO queue SQS hands out no further message of a
    group while earlier ones of that group are held, so it lists only the first messages of each group.
    """
    target = target_url or redrive_source(sqs, dlq_url)
    fifo = target.endswith(".fifo")
    moved = 0
    looked_at: list[dict[str, Any]] = []
    try:
        for message in _each_message_once(
            sqs,
            dlq_url,
            lambda: _SQS_BATCH if limit is None else min(_SQS_BATCH, limit - moved),  # noqa: B023 (late binding wanted)
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
        ):
            if dry_run:  # look; the message is given back with the others at the end
                looked_at.append(message)
                moved += 1
                continue
            request: dict[str, Any] = {"QueueUrl": target, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                request["MessageAttributes"] = message["MessageAttributes"]
            if fifo:
                attributes = message.get("Attributes", {})
                request["MessageGroupId"] = attributes.get("MessageGroupId", "redrive")
                request["MessageDeduplicationId"] = attributes.get(
                    "MessageDeduplicationId", message["MessageId"]
                )
            sqs.send_message(**request)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    finally:
        _give_back_looked_at(sqs, dlq_url, looked_at)
    result: dict[str, Any] = {"dlq": dlq_url, "target": target, "moved": moved, "dry_run": dry_run}
    if dry_run:
        result["messages"] = [
            {"message_id": message["MessageId"], "body": _body(message["Body"])} for message in looked_at
        ]
    return result


# --------------------------------------------------------------------------------------------------
# replay-stream-failures: on-failure records -> re-read the stream -> invoke the consumer again
# --------------------------------------------------------------------------------------------------
def _shards_holding(streams: Any, stream_arn: str, shard_id: str, start: str) -> list[str]:
    """The shard to read: the named one if the stream has it, else every shard (searched in order)."""
    shards: list[dict[str, Any]] = []
    request: dict[str, Any] = {"StreamArn": stream_arn}
    while True:
        description = streams.describe_stream(**request)["StreamDescription"]
        shards.extend(description.get("Shards", []))
        last = description.get("LastEvaluatedShardId")
        if not last:
            break
        request["ExclusiveStartShardId"] = last
    ids = [s["ShardId"] for s in shards]
    if shard_id in ids:
        return [shard_id]
    starting = [
        s["ShardId"]
        for s in shards
        if int(s["SequenceNumberRange"]["StartingSequenceNumber"]) <= int(start)
        and int(s["SequenceNumberRange"].get("EndingSequenceNumber", start)) >= int(start)
    ]
    return starting or ids


def read_stream_batch(streams: Any, info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The records ``startSequenceNumber..endSequenceNumber`` of the batch, in the Lambda shape."""
    stream_arn = str(info["streamArn"])
    start, end = str(info["startSequenceNumber"]), str(info["endSequenceNumber"])
    for shard in _shards_holding(streams, stream_arn, str(info.get("shardId", "")), start):
        try:
            iterator = streams.get_shard_iterator(
                StreamArn=stream_arn,
                ShardId=shard,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=start,
            ).get("ShardIterator")
        except streams.exceptions.TrimmedDataAccessException:
            raise OpsError(
                f"records from {start} on {shard} are older than the stream's 24 h retention: rebuild "
                "them from the table (see docs/runbooks/stream-failures.md)"
            ) from None
        except Exception as error:  # the sequence number is not in this shard
            if "sequence" in str(error).lower() or "shard" in str(error).lower():
                continue
            raise
        records: list[dict[str, Any]] = []
        empty = 0
        while iterator and empty < _MAX_EMPTY_READS:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            iterator = page.get("NextShardIterator")
            if not page.get("Records"):
                empty += 1
                continue
            for record in page["Records"]:
                sequence = int(record["dynamodb"]["SequenceNumber"])
                if sequence > int(end):
                    return records
                if sequence >= int(start):
                    records.append(lambda_stream_record(record, stream_arn))
            if records and int(records[-1]["dynamodb"]["SequenceNumber"]) == int(end):
                return records
        if records:
            return records
    raise OpsError(f"no records {start}..{end} found in {stream_arn}")


def _function_of(failure: Mapping[str, Any]) -> str:
    arn = str(failure.get("requestContext", {}).get("functionArn", ""))
    # arn:aws:lambda:region:account:function:NAME[:qualifier]
    parts = arn.split(":")
    if len(parts) < 7:
        raise OpsError(f"on-failure record without a function ARN: {arn!r}")
    return parts[6]


def replay_stream_failures(
    sqs: Any,
    streams: Any,
    failure_queue_url: str,
    invoke: Invoker,
    *,
    function: str | None = None,
    limit: int | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Replay every stream batch of the on-failure queue through its consumer function.

    A failure record is deleted once its consumer accepted the whole batch (no ``batchItemFailures``);
    otherwise it stays in the queue (visible again after 60 s) and the command reports it.
    """
    replayed: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for message in _each_message_once(
        sqs,
        failure_queue_url,
        lambda: _SQS_BATCH if limit is None or len(replayed) + len(kept) < limit else 0,
    ):
        failure = json.loads(message["Body"])
        info = failure.get("DDBStreamBatchInfo")
        if info is None:
            kept.append({"message_id": message["MessageId"], "error": "not a DynamoDB stream failure"})
            continue
        target = function or _function_of(failure)
        summary: dict[str, Any] = {
            "message_id": message["MessageId"],
            "function": target,
            "start": info["startSequenceNumber"],
            "end": info["endSequenceNumber"],
        }
        try:
            records = read_stream_batch(streams, info)
            summary["records"] = len(records)
            if dry_run:
                sqs.change_message_visibility(
                    QueueUrl=failure_queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
                replayed.append(summary)
                continue
            response = invoke(target, {"Records": records})
        except OpsError as error:
            kept.append({**summary, "error": str(error)})
            continue
        failures = (response or {}).get("batchItemFailures", []) if isinstance(response, dict) else []
        if failures:
            kept.append({**summary, "error": f"{len(failures)} records failed again", "failed": failures})
            continue
        sqs.delete_message(QueueUrl=failure_queue_url, ReceiptHandle=message["ReceiptHandle"])
        replayed.append(summary)
    return {"queue": failure_queue_url, "replayed": replayed, "kept": kept, "dry_run": dry_run}


# --------------------------------------------------------------------------------------------------
# rerun-sweep
# --------------------------------------------------------------------------------------------------
def sweep_event(
    business_date: date, *, zone: str = _DEFAULT_SWEEP_ZONE, at: time = _DEFAULT_SWEEP_TIME
) -> dict[str, Any]:
    """What the daily schedule delivers for ``business_date`` (00:30 of ``zone``, the stack's SweepTimezone).

    The shape of the schedule's Input in template.yaml, with the scheduled time of that date's run.
    """
    moment = datetime.combine(business_date, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return {
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "schedule": f"arrears-ops rerun-sweep {business_date.isoformat()}",
        "attempt": "1",
    }


def rerun_sweep(
    invoke: Invoker,
    function: str,
    business_date: date,
    *,
    zone: str = _DEFAULT_SWEEP_ZONE,
    at: time = _DEFAULT_SWEEP_TIME,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Invoke the sweep with the scheduled event of `business_date`; refused (OpsError) for a date
    whose run is still to come at `now`: a sweep ahead of its date would assess every due loan on a
    future day (days past due, penalties, charge-off) and plan contacts for it."""
    event = sweep_event(business_date, zone=zone, at=at)
    if now is not None and datetime.fromisoformat(event["time"]) > now:
        raise OpsError(
            f"business date {business_date.isoformat()} is in the future: its sweep runs at "
            f"{event['time']} ({at:%H:%M} in {zone}) and it is {now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} now"
        )
    response = invoke(function, event)
    return {
        "function": function,
        "business_date": business_date.isoformat(),
        "event_time": event["time"],
        "response": response,
    }


# --------------------------------------------------------------------------------------------------
# history: a loan's actions and contacts, personal data masked
# --------------------------------------------------------------------------------------------------
def mask_phone(phone: str) -> str:
    """``+8613800138000`` -> ``+86*******8000``: country code and last four digits only."""
    if not phone:
        return ""
    keep_head = 3 if phone.startswith("+") else 0
    if len(phone) <= keep_head + 4:
        return "*" * len(phone)
    return phone[:keep_head] + "*" * (len(phone) - keep_head - 4) + phone[-4:]


def mask_email(email: str) -> str:
    """``xiaoming.wang@example.cn`` -> ``x***@example.cn``."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_name(name: str) -> str:
    """``王小明`` -> ``王**``; ``Jane Doe`` -> ``J*******``."""
    return name[:1] + "*" * (len(name) - 1) if name else ""


# Fields of action and contact items that the history shows; everything else (including any field a
# later change might add, which could carry personal data) is left out.
_ACTION_FIELDS = (
    "action_id", "channel", "step_id", "template_id", "cycle", "status", "planned_at", "not_before",
    "strategy_id", "strategy_version", "strategy_arm", "dpd", "bucket", "amount_due_minor", "currency",
    "reason", "last_outcome", "version",
)  # fmt: skip
_CONTACT_FIELDS = (
    "contact_id", "action_id", "channel", "step", "status", "occurred_at", "borrower_timezone",
    "borrower_local_time", "jurisdiction", "rule_pack", "strategy", "dpd", "bucket", "amount_due_minor",
    "currency", "reason", "template_id", "message_sha256", "rules_checked", "archived_in",
)  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def history(dynamodb: Any, resources: Resources, loan_id: str) -> dict[str, Any]:
    """Loan status, masked borrower, actions (by planned time) and contacts (by time) of ``loan_id``."""
    loan = dynamodb.Table(resources.table("loans_table")).get_item(Key={"loan_id": loan_id}).get("Item")
    # LoanActionsIndex holds keys only: the ids in planned order, then the actions from the table.
    actions_table = dynamodb.Table(resources.table("actions_table"))
    ids = [
        str(item["action_id"])
        for item in all_items(
            actions_table.query,
            IndexName="LoanActionsIndex",
            KeyConditionExpression=Key("loan_id").eq(loan_id),
        )
    ]
    found = {str(item["action_id"]): item for item in batch_get(actions_table, "action_id", ids)}
    actions = [found[action_id] for action_id in ids if action_id in found]
    contacts = list(
        all_items(
            dynamodb.Table(resources.table("contacts_table")).query,
            KeyConditionExpression=Key("loan_id").eq(loan_id),
        )
    )
    if loan is None and not actions and not contacts:
        raise OpsError(f"no loan {loan_id!r}, and no actions or contacts for it")
    borrower_id = next(
        (str(item["borrower_id"]) for item in [loan or {}, *actions, *contacts] if item.get("borrower_id")),
        "",
    )
    borrower: dict[str, Any] | None = None
    if borrower_id:
        item = (
            dynamodb.Table(resources.table("borrowers_table"))
            .get_item(Key={"borrower_id": borrower_id})
            .get("Item")
        )
        if item is not None:
            borrower = {
                "borrower_id": borrower_id,
                "name": mask_name(str(item.get("name", ""))),
                "phone": mask_phone(str(item.get("phone", ""))),
                "email": mask_email(str(item.get("email", ""))),
                "address": "***" if item.get("address") else "",
                "timezone": item.get("timezone", ""),
                "language": item.get("language", ""),
                "opted_out_channels": sorted(item.get("opted_out_channels", [])),
            }
    summary = None
    if loan is not None:
        summary = {
            name: _plain(loan[name])
            for name in (
                "loan_id",
                "jurisdiction",
                "currency",
                "status",
                "dpd",
                "bucket",
                "penalty_accrued_minor",
            )
            if name in loan
        }
    return {
        "loan": summary,
        "borrower": borrower,
        "actions": sorted(
            ({k: _plain(a[k]) for k in _ACTION_FIELDS if k in a} for a in actions),
            key=lambda a: (str(a.get("planned_at", "")), str(a.get("action_id", ""))),
        ),
        "contacts": sorted(
            ({k: _plain(c[k]) for k in _CONTACT_FIELDS if k in c} for c in contacts),
            key=lambda c: (str(c.get("occurred_at", "")), str(c.get("contact_id", ""))),
        ),
    }


# --------------------------------------------------------------------------------------------------
# hold: record a hold (promise to pay, hardship, dispute, cease contact, bankruptcy, death) on a loan
# --------------------------------------------------------------------------------------------------
def hold_detail(
    loan_id: str,
    hold: str,
    *,
    active: bool,
    until: date | None,
    request_id: str,
    at: datetime,
    now: datetime,
) -> dict[str, Any]:
    """The `HoldChanged` detail, checked by the rule the holds function applies (refused before sending)."""
    detail: dict[str, Any] = {
        "request_id": request_id,
        "loan_id": loan_id,
        "hold": hold,
        "active": active,
        "occurred_at": format_utc(at),
    }
    if until is not None:
        detail["until"] = until.isoformat()
    try:
        hold_change_from_detail(detail, received_at=now)
    except InvalidHoldChange as error:
        raise OpsError(f"not a valid hold change: {error}") from None
    return detail


def send_hold(events: Any, bus: str, detail: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    """Put one `HoldChanged` event on the loan-events bus; the holds function applies it (asynchronously)."""
    try:
        response = events.put_events(
            Entries=[
                {
                    "EventBusName": bus,
                    "Source": source,
                    "DetailType": HOLD_DETAIL_TYPE,
                    "Detail": json.dumps(dict(detail)),
                }
            ]
        )
    except ClientError as error:
        raise OpsError(f"cannot put the event on {bus!r}: {error}") from None
    if response.get("FailedEntryCount"):
        raise OpsError(f"EventBridge refused the event: {response['Entries']}")
    return {
        "bus": bus,
        "source": source,
        "event_id": str(response["Entries"][0].get("EventId", "")),
        "detail": dict(detail),
    }


# --------------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arrears-ops", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="", help="deployed stack name (reads its outputs)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--profile", default=None)
    for name in _OUTPUTS:
        parser.add_argument(f"--{name.replace('_', '-')}", default="", help="overrides the stack output")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("redrive", help="move messages from a dead-letter queue to its source")
    p.add_argument("--dlq", required=True, help="queue URL, queue name, or the logical id with --stack")
    p.add_argument("--to", default=None, help="target queue (default: the DLQ's redrive source)")
    p.add_argument("--max", type=int, default=None, dest="limit")
    p.add_argument(
        "--dry-run", action="store_true", help="list each message's id and body; move and delete nothing"
    )

    p = commands.add_parser("replay-stream-failures", help="re-run failed DynamoDB stream batches")
    p.add_argument("--queue", default="StreamFailureQueue", help="on-failure queue URL, name or logical id")
    p.add_argument("--function", default=None, help="consumer to invoke (default: the one that failed)")
    p.add_argument("--max", type=int, default=None, dest="limit")
    p.add_argument("--dry-run", action="store_true")

    p = commands.add_parser("rerun-sweep", help="invoke the sweep for a business date")
    p.add_argument("--business-date", required=True, type=date.fromisoformat)
    p.add_argument("--function", default=None, help="sweep function name (default: <stack>-sweep)")
    p.add_argument(
        "--timezone", default=_DEFAULT_SWEEP_ZONE, help="the stack's SweepTimezone (zone of the 00:30 run)"
    )
    p.add_argument("--time", default="00:30", type=time.fromisoformat, dest="at", help="local run time")

    p = commands.add_parser("history", help="actions and contacts of a loan, personal data masked")
    p.add_argument("--loan", required=True)

    p = commands.add_parser(
        "hold", help="set (or --lift) a hold on a loan: puts a HoldChanged event on the loan-events bus"
    )
    p.add_argument("--loan", required=True)
    p.add_argument("--hold", required=True, choices=[kind.value for kind in HoldKind])
    p.add_argument(
        "--until", type=date.fromisoformat, default=None, help="last day of a promise_to_pay or hardship"
    )
    p.add_argument("--lift", action="store_true", help="lift the hold instead of setting it")
    p.add_argument("--request-id", default=None, help="idempotency key (default: a new HOLD-<uuid>)")
    p.add_argument("--at", default=None, help="when the change was made, UTC ISO 8601 (default: now)")
    p.add_argument("--source", default="arrears.collections", choices=list(HOLD_SOURCES))
    p.add_argument("--bus", default=None, help="event bus name (default: <stack>-loan-events)")
    return parser


def _resolve_queue(sqs: Any, stack: str, value: str) -> str:
    if not stack or value.startswith(("http", stack)):
        return queue_url(sqs, value)
    try:
        return queue_url(sqs, value)
    except OpsError:
        return _find_queue(sqs, stack, value)


def _hold(args: argparse.Namespace, session: boto3.session.Session, now: datetime) -> dict[str, Any]:
    bus = args.bus or (f"{args.stack}-loan-events" if args.stack else "")
    if not bus:
        raise OpsError("no event bus: pass --stack or --bus")
    try:
        at = parse_utc(args.at) if args.at else now
    except ValueError as error:
        raise OpsError(f"--at: {error}") from None
    detail = hold_detail(
        args.loan,
        args.hold,
        active=not args.lift,
        until=args.until,
        request_id=args.request_id or f"HOLD-{uuid.uuid4()}",
        at=at,
        now=now,
    )
    return send_hold(session.client("events"), bus, detail, source=args.source)


@reports_aws_errors("arrears-ops")
def main(
    argv: Sequence[str] | None = None,
    *,
    invoker: Invoker | None = None,
    clock: Callable[[], datetime] | None = None,
) -> int:
    """Run one command; `invoker` and `clock` are the seams the tests replace (Lambda, the time now)."""
    args = _parser().parse_args(argv)
    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    try:
        resources = Resources(stack=args.stack, **{name: getattr(args, name) for name in _OUTPUTS})
        if args.command == "history" and args.stack and not all(getattr(args, name) for name in _OUTPUTS):
            # Only history needs the tables: read them from the stack's outputs, explicit names win.
            outputs = Resources.from_stack(session, args.stack)
            for name in _OUTPUTS:
                setattr(resources, name, getattr(args, name) or getattr(outputs, name))

        built: list[Invoker] = []

        def invoke(function: str, event: dict[str, Any]) -> Any:  # a Lambda client only when one is used
            if not built:
                built.append(invoker or lambda_invoker(session))
            return built[0](function, event)

        result: dict[str, Any]
        if args.command == "redrive":
            sqs: Any = session.client("sqs")
            dlq = _resolve_queue(sqs, args.stack, args.dlq)
            target = _resolve_queue(sqs, args.stack, args.to) if args.to else None
            result = redrive(sqs, dlq, target_url=target, limit=args.limit, dry_run=args.dry_run)
        elif args.command == "replay-stream-failures":
            sqs = session.client("sqs")
            result = replay_stream_failures(
                sqs,
                session.client("dynamodbstreams"),
                _resolve_queue(sqs, args.stack, args.queue),
                invoke,
                function=args.function,
                limit=args.limit,
                dry_run=args.dry_run,
            )
        elif args.command == "hold":
            result = _hold(args, session, (clock or (lambda: datetime.now(UTC)))())
        elif args.command == "rerun-sweep":
            function = args.function or resources.function("sweep")
            now = (clock or (lambda: datetime.now(UTC)))()
            result = rerun_sweep(
                invoke, function, args.business_date, zone=args.timezone, at=args.at, now=now
            )
        else:
            result = history(session.resource("dynamodb"), resources, args.loan)
    except OpsError as error:
        print(f"arrears-ops: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return 1 if result.get("kept") else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
