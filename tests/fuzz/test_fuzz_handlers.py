"""Fuzz every handler: 10,000 generated events or records each, in its trigger's real shape, against
the stack of template.yaml on moto.

Per handler: no unhandled exception (an EventBridge or schedule handler raises only with an ERROR
line naming the reason, Lambda's retries then its on-failure destination being the contract; a batch
handler never raises for a bad record and reports it in `batchItemFailures`); every known-bad input on
its failure path; no personal data in any log line; and no state changed wrongly: no loan item,
action, contact, payment, call task or field visit for an unknown loan, no money but the well-formed
payments' in the ledger, no sweep for a date to come. The generators are seeded (tests/fuzz/corpus.py):
the same events every run, a fixed cost.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from arrears.domain.ledger import reflects
from localcloud.cloud import ACCOUNT, REGION
from tests.fuzz import events
from tests.fuzz.corpus import CANARY, Fuzz
from tests.fuzz.harness import (
    KNOWN_LOANS,
    START,
    Outcome,
    World,
    assert_trees,
    async_contract,
    batch_contract,
    unknown_loan_state,
)

pytestmark = pytest.mark.integration

PER_HANDLER = int(os.environ.get("ARREARS_FUZZ_EVENTS", "10000"))
"""Events (bus, schedules) or records (queues, streams) generated per handler: 10,000 in the test
command; `ARREARS_FUZZ_EVENTS=2000` for a quick local run."""

FIGURES: dict[str, tuple[int, int, float]] = {}
"""function -> (events or records, invocations, CPU seconds), printed at the end of the module."""


def fuzz(
    world: World,
    function: str,
    generated: Iterator[tuple[Any, Any]],
    *,
    records: bool = False,
    label: str | None = None,
) -> tuple[list[Outcome], list[Any]]:
    started = time.process_time()
    pairs = list(generated)
    assert_trees(event for event, _ in pairs)  # no shared value, no cycle, bounded depth
    outcomes = world.run(function, (event for event, _ in pairs))
    bad = [known for _, known in pairs]
    count = sum(len(known) for known in bad) if records else len(bad)
    name = label or function  # a function fuzzed through two triggers is listed once for each
    FIGURES[name] = (count, len(outcomes), time.process_time() - started)
    assert count >= PER_HANDLER
    print(f"\n{name}: {count} in {len(outcomes)} invocations, {FIGURES[name][2]:.1f} s CPU")
    return outcomes, bad


def no_faults(world: World, faults: list[str]) -> None:
    faults = [*world.faults, *faults]
    world.faults.clear()
    kinds = Counter(fault.split(": event ")[0][:90] for fault in faults)
    assert not faults, (
        f"{len(faults)} faults, by kind: {dict(kinds.most_common(12))}; the first ones:\n"
        + "\n".join(faults[:8])
    )


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    yield
    print("\nfuzzed (events or records, invocations, CPU s):")
    for function, (count, invocations, seconds) in sorted(FIGURES.items()):
        print(f"  {function:28} {count:6} {invocations:6} {seconds:6.1f}")


# -- EventBridge: the lending core, the collector desk, the privacy desk, the dialer ----------------
def test_payments(world: World) -> None:
    outcomes, bad = fuzz(world, "PaymentsFunction", events.payments(Fuzz(1), PER_HANDLER))
    faults = async_contract("PaymentsFunction", outcomes, bad)
    # Money: the ledger holds exactly the accepted payments (the first amount of an id), each loan
    # reflects its ledger, and nothing was paid into an unknown loan.
    accepted: dict[str, int] = {}
    reversed_ids: set[str] = set()
    for outcome in outcomes:
        if outcome.error is not None:
            continue
        detail = outcome.event["detail"]
        if outcome.event["detail-type"] == "PaymentReversed":
            if outcome.response.get("verdict") == "REVERSED":
                reversed_ids.add(detail["payment_id"])
        else:
            accepted.setdefault(detail["payment_id"], detail["amount_minor"])
    ledger = world.container.payments
    for loan_id in KNOWN_LOANS:
        entries = ledger.entries(loan_id)
        for entry in entries:
            if accepted.get(entry.payment_id) != entry.amount_minor:
                faults.append(f"ledger entry {entry.payment_id} of {entry.amount_minor} was never accepted")
            if entry.reversed != (entry.payment_id in reversed_ids):
                faults.append(
                    f"ledger entry {entry.payment_id}: reversed {entry.reversed} (not what was accepted)"
                )
        loan = world.container.loans.get(loan_id)
        assert loan is not None
        if not reflects(loan, entries):
            faults.append(f"loan {loan_id} does not reflect its ledger")
        if loan.status.value == "CHARGED_OFF":
            faults.append(f"loan {loan_id} charged off by a fuzzed payment")
    recorded = {entry.payment_id for loan_id in KNOWN_LOANS for entry in ledger.entries(loan_id)}
    if set(accepted) != recorded:
        faults.append(f"accepted payments missing from the ledger: {sorted(set(accepted) - recorded)[:5]}")
    no_faults(world, faults + unknown_loan_state(world))


def test_holds(world: World) -> None:
    before = {loan_id: world.container.loans.get(loan_id) for loan_id in KNOWN_LOANS}
    outcomes, bad = fuzz(world, "HoldsFunction", events.holds(Fuzz(2), PER_HANDLER))
    faults = async_contract("HoldsFunction", outcomes, bad)
    for loan_id, loan in before.items():
        after = world.container.loans.get(loan_id)
        assert loan is not None
        assert after is not None
        # every well-formed change lifted a hold: none is set by a rejected or mutated event
        if (
            after.holds.promise_to_pay_until is not None
            or after.holds.dispute_open
            or after.holds.cease_contact
        ):
            faults.append(f"loan {loan_id}: a hold set by a fuzzed event: {after.holds}")
    no_faults(world, faults + unknown_loan_state(world))


def test_erasure(world: World) -> None:
    outcomes, bad = fuzz(world, "ErasureFunction", events.erasures(Fuzz(3), PER_HANDLER))
    faults = async_contract("ErasureFunction", outcomes, bad)
    for borrower_id in ("B-" + loan_id for loan_id in KNOWN_LOANS):
        borrower = world.container.borrowers.get(borrower_id)
        if borrower is None or not borrower.phone:
            faults.append(f"borrower {borrower_id} erased by a fuzzed event")
    no_faults(world, faults + unknown_loan_state(world))


def test_call_outcomes(world: World) -> None:
    outcomes, bad = fuzz(world, "CallOutcomesFunction", events.call_outcomes(Fuzz(4), PER_HANDLER))
    faults = async_contract("CallOutcomesFunction", outcomes, bad)
    for item in world.scan("ContactCapsTable"):
        text = str(item)
        if any(year in text for year in ("2027-", "2999-", "9999-")):
            faults.append(f"the call ledger holds a call from the future: {text[:300]}")
    no_faults(world, faults + unknown_loan_state(world))


# -- schedules ---------------------------------------------------------------------------------------
def no_sweep_ahead(world: World) -> list[str]:
    later = [item for item in world.scan("SweepRunsTable") if _run_date(item) > START.date()]
    faults = [f"a sweep run for a date to come: {item}" for item in later[:5]]
    for body in world.queue_bodies("SweepTasksQueue"):
        if any(year in body for year in ("2027-", "2999-", "9999-")):
            faults.append(f"a sweep task for a date to come: {body[:200]}")
    return faults


def _run_date(item: dict[str, Any]) -> date:
    for value in item.values():
        text = next(iter(value.values())) if isinstance(value, dict) else value
        if isinstance(text, str) and len(text) >= 10 and text[4] == "-" and text[7] == "-":
            try:
                return date.fromisoformat(text[:10])
            except ValueError:
                continue
    return date.min


def test_sweep(world: World) -> None:
    outcomes, bad = fuzz(
        world, "SweepFunction", events.scheduler_invocations(Fuzz(5), PER_HANDLER, well_formed=0.001)
    )
    no_faults(world, async_contract("SweepFunction", outcomes, bad) + no_sweep_ahead(world))


def test_sweep_deadline(world: World) -> None:
    outcomes, bad = fuzz(
        world, "SweepDeadlineFunction", events.scheduler_invocations(Fuzz(6), PER_HANDLER, well_formed=0.05)
    )
    no_faults(world, async_contract("SweepDeadlineFunction", outcomes, bad))


def test_deferred_release(world: World) -> None:
    outcomes, bad = fuzz(world, "DeferredReleaseFunction", events.scheduled_events(Fuzz(7), PER_HANDLER))
    no_faults(world, async_contract("DeferredReleaseFunction", outcomes, bad) + unknown_loan_state(world))


# -- queues and streams ------------------------------------------------------------------------------
def sqs_id(record: Any) -> Any:
    return record.get("messageId") if isinstance(record, dict) else None


def stream_id(record: Any) -> Any:
    dynamodb = record.get("dynamodb") if isinstance(record, dict) else None
    return dynamodb.get("SequenceNumber") if isinstance(dynamodb, dict) else None


def event_id(record: Any) -> Any:
    return record.get("eventID") if isinstance(record, dict) else None


def test_sweep_worker(world: World) -> None:
    outcomes, bad = fuzz(world, "SweepWorkerFunction", events.sweep_tasks(Fuzz(8), PER_HANDLER), records=True)
    faults = batch_contract("SweepWorkerFunction", outcomes, bad, sqs_id, "message_id", sqs_id)
    no_faults(world, faults + no_sweep_ahead(world) + unknown_loan_state(world))


def test_planner(world: World) -> None:
    outcomes, bad = fuzz(world, "PlannerFunction", events.loan_changes(Fuzz(9), PER_HANDLER), records=True)
    faults = batch_contract("PlannerFunction", outcomes, bad, stream_id, "event_id", event_id)
    for outcome in outcomes:
        failed = {f["itemIdentifier"] for f in (outcome.response or {}).get("batchItemFailures", [])}
        for record in outcome.event["Records"]:
            image = (record.get("dynamodb") or {}).get("NewImage")
            loan_id = image.get("loan_id") if isinstance(image, dict) else None
            if stream_id(record) not in failed and isinstance(loan_id, dict) and "S" in loan_id:
                world.streamed_loans.add(str(loan_id["S"]))
    no_faults(world, faults + unknown_loan_state(world))


def test_dispatcher(world: World) -> None:
    outcomes, bad = fuzz(
        world, "DispatcherFunction", events.action_records(Fuzz(10), PER_HANDLER), records=True
    )
    faults = batch_contract("DispatcherFunction", outcomes, bad, stream_id, "event_id", event_id)
    no_faults(world, faults + unknown_loan_state(world))


def test_archiver(world: World) -> None:
    # Lambda retries a stream batch from its reported record, then sends that record to the on-failure
    # destination and goes on after it: here the batch goes on after it at once, so every record is read.
    started, outcomes, bad = time.process_time(), [], []
    for event, batch_bad in events.contact_records(Fuzz(11), PER_HANDLER):
        records, known = event["Records"], batch_bad
        while records:
            (outcome,) = world.run("ArchiverFunction", [{"Records": records}])
            outcomes.append(outcome)
            bad.append(known)
            failed = (outcome.response or {}).get("batchItemFailures") or []
            ids = [stream_id(record) for record in records]
            if outcome.error is not None or not failed or failed[0].get("itemIdentifier") not in ids:
                break
            after = ids.index(failed[0]["itemIdentifier"]) + 1
            records, known = records[after:], known[after:]
    FIGURES["ArchiverFunction"] = (PER_HANDLER, len(outcomes), time.process_time() - started)
    faults = batch_contract(
        "ArchiverFunction", outcomes, bad, stream_id, "sequence_number", stream_id, first_only=True
    )
    no_faults(world, faults + unknown_loan_state(world))


# -- the archive's retention review, borrowers' text replies, book files ------------------------------
def test_retention(world: World) -> None:
    # After the archiver's test: the archive holds objects, each locked for years; no review as of a
    # fuzzed time may shorten that or tag one for deletion.
    outcomes, bad = fuzz(
        world, "RetentionFunction", events.scheduler_invocations(Fuzz(13), PER_HANDLER, well_formed=0.002)
    )
    faults = async_contract("RetentionFunction", outcomes, bad)
    s3 = world.container.client("s3")
    bucket = world.stack.physical["ArchiveBucket"]
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
    assert keys, "the archive is empty: the retention review had nothing to keep"
    for key in keys:
        tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        if {"Key": "retention", "Value": "expired"} in tags:
            faults.append(f"archive object {key} tagged expired by a fuzzed review")
    no_faults(world, faults + unknown_loan_state(world))


def test_inbound_sms(world: World) -> None:
    before = {b: world.container.borrowers.get(b) for b in ("B-" + loan_id for loan_id in KNOWN_LOANS)}
    outcomes, bad = fuzz(world, "InboundSmsFunction", events.inbound_sms(Fuzz(14), PER_HANDLER))
    faults = async_contract("InboundSmsFunction", outcomes, bad)
    for borrower_id, borrower in before.items():
        after = world.container.borrowers.get(borrower_id)
        assert borrower is not None
        if after is None or after.opted_out_channels != borrower.opted_out_channels:
            faults.append(f"borrower {borrower_id}: opt-outs changed by a reply from another number")
    no_faults(world, faults + unknown_loan_state(world))


def test_book_import(world: World) -> None:
    # Hostile book files (every row bad, or not text) put into the imports bucket, then Object Created
    # events naming them, objects that do not exist, other buckets, hostile keys, malformed envelopes.
    s3 = world.container.client("s3")
    bucket = world.stack.physical["ImportBucket"]
    fz = Fuzz(15)
    files = dict(events.book_file(fz, i) for i in range(max(20, PER_HANDLER // 100)))
    for key, body in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    borrowers = len(world.scan("BorrowersTable"))
    outcomes, bad = fuzz(
        world, "BookImportFunction", events.book_objects(fz, PER_HANDLER, bucket, tuple(sorted(files)))
    )
    faults = async_contract("BookImportFunction", outcomes, bad)
    for outcome in outcomes:
        response = outcome.response
        if outcome.error is not None or not isinstance(response, dict) or "rows_read" not in response:
            continue
        # every row of a hostile file is rejected, each in the error report beside it
        # (a file that is not UTF-8 text reads no row and is rejected whole, as one problem)
        whole = response["rows_read"] == 0 and response["rejected"] == 1
        if response["imported"] or not (response["rejected"] == response["rows_read"] or whole):
            faults.append(f"a hostile book file imported rows: {outcome.describe()}")
        report = s3.get_object(Bucket=bucket, Key=response["errors_key"])["Body"].read().decode()
        lines = {json.loads(line)["line"] for line in report.splitlines()}
        if len(lines) != response["rejected"]:
            faults.append(f"the error report misses rejected rows: {outcome.describe()}")
        for secret in (CANARY, *world.pii):
            if secret in report:
                faults.append(f"the error report quotes {secret!r}: {outcome.describe()}")
    if len(world.scan("BorrowersTable")) != borrowers:
        faults.append("a borrower was imported from a hostile book file")
    no_faults(world, faults + unknown_loan_state(world))


def test_onboarding_events(world: World) -> None:
    outcomes, bad = fuzz(
        world,
        "BookImportFunction",
        events.onboarding(Fuzz(17), PER_HANDLER),
        label="BookImportFunction (onboarding events)",
    )
    faults = async_contract("BookImportFunction", outcomes, bad)
    # Only the well-formed events wrote: every loan registered is one a good event disbursed.
    disbursed = {
        outcome.event["detail"]["loan"]["loan_id"]
        for outcome, known_bad in zip(outcomes, bad, strict=True)
        if known_bad is False and outcome.event["detail-type"] == "LoanDisbursed"
    }
    for loan_id in disbursed:
        if world.container.loans.get(loan_id) is None:
            faults.append(f"loan {loan_id}: disbursed by a good event, not registered")
    registered = world.loan_ids("LoansTable") - set(KNOWN_LOANS)
    mutated = {
        str(outcome.event["detail"]["loan"].get("loan_id"))
        for outcome, known_bad in zip(outcomes, bad, strict=True)
        if known_bad is None
        and outcome.error is None
        and isinstance(outcome.event, dict)
        and isinstance(outcome.event.get("detail"), dict)
        and isinstance(outcome.event["detail"].get("loan"), dict)
    }
    for loan_id in registered - disbursed - mutated:
        faults.append(f"loan {loan_id}: registered by no accepted event")
    # The loans registered here leave the shared world, so the other handlers' checks still hold.
    loans = world.container.client("dynamodb")
    for loan_id in registered:
        loans.delete_item(TableName=world.stack.physical["LoansTable"], Key={"loan_id": {"S": loan_id}})
    no_faults(world, faults + unknown_loan_state(world))


def test_reporting_export(world: World) -> None:
    # Every accepted time exports a snapshot named by its business date: none may be of a date to come.
    outcomes, bad = fuzz(
        world,
        "ReportingExportFunction",
        events.scheduler_invocations(Fuzz(17), PER_HANDLER, well_formed=0.002),
    )
    faults = async_contract("ReportingExportFunction", outcomes, bad)
    s3 = world.container.client("s3")
    bucket = world.stack.physical["ReportingBucket"]
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            day = item["Key"].partition("snapshot=")[2][:10]
            if day and day > START.date().isoformat():
                faults.append(f"a reporting snapshot for a date to come: {item['Key']}")
    no_faults(world, faults + unknown_loan_state(world))


def test_reporting_segment(world: World) -> None:
    # A snapshot planned at the suite's clock: its own tasks run, another run's are dropped, every other
    # record (malformed, or of a date without a plan) is reported failed and writes nothing.
    cloud = world.cloud
    plan = cloud.invoke(
        "ReportingExportFunction",
        cloud.schedule_of("ReportingExportFunction").event(START, region=REGION, account=ACCOUNT),
    )
    outcomes, bad = fuzz(
        world,
        "ReportingSegmentFunction",
        events.reporting_segments(Fuzz(18), PER_HANDLER, plan),
        records=True,
    )
    faults = batch_contract("ReportingSegmentFunction", outcomes, bad, sqs_id, "message_id", sqs_id)
    s3 = world.container.client("s3")
    bucket = world.stack.physical["ReportingBucket"]
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            if (
                item["Key"].startswith(("loans/", "transitions/"))
                and f"snapshot={plan['snapshot']}/" not in item["Key"]
            ):
                faults.append(f"a reporting part of a snapshot never planned: {item['Key']}")
    no_faults(world, faults + unknown_loan_state(world))
