"""The reporting bucket: snapshots of the `loans` and `transitions` rows, and the tables they come from.

Layout (Hive-style partitions Athena reads, infrastructure/athena/reporting.sql):

* `loans/snapshot=YYYY-MM-DD/part-SSSSS-NNNNN.jsonl.gz` (and `transitions/...`): part NNNNN of Scan
  segment SSSSS, gzipped JSON Lines, one row a line (`arrears.usecases.reporting_export`);
  `part-NNNNN.jsonl.gz`, a part of an export not split by segment, is still read;
* `snapshots/snapshot=YYYY-MM-DD/complete.json`: written last, once per run, the rows per table; a
  snapshot without it is incomplete (an export under way or stuck) and readers skip it. Nothing
  else goes under `snapshots/`: Athena's `completed_snapshots` reads every object there as a row;
* `exports/snapshot=YYYY-MM-DD/plan.json`, `exports/snapshot=YYYY-MM-DD/segments/<table>-SSSSS.json`
  and `exports/snapshot=YYYY-MM-DD/progress/<table>-SSSSS.json`: the export's own bookkeeping (the
  run's plan, each segment's marker once it is read whole, and the part its last continuation
  starts at).

**Each S3 call is retried alone** on a transient error (`arrears.adapters.retrying.retry_transient`):
every call here is idempotent (a GET, a listing, a PUT of the same bytes, a DELETE), and a method
that makes many (`begin_run` removes every marker of the previous run, `segment_markers` reads every
marker) would otherwise meet a fault on nearly every attempt at a steady rate of transient errors
(the 10 % fault run's segments failed at `segment_markers` until their DLQ). The completion marker's
conditional PUT recognises its own write on a retry (`complete_once`).

Every object is written with SSE-KMS under the stack's data key. The bucket has no Object Lock (a
snapshot is derived data, rebuilt from the tables at will) and its lifecycle rule deletes snapshots
after `ReportingSnapshotDays`.

`ReportingSource` reads the Loans and DelinquencyHistory tables as segments of a parallel Scan, one
page at a time (the export is periodic and reads the whole book by definition; docs/reporting.md
prices it).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from datetime import date
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from arrears.adapters.items import loan_from_item, plain
from arrears.adapters.retrying import retry_transient
from arrears.domain.loans import Loan

__all__ = [
    "COMPLETE",
    "ReportingSource",
    "ReportingStore",
    "complete_key",
    "export_prefix",
    "part_key",
    "snapshot_prefix",
]

COMPLETE = "complete.json"
PLAN = "plan.json"
_ALREADY_WRITTEN = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_ABSENT = frozenset({"NoSuchKey", "404", "NotFound"})


def snapshot_prefix(table: str, snapshot: date) -> str:
    """`loans/snapshot=2026-03-31/` (the partition of one table's snapshot)."""
    return f"{table}/snapshot={snapshot.isoformat()}/"


def export_prefix(snapshot: date) -> str:
    """`exports/snapshot=2026-03-31/`: the plan and the segment markers of the snapshot's export."""
    return snapshot_prefix("exports", snapshot)


def complete_key(snapshot: date) -> str:
    """`snapshots/snapshot=2026-03-31/complete.json`."""
    return f"{snapshot_prefix('snapshots', snapshot)}{COMPLETE}"


def part_key(table: str, snapshot: date, segment: int, number: int) -> str:
    """`loans/snapshot=2026-03-31/part-00003-00000.jsonl.gz` (segment 3, its part 0)."""
    return f"{snapshot_prefix(table, snapshot)}part-{segment:05d}-{number:05d}.jsonl.gz"


def _part_id(key: str) -> tuple[int | None, int] | None:
    """(segment, number) of a part's key; segment None for a part of an export not split by segment;
    None for any other key."""
    name = key.rpartition("/")[2]
    if not (name.startswith("part-") and name.endswith(".jsonl.gz")):
        return None
    fields = name.removeprefix("part-").removesuffix(".jsonl.gz").split("-")
    if not all(f.isdigit() for f in fields):
        return None
    if len(fields) == 1:
        return None, int(fields[0])
    if len(fields) == 2:
        return int(fields[0]), int(fields[1])
    return None


class ReportingStore:
    """`ReportingSink` on S3: the parts, markers and plans of one bucket."""

    def __init__(self, s3: Any, bucket: str, kms_key_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    def _put(self, key: str, body: bytes, content_type: str, **extra: Any) -> None:
        put = partial(
            self._s3.put_object,
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=self._kms_key_id,
            **extra,
        )
        retry_transient(put)

    def _put_json(self, key: str, body: Mapping[str, Any], **extra: Any) -> None:
        text = json.dumps(dict(body), sort_keys=True) + "\n"
        self._put(key, text.encode(), "application/json", **extra)

    def _get_json(self, key: str) -> dict[str, Any] | None:
        try:
            body = self._get(key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _ABSENT:
                return None
            raise
        found: dict[str, Any] = json.loads(body)
        return found

    def _get(self, key: str) -> bytes:
        """The object's bytes (the body read inside the retry: a read cut off is read again)."""

        def read() -> bytes:
            return bytes(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())

        return retry_transient(read)

    def _keys(self, prefix: str) -> list[str]:
        def listing() -> list[str]:
            pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix)
            return sorted(str(obj["Key"]) for page in pages for obj in page.get("Contents", []))

        return retry_transient(listing)

    def _delete(self, keys: list[str]) -> int:
        for key in keys:
            retry_transient(partial(self._s3.delete_object, Bucket=self._bucket, Key=key))
        return len(keys)

    # -- the plan and the markers ---------------------------------------------------------------

    def read_plan(self, snapshot: date) -> dict[str, Any] | None:
        return self._get_json(f"{export_prefix(snapshot)}{PLAN}")

    def begin_run(self, snapshot: date, plan: Mapping[str, Any], segments: int) -> int:
        # The completion marker first: from here on readers keep the previous complete snapshot.
        self._delete([complete_key(snapshot)])
        self._put_json(f"{export_prefix(snapshot)}{PLAN}", plan)
        self._delete(self._keys(f"{export_prefix(snapshot)}segments/"))
        self._delete(self._keys(f"{export_prefix(snapshot)}progress/"))
        removed = 0
        for table in ("loans", "transitions"):
            outside = [
                key
                for key in self._keys(snapshot_prefix(table, snapshot))
                if (found := _part_id(key)) is not None and (found[0] is None or found[0] >= segments)
            ]
            removed += self._delete(outside)
        return removed

    def mark_segment(self, snapshot: date, table: str, segment: int, marker: Mapping[str, Any]) -> None:
        self._put_json(f"{export_prefix(snapshot)}segments/{table}-{segment:05d}.json", marker)

    def segment_markers(self, snapshot: date) -> list[Mapping[str, Any]]:
        markers: list[Mapping[str, Any]] = []
        for key in self._keys(f"{export_prefix(snapshot)}segments/"):
            body = self._get_json(key)
            if body is not None:  # removed since the listing (a new run began)
                markers.append(body)
        return markers

    def read_progress(self, snapshot: date, table: str, segment: int) -> dict[str, Any] | None:
        return self._get_json(self._progress_key(snapshot, table, segment))

    def write_progress(self, snapshot: date, table: str, segment: int, progress: Mapping[str, Any]) -> None:
        self._put_json(self._progress_key(snapshot, table, segment), progress)

    @staticmethod
    def _progress_key(snapshot: date, table: str, segment: int) -> str:
        return f"{export_prefix(snapshot)}progress/{table}-{segment:05d}.json"

    def complete_once(self, snapshot: date, counts: Mapping[str, Any], writer: str = "") -> bool:
        """S3's conditional write: of two segments completing the snapshot together, one writes. An
        attempt refused because an earlier attempt of this call was applied (its answer lost) is this
        call's write: the stored marker names its `writer`."""
        body = {"snapshot": snapshot.isoformat(), **counts, "writer": writer}
        try:
            self._put_json(complete_key(snapshot), body, IfNoneMatch="*")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in _ALREADY_WRITTEN:
                raise
            return bool(writer) and (self.completion(snapshot) or {}).get("writer") == writer
        return True

    # -- the parts ------------------------------------------------------------------------------

    def write_part(
        self, table: str, snapshot: date, segment: int, number: int, rows: list[dict[str, Any]]
    ) -> None:
        lines = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
        # mtime=0: the same rows give the same bytes (a re-run rewrites an identical object).
        self._put(
            part_key(table, snapshot, segment, number),
            gzip.compress(lines.encode(), mtime=0),
            "application/x-ndjson",
        )

    def drop_parts_from(self, table: str, snapshot: date, segment: int, number: int) -> int:
        prefix = f"{snapshot_prefix(table, snapshot)}part-{segment:05d}-"
        stale = [
            key
            for key in self._keys(prefix)
            if (found := _part_id(key)) is not None and found[0] == segment and found[1] >= number
        ]
        return self._delete(stale)

    def completion(self, snapshot: date) -> dict[str, Any] | None:
        """The snapshot's completion marker (rows per table, segments...), or None while incomplete."""
        return self._get_json(complete_key(snapshot))

    def read_table(self, table: str, snapshot: date) -> Iterator[dict[str, Any]]:
        """The rows of a completed snapshot's table, part by part (KeyError: the snapshot is not complete)."""
        if self.completion(snapshot) is None:
            raise KeyError(f"snapshot {snapshot.isoformat()} is not complete")
        keys = [key for key in self._keys(snapshot_prefix(table, snapshot)) if _part_id(key) is not None]
        for key in keys:
            for line in gzip.decompress(self._get(key)).decode().splitlines():
                if line.strip():
                    yield json.loads(line)


class ReportingSource:
    """The Loans and DelinquencyHistory tables, read as segments of a parallel Scan, page by page
    (eventually consistent: half a read unit per 4 KB)."""

    def __init__(self, dynamodb: Any, loans_table: str, history_table: str) -> None:
        self._loans = dynamodb.Table(loans_table)
        self._history = dynamodb.Table(history_table)

    @staticmethod
    def _page(
        table: Any, segment: int, segments: int, start_key: Mapping[str, Any] | None, limit: int
    ) -> Any:
        request: dict[str, Any] = {"Segment": segment, "TotalSegments": segments, "Limit": limit}
        if start_key:
            request["ExclusiveStartKey"] = dict(start_key)
        return table.scan(**request)

    def loan_page(
        self, segment: int, segments: int, start_key: Mapping[str, Any] | None, limit: int
    ) -> tuple[list[Loan], dict[str, Any] | None]:
        """One page of the segment: its loans, and the key to continue from (None: segment read)."""
        response = self._page(self._loans, segment, segments, start_key, limit)
        last = response.get("LastEvaluatedKey")
        return [loan_from_item(item) for item in response.get("Items", [])], plain(last) if last else None

    def history_page(
        self, segment: int, segments: int, start_key: Mapping[str, Any] | None, limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of the segment: its history items (plain values), and the key to continue from."""
        response = self._page(self._history, segment, segments, start_key, limit)
        last = response.get("LastEvaluatedKey")
        return [plain(item) for item in response.get("Items", [])], plain(last) if last else None
