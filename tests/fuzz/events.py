"""Generated events for each handler, in its trigger's real shape (tests/fuzz).

Each generator yields `(event, bad)` per invocation, where `bad` says per event (a bus or schedule
event) or per record (a batch) what the generator knows: True for input that must be rejected (a bad
field put there on purpose, an unknown loan, a time from the future), False for input that must be
accepted, None for a random mutation whose fate the generator does not know. The mix keeps the
well-formed share (which reaches DynamoDB, ~1-70 ms an event on moto) small: most events are
rejected by parsing, which is what the suite's budget allows 10,000 of per handler.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.fuzz.corpus import (
    CANARY,
    FAR_FUTURE_TIMES,
    FAR_PAST_TIMES,
    MALFORMED_TIMES,
    Fuzz,
    utc_text,
)
from tests.fuzz.harness import KNOWN_BORROWERS, KNOWN_LOANS, START

SAMPLES = Path(__file__).resolve().parents[2] / "events"
CURRENCY = {KNOWN_LOANS[0]: "CNY", KNOWN_LOANS[1]: "USD"}

Generated = tuple[Any, Any]  # (event, bad): bad is a bool | None, or a list of them for a batch


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return event


def recent(fz: Fuzz, hours: int = 72) -> str:
    return utc_text(START - timedelta(seconds=fz.random.randrange(60, hours * 3600)))


def bus_event(i: int, detail_type: str, source: str, detail: Any, time: Any = None) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"fz-{i:06d}",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": utc_text(START) if time is None else time,
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def garbage(fz: Fuzz) -> Any:
    """Not an event at all: a list, a string, a number, null, or an object of junk."""
    return fz.pick(([], "{", None, 7, [{"detail": {}}], {"Records": "x"}, {fz.string(): fz.junk()}))


def spoiled(fz: Fuzz, event: dict[str, Any], key: str, values: tuple[Any, ...]) -> dict[str, Any]:
    """`event` with `key` replaced by one of `values` and up to two more random mutations."""
    changed = fz.mutate(event, fz.random.randrange(3))
    if isinstance(changed, dict):
        changed[key] = fz.pick(values)
    return changed  # type: ignore[no-any-return]


# -- payments: PaymentReceived and PaymentReversed -----------------------------------------------------
def payments(fz: Fuzz, count: int) -> Iterator[Generated]:
    paid: list[dict[str, Any]] = []  # well-formed payments sent, for duplicates and reversals
    for i in range(count):
        loan_id = fz.pick(KNOWN_LOANS)
        detail: dict[str, Any] = {
            "payment_id": f"PAY-FZ-{i:06d}",
            "loan_id": loan_id,
            "amount_minor": fz.random.randrange(1, 20_000),
            "currency": CURRENCY[loan_id],
            "paid_at": recent(fz),
        }
        roll = fz.random.random()
        if roll < 0.002:
            paid.append(detail)
            yield bus_event(i, "PaymentReceived", "arrears.lending-core", detail), False
        elif roll < 0.003 and paid:  # a redelivery: the same payment again
            yield bus_event(i, "PaymentReceived", "arrears.lending-core", dict(fz.pick(paid))), False
        elif roll < 0.0035 and paid:  # the same id with another amount: the ledger's first one stands
            again = {**fz.pick(paid), "amount_minor": fz.random.randrange(1, 10**9)}
            yield bus_event(i, "PaymentReceived", "arrears.lending-core", again), None
        elif roll < 0.0045 and paid:
            original = fz.pick(paid)
            reversal = {
                "payment_id": original["payment_id"],
                "loan_id": original["loan_id"],
                "reason": "RETURNED",
            }
            yield bus_event(i, "PaymentReversed", "arrears.lending-core", reversal), False
        elif roll < 0.03:
            unknown = {**detail, "loan_id": fz.pick((f"L-UNKNOWN-{i}", fz.string()))}
            yield bus_event(i, "PaymentReceived", "arrears.lending-core", unknown), True
        elif roll < 0.032:
            wrong = {**detail, "currency": fz.pick(("EUR", "cny", "US", "", "USDX"))}
            yield bus_event(i, "PaymentReceived", "arrears.lending-core", wrong), True
        elif roll < 0.20:
            bad_amount = {
                **detail,
                "amount_minor": fz.pick(
                    (
                        0,
                        -1,
                        -(10**12),
                        10**15 + 1,
                        10**30,
                        10**400,
                        1.5,
                        "100",
                        float("nan"),
                        float("inf"),
                        True,
                        None,
                    )
                ),
            }
            yield bus_event(i, "PaymentReceived", "arrears.lending-core", bad_amount), True
        elif roll < 0.28:
            future = {**detail, "paid_at": fz.pick(FAR_FUTURE_TIMES)}
            yield bus_event(i, "PaymentReceived", "arrears.lending-core", future), True
        elif roll < 0.34:
            when = {**detail, "paid_at": fz.pick(MALFORMED_TIMES)}
            bad = None if when["paid_at"] in (None, "") else True  # absent: the event's time stands in
            yield bus_event(i, "PaymentReceived", "arrears.lending-core", when), bad
        elif roll < 0.37:
            reversal = {"payment_id": fz.string(), "loan_id": loan_id, "reversed_at": fz.time(START)}
            yield (
                bus_event(
                    i, "PaymentReversed", "arrears.lending-core", fz.mutate(reversal, fz.random.randrange(2))
                ),
                None,
            )
        elif roll < 0.39:
            yield garbage(fz), True
        else:
            # an unknown loan: a mutation that still parses is refused by a cheap read
            detail["loan_id"] = f"L-UNKNOWN-{i}"
            event = bus_event(i, "PaymentReceived", "arrears.lending-core", detail)
            yield (
                spoiled(fz, event, "detail", (fz.mutate(detail, 1 + fz.random.randrange(3)), fz.junk())),
                None,
            )


# -- holds: HoldChanged -----------------------------------------------------------------------------------
HOLDS = ("promise_to_pay", "hardship", "dispute", "cease_contact", "bankruptcy", "deceased")


def holds(fz: Fuzz, count: int) -> Iterator[Generated]:
    for i in range(count):
        hold = fz.pick(HOLDS)
        detail: dict[str, Any] = {
            "request_id": f"HOLD-FZ-{i:06d}",
            "loan_id": f"L-UNKNOWN-{i}",
            "hold": hold,
            "active": False,  # a lift: the known loans stay contactable for the other handlers
            "occurred_at": recent(fz, 24),
        }
        roll = fz.random.random()
        if roll < 0.003:
            yield (
                bus_event(
                    i, "HoldChanged", "arrears.collections", {**detail, "loan_id": fz.pick(KNOWN_LOANS)}
                ),
                False,
            )
        elif roll < 0.03:
            yield bus_event(i, "HoldChanged", "arrears.collections", detail), True  # an unknown loan
        elif roll < 0.14:
            future = {
                **detail,
                "loan_id": fz.pick(KNOWN_LOANS),
                "active": True,
                "occurred_at": fz.pick(FAR_FUTURE_TIMES),
            }
            yield bus_event(i, "HoldChanged", "arrears.collections", future), True
        elif roll < 0.22:
            bad = {
                **detail,
                "loan_id": fz.pick(KNOWN_LOANS),
                "active": True,
                "hold": "promise_to_pay",
                "until": fz.pick(("2026-02-30", "tomorrow", "2026-3-6", "", 20260306, "9999-99-99")),
            }
            yield bus_event(i, "HoldChanged", "arrears.collections", bad), True
        elif roll < 0.30:
            extra = {**detail, "loan_id": fz.pick(KNOWN_LOANS), "untill": "2026-03-06", "name": CANARY}
            yield bus_event(i, "HoldChanged", "arrears.collections", extra), True
        elif roll < 0.32:
            yield garbage(fz), True
        else:
            event = bus_event(i, "HoldChanged", "arrears.collections", detail)
            yield (
                spoiled(
                    fz, event, "detail", (fz.mutate(event["detail"], 1 + fz.random.randrange(3)), fz.junk())
                ),
                None,
            )


# -- erasure: ErasureRequested ----------------------------------------------------------------------------
def erasures(fz: Fuzz, count: int) -> Iterator[Generated]:
    for i in range(count):
        detail = {
            "request_id": f"ER-FZ-{i:06d}",
            "borrower_id": f"B-UNKNOWN-{i}",
            "requested_at": recent(fz, 2),
        }
        roll = fz.random.random()
        if roll < 0.005:  # an unknown borrower: nothing to erase, audited all the same
            yield bus_event(i, "ErasureRequested", "arrears.privacy", detail), False
        elif roll < 0.10:
            future = {**detail, "requested_at": fz.pick(FAR_FUTURE_TIMES)}
            yield bus_event(i, "ErasureRequested", "arrears.privacy", future), True
        elif roll < 0.16:
            yield (
                bus_event(
                    i,
                    "ErasureRequested",
                    "arrears.privacy",
                    {**detail, "borrower_id": fz.pick(("", "A" * 129, None, 7))},
                ),
                True,
            )
        elif roll < 0.18:
            yield garbage(fz), True
        else:
            event = bus_event(i, "ErasureRequested", "arrears.privacy", detail)
            # never a known borrower: their personal data is what the log check looks for
            mutated = spoiled(fz, event, "detail", (fz.mutate(detail, 1 + fz.random.randrange(3)), fz.junk()))
            yield mutated, None


# -- call outcomes: CallOutcome -------------------------------------------------------------------------
def call_outcomes(fz: Fuzz, count: int) -> Iterator[Generated]:
    sent: list[dict[str, Any]] = []
    for i in range(count):
        detail: dict[str, Any] = {
            "call_id": f"CALL-FZ-{i:06d}",
            "action_id": f"ACT-UNKNOWN-{i}",
            "borrower_id": f"B-UNKNOWN-{i}",
            "occurred_at": recent(fz, 2),
            "connected": fz.chance(0.5),
            "conversation": False,
        }
        roll = fz.random.random()
        # A well-formed report of a task that was never queued (unknown action) is refused by the
        # dialer contract (nothing written, logged, to the failure queue): bad, like a redelivery of it.
        if roll < 0.005:
            sent.append(detail)
            yield bus_event(i, "CallOutcome", "arrears.dialer", detail), True
        elif roll < 0.007 and sent:
            yield bus_event(i, "CallOutcome", "arrears.dialer", dict(fz.pick(sent))), True
        elif roll < 0.11:
            future = {
                **detail,
                "borrower_id": fz.pick(KNOWN_BORROWERS),
                "occurred_at": fz.pick(FAR_FUTURE_TIMES),
            }
            yield bus_event(i, "CallOutcome", "arrears.dialer", future), True
        elif roll < 0.17:
            wrong = {
                **detail,
                "connected": fz.pick(("yes", 1, None, "true")),
                "borrower_id": fz.pick(KNOWN_BORROWERS),
            }
            yield bus_event(i, "CallOutcome", "arrears.dialer", wrong), True
        elif roll < 0.21:
            empty = {
                **detail,
                fz.pick(("call_id", "action_id", "borrower_id")): fz.pick(("", None, 0, [], "A" * 70_000)),
            }
            yield bus_event(i, "CallOutcome", "arrears.dialer", empty), True
        elif roll < 0.23:
            yield garbage(fz), True
        else:
            event = bus_event(i, "CallOutcome", "arrears.dialer", detail)
            yield (
                spoiled(
                    fz, event, "detail", (fz.mutate(event["detail"], 1 + fz.random.randrange(3)), fz.junk())
                ),
                None,
            )


# -- schedules ----------------------------------------------------------------------------------------
def scheduler_invocations(fz: Fuzz, count: int, *, well_formed: float) -> Iterator[Generated]:
    """EventBridge Scheduler Inputs (sweep, sweep-deadline): `well_formed` is the share with a time at
    or before the clock (a late or re-run schedule: accepted); a far-future one must be rejected."""
    for _ in range(count):
        event: dict[str, Any] = {
            "time": recent(fz, 24 * 30),
            "schedule": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/fz",
            "attempt": "1",
        }
        roll = fz.random.random()
        if roll < well_formed:
            yield event, False
        elif roll < well_formed + 0.2:
            yield {**event, "time": fz.pick(FAR_FUTURE_TIMES)}, True
        elif roll < well_formed + 0.25:
            yield garbage(fz), True
        else:
            mutated = fz.mutate(event, fz.random.randrange(3))
            if isinstance(mutated, dict):
                mutated["time"] = fz.pick((*MALFORMED_TIMES, fz.junk()))
            bad = isinstance(mutated, dict) and mutated.get("time") not in FAR_PAST_TIMES
            yield mutated, True if bad else None


def scheduled_events(fz: Fuzz, count: int) -> Iterator[Generated]:
    """EventBridge rule Scheduled Events (deferred-release): the time is not used, the shape is checked."""
    base = sample("deferred_release/scheduled.json")
    for i in range(count):
        event = {**copy.deepcopy(base), "id": f"fz-{i:06d}", "time": recent(fz, 1)}
        roll = fz.random.random()
        if roll < 0.005:
            yield event, False
        elif roll < 0.04:
            yield garbage(fz), True
        else:
            key = fz.pick(("time", "source", "detail-type"))
            values = {
                "time": (*MALFORMED_TIMES,),
                "source": ("aws.evil", "", None, 1),
                "detail-type": ("Scheduled", None, ""),
            }
            yield spoiled(fz, event, key, values[key]), True


# -- batches ------------------------------------------------------------------------------------------
def sqs_record(i: int, body: Any) -> dict[str, Any]:
    return {
        "messageId": f"msg-fz-{i:06d}",
        "receiptHandle": "AQEBfuzz==",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1772679600000",
            "SenderId": "AROAFUZZ",
            "ApproximateFirstReceiveTimestamp": "1772679600000",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:arrears-SweepTasksQueue",
        "awsRegion": "us-east-1",
    }


def sweep_tasks(fz: Fuzz, count: int, batch: int = 10) -> Iterator[Generated]:
    """sweep-tasks messages in SQS batches: malformed JSON, wrong types, shards out of range, tasks from
    the future, duplicates; a few well-formed tasks of a recent date."""
    i = 0
    while i < count:
        records, bad = [], []
        for _ in range(min(batch, count - i)):
            task: dict[str, Any] = {
                "business_time": recent(fz, 24 * 3),
                "shard": fz.random.randrange(16),
                "shard_count": 16,
            }
            roll = fz.random.random()
            if roll < 0.002:
                body, known = json.dumps(task), False
            elif roll < 0.003:
                census = {**task, "kind": "census", "counts": {"CN": {"M1": 1}}}
                body, known = json.dumps(census), False
            elif roll < 0.15:
                body, known = json.dumps({**task, "business_time": fz.pick(FAR_FUTURE_TIMES)}), True
            elif roll < 0.30:
                body, known = (
                    fz.pick(
                        (
                            "",
                            "{",
                            "null",
                            "[]",
                            '"task"',
                            '{"shard": 1,}',
                            "\x00",
                            "x" * 262_144,
                            json.dumps({"kind": "unknown"}),
                            json.dumps({"kind": fz.string()}),
                        )
                    ),
                    True,
                )
            elif roll < 0.45:
                # out of range for its field (16 is a shard count, not a shard of 16)
                wrong = fz.pick(
                    (
                        {**task, "shard": fz.pick((-1, 16, 10**30, "1", 1.0, True, None))},
                        {**task, "shard_count": fz.pick((-1, 0, 10**30, "16", 16.0, True, None))},
                    )
                )
                body, known = json.dumps(wrong), True
            else:
                mutated = fz.mutate(task, 1 + fz.random.randrange(3))
                if isinstance(mutated, dict):
                    mutated["business_time"] = fz.pick((*MALFORMED_TIMES, fz.junk()))
                body, known = json.dumps(mutated, allow_nan=True), True
            records.append(sqs_record(i, body))
            bad.append(known)
            i += 1
        yield {"Records": records}, bad


def stream_record(i: int, table: str, image: dict[str, Any], keys: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventID": f"fz{i:06d}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": int(START.timestamp()),
            "Keys": keys,
            "NewImage": image,
            "SequenceNumber": f"{9 * 10**20 + i}",
            "SizeBytes": 512,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/2026-03-01",
    }


def stream_batches(
    fz: Fuzz,
    count: int,
    table: str,
    image: dict[str, Any],
    key: str,
    good: float,
    unknown_ids: str,
    batch: int = 100,
) -> Iterator[Generated]:
    """Stream records in batches of `batch`: the image with an unknown id (`good` of them, else
    mutated: attributes of the wrong DynamoDB type, missing, junk), duplicates, bad envelopes."""
    i = 0
    while i < count:
        records: list[Any] = []
        bad: list[bool | None] = []
        for _ in range(min(batch, count - i)):
            own = copy.deepcopy(image)
            own[key] = {"S": f"{unknown_ids}-{i}"}
            record = stream_record(i, table, own, {key: dict(own[key])})  # the keys: a copy of their own
            roll = fz.random.random()
            known: bool | None
            if roll < good:
                known = False
            elif roll < good + 0.03 and records:  # the same change again, under its own sequence number
                record = copy.deepcopy(records[-1])
                record["eventID"], record["dynamodb"]["SequenceNumber"] = f"fz{i:06d}", f"{9 * 10**20 + i}"
                known = bad[-1]
            elif roll < good + 0.1:
                record["dynamodb"]["ApproximateCreationDateTime"] = fz.pick(
                    (None, "yesterday", -1, 10**20, 1e308, [], {})
                )
                known = True
            elif roll < good + 0.2:
                record["dynamodb"]["NewImage"] = fz.pick((None, "image", [], {}, {key: fz.attribute()}))
                known = True
            else:
                record["dynamodb"]["NewImage"] = fz.mutate(own, 1 + fz.random.randrange(4), dynamodb=True)
                known = None
            records.append(record)
            bad.append(known)
            i += 1
        yield {"Records": records}, bad


def loan_changes(fz: Fuzz, count: int) -> Iterator[Generated]:
    image = sample("planner/loan-overdue.json")["Records"][0]["dynamodb"]["NewImage"]
    return stream_batches(fz, count, "arrears-LoansTable", image, "loan_id", 0.005, "L-UNKNOWN")


def action_records(fz: Fuzz, count: int) -> Iterator[Generated]:
    image = sample("dispatcher/action-planned.json")["Records"][0]["dynamodb"]["NewImage"]
    return stream_batches(fz, count, "arrears-ActionsTable", image, "action_id", 0.01, "ACT-UNKNOWN")


def contact_records(fz: Fuzz, count: int) -> Iterator[Generated]:
    image = sample("archiver/contact-recorded.json")["Records"][0]["dynamodb"]["NewImage"]
    return stream_batches(fz, count, "arrears-ContactsTable", image, "contact_id", 0.3, "CONTACT-FZ")


# -- inbound SMS: SNS records of two-way SMS replies --------------------------------------------------
UNKNOWN_NUMBERS = ("+14255550182", "+8613800000000", "+447700900123")
"""Numbers no borrower has: a well-formed reply from one changes nothing (the known borrowers'
numbers never appear, so their opt-out state must stay as it is)."""


def sns_event(i: int, message: Any, timestamp: Any) -> dict[str, Any]:
    topic = "arn:aws:sns:us-east-1:123456789012:arrears-InboundSmsTopic"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:fz",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": f"sns-fz-{i:06d}",
                    "TopicArn": topic,
                    "Subject": None,
                    "Message": message,
                    "Timestamp": timestamp,
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/x.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def inbound_sms(fz: Fuzz, count: int) -> Iterator[Generated]:
    """Two-way SMS replies: keywords and junk from unknown numbers (accepted, nothing changes), bad
    numbers, missing fields, a message that is not JSON, several records, junk envelopes."""
    for i in range(count):
        payload: dict[str, Any] = {
            "originationNumber": fz.pick(UNKNOWN_NUMBERS),
            "destinationNumber": "+12125550101",
            "messageKeyword": "KEYWORD_123456789012",
            "messageBody": fz.pick(("STOP", "退订", "START", "UNSTOP", "hello", "stop ", CANARY)),
            "inboundMessageId": f"in-fz-{i:06d}",
        }
        stamp = f"{recent(fz, 2)[:-1]}.000Z"
        roll = fz.random.random()
        if roll < 0.01:
            yield sns_event(i, json.dumps(payload), stamp), False
        elif roll < 0.15:
            wrong = {
                **payload,
                fz.pick(("originationNumber", "messageBody", "inboundMessageId")): fz.pick(
                    ("", None, 7, [], "0049", "+0", "+1" + "9" * 20, "x" * 1601, f"{CANARY}@example.com")
                ),
            }
            # refused: every one of these as a number or a message id, a body of 1,601 characters or
            # not a string; a body that is a string of up to 1,600 is a text like any other
            body = wrong["messageBody"]
            text = isinstance(body, str) and len(body) <= 1600
            yield sns_event(i, json.dumps(wrong), stamp), None if text else True
        elif roll < 0.25:
            message = fz.pick(("", "{", "null", "[]", "STOP", '{"messageBody": "STOP"}', "\x00"))
            yield sns_event(i, message, stamp), True
        elif roll < 0.30:
            two = sns_event(i, json.dumps(payload), stamp)
            two["Records"].append(copy.deepcopy(two["Records"][0]))
            yield two, True
        elif roll < 0.35:
            yield garbage(fz), True
        else:
            event = sns_event(i, json.dumps(payload), stamp)
            record = event["Records"][0]
            record["Sns"] = fz.mutate(record["Sns"], 1 + fz.random.randrange(3))
            if fz.chance(0.5) and isinstance(record["Sns"], dict):
                record["Sns"]["Message"] = json.dumps(
                    fz.mutate(payload, 1 + fz.random.randrange(3)), allow_nan=True
                )
            yield event, None


# -- book import: S3 Object Created events, and hostile book files ----------------------------------
BOOK_ROWS: dict[str, dict[str, Any]] = {
    "borrower": {
        "schema_version": "1",
        "record": "borrower",
        "borrower_id": "B-FZ-1",
        "timezone": "Asia/Shanghai",
        "region": "Shanghai",
        "language": "zh-CN",
        "name": CANARY,
        "phone": "+86 139 1234 5678",
    },
    "loan": {
        "schema_version": "1",
        "record": "loan",
        "loan_id": "L-FZ-1",
        "borrower_id": "B-FZ-1",
        "jurisdiction": "CN",
        "product": "cn-consumer",
        "currency": "CNY",
        "principal_minor": 300000,
        "disbursed_on": "2026-01-05",
        "instalments": 3,
        "monthly_interest_bps": 50,
    },
    "payment": {
        "schema_version": "1",
        "record": "payment",
        "payment_id": "PAY-FZ-1",
        "loan_id": KNOWN_LOANS[0],
        "amount_minor": 1000,
        "currency": "CNY",
        "paid_at": "2026-03-02T08:00:00Z",
    },
}
SPOILERS: dict[str, tuple[Any, ...]] = {
    "schema_version": ("2", "", "0", "v1", "1.1", "один", None),
    "record": ("refund", "", "Borrower", "loan\x00", None, 7),
    "borrower_id": ("", "A" * 129, "B 1", "B-1\nB-2", "<script>", "王"),
    "loan_id": ("", "A" * 129, "L 1", "L-1\nL-2", "../../x", "王"),
    "currency": ("usd", "XXX", "", "CNYX"),
    "principal_minor": (0, -1, 12.5, "abc", 10**30, "1e999999"),
    "amount_minor": (0, -1, 12.5, "abc", 10**30, "NaN"),
    "disbursed_on": ("2026-02-30", "tomorrow", "", "9999-99-99"),
    "paid_at": ("2026-02-30T00:00:00Z", "yesterday", "", "9999-12-31T23:59:60Z"),
}
"""Values every row kind refuses in that field (a row is spoiled in a field of its own kind)."""
HOSTILE_LINES = (
    "\x00\x00\x00",
    '"an unclosed quote, then more',
    "," * 5_000,
    "x" * 200_000,
    "\ufeffschema_version,record",
    '{"record": "loan", "record": "borrower"}',
    "[1, 2, 3]",
    "null",
    "{not json",
    "\u202e1,borrower,B-1",
    "[" * 100_000,  # nested beyond the JSON decoder's depth
    "1" * 5_000,  # an integer beyond Python's 4,300 digits
)


def _bad_row(fz: Fuzz) -> Any:
    """A row of some kind, randomly mutated, then spoiled in one field of its kind: always refused."""
    kind = fz.pick(tuple(BOOK_ROWS))
    row = fz.mutate(BOOK_ROWS[kind], fz.random.randrange(3))
    if not isinstance(row, dict):
        return row
    field = fz.pick(tuple(name for name in SPOILERS if name in BOOK_ROWS[kind]))
    row[field] = fz.pick(SPOILERS[field])
    return row


def book_file(fz: Fuzz, i: int) -> tuple[str, bytes]:
    """(key, body) of a hostile book file under `imports/`: CSV or JSON Lines whose every row is bad
    (spoiled rows, junk lines, an unclosed quote), or a body that is not UTF-8 text, or empty."""
    kind = fz.random.randrange(10)
    if kind == 0:
        key, body = f"imports/fz-{i}.csv", fz.pick(("\xff\xfe\x00b".encode("latin-1"), b"\x80" * 64, b""))
        return key, body
    rows = [_bad_row(fz) for _ in range(1 + fz.random.randrange(20))]
    if kind < 5:
        lines = [json.dumps(row, ensure_ascii=False, allow_nan=True, default=str) for row in rows]
        for _ in range(fz.random.randrange(3)):
            lines.insert(fz.random.randrange(len(lines) + 1), fz.pick(HOSTILE_LINES))
        name = fz.pick(("jsonl", "ndjson", "json", "txt", ""))
        return f"imports/fz-{i}.{name}".rstrip("."), ("\n".join(lines) + "\n").encode(
            "utf-8", "surrogatepass"
        )
    from arrears.events.book_file import CSV_COLUMNS

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        if isinstance(row, dict):
            writer.writerow({str(k): v for k, v in row.items()})
        else:
            text.write(f"{fz.pick(HOSTILE_LINES)}\r\n")
    if fz.chance(0.3):
        text.write(fz.pick(HOSTILE_LINES) + "\r\n")
    body = text.getvalue().encode("utf-8", "surrogatepass")
    return f"imports/fz-{i}.{fz.pick(('csv', 'CSV', 'txt'))}", (
        b"\xef\xbb\xbf" + body if fz.chance(0.2) else body
    )


def book_objects(
    fz: Fuzz, count: int, bucket: str = "arrears-importbucket", files: tuple[str, ...] = ()
) -> Iterator[Generated]:
    """S3 `Object Created` events (EventBridge): the hostile files in `files` (imported, each row
    rejected), keys of no object, keys outside `imports/`, hostile keys and sizes, other buckets,
    malformed envelopes. An event naming a file that exists is accepted (its rows go to the report)."""
    base = sample("book_import/object-created.json")
    for i in range(count):
        event = copy.deepcopy(base)
        event["id"], event["time"] = f"fz-{i:06d}", recent(fz, 1)
        event["detail"]["bucket"]["name"] = bucket
        event["detail"]["object"]["size"] = fz.pick((0, 9871, 2**63, -1, 10**30, "big", None))
        roll = fz.random.random()
        if roll < 0.01 and files:
            event["detail"]["object"]["key"] = fz.pick(files)
            event["detail"]["object"]["size"] = fz.pick((0, 9871, 2**40))  # S3's size: not what is read
            yield event, False
        elif roll < 0.03:
            event["detail"]["object"]["key"] = f"imports/missing-{i}.csv"  # no such object
            yield event, True
        elif roll < 0.05:
            event["detail"]["bucket"]["name"] = fz.pick(("other-bucket", "", "a" * 300, CANARY))
            yield event, True
        elif roll < 0.12:
            hostile = fz.pick(
                ("", "../../etc/passwd", "imports/../reports/x.csv", "x" * 2_000, "imports/\x00.csv", CANARY)
            )
            event["detail"]["object"]["key"] = hostile
            yield event, True
        elif roll < 0.35:
            yield {**event, "time": fz.pick((*MALFORMED_TIMES, *FAR_FUTURE_TIMES))}, True
        elif roll < 0.40:
            yield garbage(fz), True
        else:
            # the parser's share (a key outside imports/): the S3 calls are the branches above'
            event["detail"]["object"]["key"] = fz.pick(("book.csv", "reports/book.csv", CANARY))
            detail = (fz.mutate(event["detail"], 1 + fz.random.randrange(3)), fz.junk())
            yield spoiled(fz, event, "detail", detail), True


# -- the lending core's onboarding: LoanDisbursed and BorrowerUpdated ---------------------------------
def _event_row(kind: str, i: int) -> dict[str, Any]:
    row = {k: v for k, v in BOOK_ROWS[kind].items() if k != "record"}
    row["borrower_id"] = f"B-FZ-ONB-{i}"
    if kind == "loan":
        # Disbursed the day before: not due in the run, so no contact is planned for it.
        row["loan_id"], row["disbursed_on"] = f"L-FZ-ONB-{i}", (START - timedelta(days=1)).date().isoformat()
    return row


def onboarding(fz: Fuzz, count: int) -> Iterator[Generated]:
    """`LoanDisbursed` and `BorrowerUpdated` on the bus: new loans with their borrower (accepted, and
    redelivered), updates of those borrowers (accepted: applied, or older than the stored profile),
    loans of no known borrower, rows spoiled in a field of their own (refused), updates from the
    future, junk, random mutations of a detail."""
    sent: list[dict[str, Any]] = []
    for i in range(count):
        loan, borrower = _event_row("loan", i), _event_row("borrower", i)
        detail: Any
        roll = fz.random.random()
        if roll < 0.003:
            detail = {"loan": loan, "borrower": borrower}
            sent.append(detail)
            yield bus_event(i, "LoanDisbursed", "arrears.lending-core", detail), False
        elif roll < 0.004 and sent:  # a redelivery
            yield bus_event(i, "LoanDisbursed", "arrears.lending-core", copy.deepcopy(fz.pick(sent))), False
        elif roll < 0.006 and sent:  # a new number, language, or a move; at some recent instant
            person = dict(fz.pick(sent)["borrower"])
            person.update(
                fz.pick(
                    (
                        {"phone": "+86 139 8765 4321"},
                        {"language": "en"},
                        {"timezone": "Asia/Urumqi", "region": "Xinjiang"},
                    )
                )
            )
            detail = {"borrower": person, "updated_at": recent(fz)}
            yield bus_event(i, "BorrowerUpdated", "arrears.lending-core", detail), False
        elif roll < 0.03:
            orphan = dict(loan, borrower_id=f"B-FZ-NOBODY-{i}")
            yield bus_event(i, "LoanDisbursed", "arrears.lending-core", {"loan": orphan}), True
        elif roll < 0.20:
            kind = fz.pick(("loan", "borrower"))
            row = loan if kind == "loan" else borrower
            field = fz.pick(tuple(name for name in SPOILERS if name in row and name != "record"))
            row[field] = fz.pick(SPOILERS[field])
            if kind == "loan":
                yield (
                    bus_event(
                        i, "LoanDisbursed", "arrears.lending-core", {"loan": row, "borrower": borrower}
                    ),
                    True,
                )
            else:
                yield bus_event(i, "BorrowerUpdated", "arrears.lending-core", {"borrower": row}), True
        elif roll < 0.26:
            future = {"borrower": borrower, "updated_at": fz.pick(FAR_FUTURE_TIMES)}
            yield bus_event(i, "BorrowerUpdated", "arrears.lending-core", future), True
        elif roll < 0.28:
            yield garbage(fz), True
        else:
            detail_type = fz.pick(("LoanDisbursed", "BorrowerUpdated"))
            detail = (
                {"loan": loan, "borrower": borrower}
                if detail_type == "LoanDisbursed"
                else {"borrower": borrower}
            )
            detail = fz.mutate(detail, 1 + fz.random.randrange(3)) if fz.chance(0.8) else fz.junk()
            yield bus_event(i, detail_type, "arrears.lending-core", detail), None


def reporting_segments(fz: Fuzz, count: int, plan: Mapping[str, Any], batch: int = 10) -> Iterator[Generated]:
    """reporting-segments messages in SQS batches, against the snapshot `plan` (what the export function
    answered): a few tasks of the plan (well formed: they run), tasks of another run of its date (well
    formed: dropped), tasks of a date without a plan, and malformed bodies (all failed)."""
    i = 0
    while i < count:
        records, bad = [], []
        for _ in range(min(batch, count - i)):
            task: dict[str, Any] = {
                "snapshot": plan["snapshot"],
                "run": plan["run"],
                "table": fz.pick(("loans", "transitions")),
                "segment": fz.random.randrange(plan["segments"]),
                "segments": plan["segments"],
            }
            roll = fz.random.random()
            known: bool | None
            if roll < 0.003:
                body, known = json.dumps(task), False
            elif roll < 0.01:
                body, known = json.dumps({**task, "run": recent(fz, 24 * 3)}), False  # superseded
            elif roll < 0.15:
                body, known = json.dumps({**task, "snapshot": "2025-12-31"}), True  # no plan
            elif roll < 0.30:
                body, known = (
                    fz.pick(("", "{", "null", "[]", '"task"', '{"segment": 1,}', "\x00", "x" * 262_144)),
                    True,
                )
            elif roll < 0.50:
                wrong = fz.pick(
                    (
                        {**task, "segment": fz.pick((-1, plan["segments"], 10**30, "1", 1.0, True, None))},
                        {**task, "segments": fz.pick((-1, 0, 1_001, "4", 4.0, True, None))},
                        {**task, "table": fz.pick(("borrowers", "", None, 1, fz.string()))},
                        {**task, "start_key": fz.pick(([], "L-1", {"loan_id": None}, {"loan_id": 1.5}, {}))},
                        {**task, "part": fz.pick((-1, "0", 10**30, None))},
                    )
                )
                body, known = json.dumps(wrong), True
            else:
                # a mutation may leave a task that still parses (of no plan, or superseded): unknown
                mutated = fz.mutate(task, 1 + fz.random.randrange(3))
                if isinstance(mutated, dict):
                    mutated["snapshot"] = fz.pick((*MALFORMED_TIMES, fz.junk()))
                body, known = json.dumps(mutated, allow_nan=True), None
            records.append(sqs_record(i, body))
            bad.append(known)
            i += 1
        yield {"Records": records}, bad
