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
import json
from collections.abc import Iterator
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
            record = stream_record(i, table, own, {key: own[key]})
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
