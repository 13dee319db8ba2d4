"""The reporting bucket: snapshots of the `loans` and `transitions` rows, and the tables they come from.

Layout (Hive-style partitions Athena reads, infrastructure/athena/reporting.sql):

* `loans/snapshot=YYYY-MM-DD/part-00000.jsonl.gz`, `transitions/snapshot=YYYY-MM-DD/part-00000.jsonl.gz`:
  gzipped JSON Lines, one row a line (`arrears.usecases.reporting_export`);
* `snapshots/snapshot=YYYY-MM-DD/complete.json`: written last, the rows per table; a snapshot without
  it is incomplete (an export that failed half-way) and readers skip it.

Every object is written with SSE-KMS under the stack's data key. The bucket has no Object Lock (a
snapshot is derived data, rebuilt from the tables at will) and its lifecycle rule deletes snapshots
after `ReportingSnapshotDays`.

`ReportingSource` reads the Loans and DelinquencyHistory tables page by page (a Scan: the export is
periodic and reads the whole book by definition; docs/scaling.md prices it).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from arrears.adapters.items import loan_from_item, plain
from arrears.adapters.tables import all_items
from arrears.domain.loans import Loan

__all__ = ["COMPLETE", "ReportingSource", "ReportingStore", "part_key", "snapshot_prefix"]

COMPLETE = "complete.json"


def snapshot_prefix(table: str, snapshot: date) -> str:
    """`loans/snapshot=2026-03-31/` (the partition of one table's snapshot)."""
    return f"{table}/snapshot={snapshot.isoformat()}/"


def part_key(table: str, snapshot: date, number: int) -> str:
    """`loans/snapshot=2026-03-31/part-00000.jsonl.gz`."""
    return f"{snapshot_prefix(table, snapshot)}part-{number:05d}.jsonl.gz"


def _part_number(key: str) -> int | None:
    name = key.rpartition("/")[2]
    if not (name.startswith("part-") and name.endswith(".jsonl.gz")):
        return None
    digits = name.removeprefix("part-").removesuffix(".jsonl.gz")
    return int(digits) if digits.isdigit() else None


class ReportingStore:
    """`ReportingSink` on S3: parts and completion markers of one bucket."""

    def __init__(self, s3: Any, bucket: str, kms_key_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    def _put(self, key: str, body: bytes, content_type: str, encoding: str | None = None) -> None:
        extra = {"ContentEncoding": encoding} if encoding else {}
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=self._kms_key_id,
            **extra,
        )

    def write_part(self, table: str, snapshot: date, number: int, rows: list[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
        # mtime=0: the same rows give the same bytes (a re-run rewrites an identical object).
        self._put(
            part_key(table, snapshot, number), gzip.compress(lines.encode(), mtime=0), "application/x-ndjson"
        )

    def drop_parts_from(self, table: str, snapshot: date, number: int) -> int:
        stale = [
            key
            for page in self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=snapshot_prefix(table, snapshot)
            )
            for key in (obj["Key"] for obj in page.get("Contents", []))
            if (found := _part_number(key)) is not None and found >= number
        ]
        for key in stale:
            self._s3.delete_object(Bucket=self._bucket, Key=key)
        return len(stale)

    def complete(self, snapshot: date, counts: Mapping[str, int]) -> None:
        body = json.dumps({"snapshot": snapshot.isoformat(), "rows": dict(counts)}, sort_keys=True) + "\n"
        self._put(f"{snapshot_prefix('snapshots', snapshot)}{COMPLETE}", body.encode(), "application/json")

    def read_table(self, table: str, snapshot: date) -> Iterator[dict[str, Any]]:
        """The rows of a completed snapshot's table, part by part (KeyError: the snapshot is not complete)."""
        try:
            self._s3.head_object(
                Bucket=self._bucket, Key=f"{snapshot_prefix('snapshots', snapshot)}{COMPLETE}"
            )
        except self._s3.exceptions.ClientError as error:
            raise KeyError(f"snapshot {snapshot.isoformat()} is not complete") from error
        keys = sorted(
            obj["Key"]
            for page in self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=snapshot_prefix(table, snapshot)
            )
            for obj in page.get("Contents", [])
            if _part_number(obj["Key"]) is not None
        )
        for key in keys:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
            for line in gzip.decompress(body).decode().splitlines():
                if line.strip():
                    yield json.loads(line)


class ReportingSource:
    """The Loans and DelinquencyHistory tables, read page by page for an export."""

    def __init__(self, dynamodb: Any, loans_table: str, history_table: str) -> None:
        self._loans = dynamodb.Table(loans_table)
        self._history = dynamodb.Table(history_table)

    def loans(self) -> Iterator[Loan]:
        for item in all_items(self._loans.scan):
            yield loan_from_item(item)

    def histories(self) -> Iterator[dict[str, Any]]:
        for item in all_items(self._history.scan):
            yield plain(item)
