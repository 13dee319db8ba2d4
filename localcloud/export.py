"""Export a run's reporting data through the stack's own export functions, into `out/data/`.

`export_snapshot` invokes ReportingExportFunction as its schedule would at the end of the run's last
day: it plans the snapshot (`arrears.usecases.reporting_export`: one task per table and Scan
segment, sent to the reporting-segments queue); the local cloud then delivers those tasks to
ReportingSegmentFunction as Lambda's SQS event source would (`LocalCloud.settle`), each segment
writing its parts and, the last one, the snapshot's completion marker. A segment left in the DLQ
under injected faults is redriven, as the runbook says (docs/runbooks/reporting-segments-dlq.md).
Then the snapshot is downloaded as `out/data/loans.jsonl` and `out/data/transitions.jsonl` for DuckDB
(`arrears_report.tables`): the files Athena reads in AWS are the files the local report reads. The
contacts are the archive itself (`out/archive/contacts/...`, exported by `simulation.export_archive`).

The demo deploys the stack with small segments and parts (`DEMO_PARAMETERS`) and gives each segment
invocation a time budget that runs out after its first part (`DEMO_BUDGETS_MS`): a segment of the
demo's book then takes the path a segment of a ten-million-loan book takes, re-queuing its rest
from its LastEvaluatedKey, part after part.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import boto3

from arrears.adapters.reporting_store import ReportingStore
from localcloud.cloud import ACCOUNT, REGION, LocalCloud

EXPORT_FUNCTION = "ReportingExportFunction"
SEGMENT_FUNCTION = "ReportingSegmentFunction"
SEGMENTS_QUEUE, SEGMENTS_DLQ = "ReportingSegmentsQueue", "ReportingSegmentsDLQ"
EXPORT_RERUNS = 5
EXPORT_UTC_TIME = time(15, 0)
"""When the run's final export fires on its last day: 23:00 in Shanghai, morning in the US, so the
latest business date of any jurisdiction (the snapshot's date) is that day."""

DEMO_PARAMETERS = {"ReportingLoansPerSegment": "64", "ReportingPartItems": "16"}
"""The demo stack's template parameters: a segment per 64 loans (the default book: 3 segments per
table) and parts of 16 items, so each segment writes several parts."""
DEMO_BUDGETS_MS = {SEGMENT_FUNCTION: 1}
"""The demo's time budget of a segment invocation: spent by its first part, so every segment with
more to read re-queues its rest (the invocation's safety margin is REPORTING_SAFETY_MARGIN_MS)."""


COPY_DROPPED = "reporting segment already continued (a copy of its task): dropped"
"""ReportingSegmentFunction's log line for a copy of a task whose continuation was already sent."""


def copies_dropped(logs: Path) -> int:
    """How many segment tasks `logs` (the run's JSON lines) say were dropped as copies of a task
    already continued (`arrears.usecases.reporting_export`: a continuation is followed once)."""
    if not logs.exists():
        return 0
    with logs.open() as lines:
        return sum(
            1 for line in lines if COPY_DROPPED in line and json.loads(line).get("message") == COPY_DROPPED
        )


def _write(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def _redrive(cloud: LocalCloud, sqs: Any) -> int:
    """Move what the segments' DLQ holds back to the segments queue (`arrears-ops redrive`)."""
    physical, moved = cloud.stack.physical, 0
    while True:
        batch = sqs.receive_message(QueueUrl=physical[SEGMENTS_DLQ], MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not batch:
            return moved
        for message in batch:
            sqs.send_message(QueueUrl=physical[SEGMENTS_QUEUE], MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=physical[SEGMENTS_DLQ], ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def export_snapshot(
    cloud: LocalCloud, on: date, out: Path, s3: Any = None, sqs: Any = None
) -> dict[str, Any]:
    """Plan the export of `on`, run its segments, download the snapshot into `out` (rows sorted by loan
    id, then version). Returns the snapshot's date, rows and parts per table, stale parts removed,
    its `segments` (per table, tasks planned, invocations, continuations, redriven) and the rows
    downloaded per table. `s3`/`sqs`: the clients the snapshot is read and the DLQ redriven with
    (moto's by default; the fast path's in-memory S3). RuntimeError if the snapshot stays incomplete
    after `EXPORT_RERUNS` redrives."""
    at = datetime.combine(on, EXPORT_UTC_TIME, UTC)
    event = cloud.schedule_of(EXPORT_FUNCTION).event(at, region=REGION, account=ACCOUNT)
    # Invoked as its schedule invokes it (asynchronously, retried); under injected faults the operator
    # re-runs a failed export (docs/operations.md): the same scheduled time finds its plan.
    plan: dict[str, Any] | None = None
    for _ in range(EXPORT_RERUNS):
        plan = cloud.invoke_async(EXPORT_FUNCTION, event)
        if plan is not None:
            break
    if plan is None:
        raise RuntimeError(f"the reporting export of {on.isoformat()} failed {EXPORT_RERUNS} times")
    snapshot = date.fromisoformat(plan["snapshot"])
    store = ReportingStore(
        s3 or boto3.client("s3"), cloud.stack.physical["ReportingBucket"], "unused-for-reads"
    )
    cloud.settle()  # the segments, as the queue's event source delivers them
    redriven = 0
    for _ in range(EXPORT_RERUNS):
        if store.completion(snapshot) is not None:
            break
        redriven += _redrive(cloud, sqs or boto3.client("sqs"))
        cloud.settle()
    completion = store.completion(snapshot)
    if completion is None:
        raise RuntimeError(
            f"the reporting snapshot of {on.isoformat()} is incomplete after {redriven} redrives"
        )
    order = {"loans": lambda row: row["loan_id"], "transitions": lambda row: (row["loan_id"], row["version"])}
    downloaded = {
        table: _write(out / f"{table}.jsonl", sorted(store.read_table(table, snapshot), key=key))
        for table, key in order.items()
    }
    return {
        "snapshot": snapshot.isoformat(),
        "rows": completion["rows"],
        "parts": completion["parts"],
        "stale_parts_removed": plan["stale_parts_removed"] + completion["stale_parts_removed"],
        "segments": {
            "per_table": completion["segments"],
            "book_loans": plan["book_loans"],
            "tasks_planned": plan["tasks_sent"],
            "invocations": completion["invocations"],
            "continued": completion["invocations"] - plan["tasks_sent"],
            "redriven": redriven,
        },
        "downloaded": downloaded,
    }


__all__ = [
    "COPY_DROPPED",
    "DEMO_BUDGETS_MS",
    "DEMO_PARAMETERS",
    "EXPORT_FUNCTION",
    "SEGMENT_FUNCTION",
    "copies_dropped",
    "export_snapshot",
]
