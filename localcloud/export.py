"""Export a run's reporting data through the stack's own export function, into `out/data/`.

`export_snapshot` invokes ReportingExportFunction as its schedule would at the end of the run's last
day (`arrears.usecases.reporting_export`: every loan and bucket transition as the report's rows,
written to the reporting bucket as a snapshot), then downloads that snapshot as
`out/data/loans.jsonl` and `out/data/transitions.jsonl` for DuckDB (`arrears_report.tables`): the
files Athena reads in AWS are the files the local report reads. The contacts are the archive itself
(`out/archive/contacts/...`, exported by `simulation.export_archive`).
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
EXPORT_RERUNS = 5
EXPORT_UTC_TIME = time(15, 0)
"""When the run's final export fires on its last day: 23:00 in Shanghai, morning in the US, so the
latest business date of any jurisdiction (the snapshot's date) is that day."""


def _write(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def export_snapshot(cloud: LocalCloud, on: date, out: Path, s3: Any = None) -> dict[str, Any]:
    """Invoke the export function for `on`, download its snapshot into `out` (rows sorted by loan id,
    then version); what the function answered, with the rows downloaded per table. `s3`: the client
    the snapshot is read with (moto's by default; the fast path's in-memory S3)."""
    at = datetime.combine(on, EXPORT_UTC_TIME, UTC)
    event = cloud.schedule_of(EXPORT_FUNCTION).event(at, region=REGION, account=ACCOUNT)
    # Invoked as its schedule invokes it (asynchronously, retried); under injected faults the operator
    # re-runs a failed export (docs/operations.md), which rewrites the same snapshot.
    answer: dict[str, Any] | None = None
    for _ in range(EXPORT_RERUNS):
        answer = cloud.invoke_async(EXPORT_FUNCTION, event)
        if answer is not None:
            break
    if answer is None:
        raise RuntimeError(f"the reporting export of {on.isoformat()} failed {EXPORT_RERUNS} times")
    snapshot = date.fromisoformat(answer["snapshot"])
    store = ReportingStore(
        s3 or boto3.client("s3"), cloud.stack.physical["ReportingBucket"], "unused-for-reads"
    )
    order = {"loans": lambda row: row["loan_id"], "transitions": lambda row: (row["loan_id"], row["version"])}
    downloaded = {
        table: _write(out / f"{table}.jsonl", sorted(store.read_table(table, snapshot), key=key))
        for table, key in order.items()
    }
    return {**answer, "downloaded": downloaded}


__all__ = ["EXPORT_FUNCTION", "export_snapshot"]
