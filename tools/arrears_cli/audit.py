"""arrears-audit: verify the contact archive, read one loan's contact history, request an erasure.

    arrears-audit verify  (--bucket NAME | --dir out/archive) [--from DAY] [--to DAY] [--chain-table NAME]
    arrears-audit history --loan ID (--bucket NAME | --dir out/archive) [--from DAY] [--to DAY] [--json]
    arrears-audit erase   --bus NAME --borrower-id ID [--request-id ID] [--requested-at ISO]

`verify` checks, for the data objects of the days in range, that every manifest's `sha256` and
`records` match its object, that every line holds only the archive's allow-listed fields and lies in
its own partition, and (in S3) that both objects are SSE-KMS under the stage's Object Lock, read from
the bucket's default retention: in prod COMPLIANCE until at least the jurisdiction's minimum after the
record's day; on a dev stack (GOVERNANCE default) GOVERNANCE, which is said so (not a compliance
archive). It checks the hash chain of each jurisdiction from seq 1 to the newest manifest (all
days: the chain does not follow partitions), and with `--chain-table` that the newest manifest is
the chain head's. An exported folder has no Object Lock or encryption headers:
those checks are skipped, and said so. Every problem is one line `FAIL <object or seq>: <problem>`;
the exit code is 1 when there is any, 0 otherwise.

`history` reads the data objects of the days in range (all by default) and prints one loan's contact
records in time order, duplicates (a record archived twice after a retried batch) removed by
`contact_id`. A loan with no record in the range prints `no contact records for loan ...` on standard
error and exits 1 (a mistyped id is not an empty history). For a large archive use Athena
(infrastructure/athena/) instead.

`erase` puts an `ErasureRequested` event on the lending-core bus; the `erasure` function does the work.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError

from arrears.config.rulepacks import bundled_rule_packs, rule_pack_for
from arrears.domain.archive import (
    ARCHIVE_FIELDS,
    ARCHIVE_PREFIX,
    ArchiveLock,
    Manifest,
    decode_lines,
    manifest_key,
    parse_key,
    retain_until,
)
from arrears.domain.calendar import parse_utc
from arrears_cli.aws_errors import reports_aws_errors


@dataclass(frozen=True, slots=True)
class LockInfo:
    mode: str
    retain_until: date | None
    encryption: str


class Source(Protocol):
    lock_headers: bool

    def keys(self, prefix: str) -> list[str]: ...

    def read(self, key: str) -> bytes | None: ...

    def lock(self, key: str) -> LockInfo | None: ...

    def stage_lock(self) -> ArchiveLock: ...


class S3Source:
    lock_headers = True

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(str(o["Key"]) for o in page.get("Contents", []))
        return sorted(found)

    def read(self, key: str) -> bytes | None:
        try:
            body: bytes = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return body

    def stage_lock(self) -> ArchiveLock:
        """The stage's lock, from the bucket's default retention (the template sets it by stage)."""
        config = self._s3.get_object_lock_configuration(Bucket=self.bucket)["ObjectLockConfiguration"]
        default = config.get("Rule", {}).get("DefaultRetention", {})
        if default.get("Mode") == "GOVERNANCE":
            return ArchiveLock("GOVERNANCE", int(default.get("Days") or 1))
        return ArchiveLock()

    def lock(self, key: str) -> LockInfo | None:
        head = self._s3.head_object(Bucket=self.bucket, Key=key)
        until = head.get("ObjectLockRetainUntilDate")
        return LockInfo(
            mode=str(head.get("ObjectLockMode", "")),
            retain_until=until.astimezone(UTC).date() if isinstance(until, datetime) else None,
            encryption=str(head.get("ServerSideEncryption", "")),
        )


class FolderSource:
    """An exported archive, e.g. out/archive/ (keys are paths relative to it)."""

    lock_headers = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def keys(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.exists():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())

    def read(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.is_file() else None

    def lock(self, key: str) -> LockInfo | None:
        return None

    def stage_lock(self) -> ArchiveLock:
        return ArchiveLock()


@dataclass(frozen=True, slots=True)
class Finding:
    subject: str
    problem: str

    def __str__(self) -> str:
        return f"FAIL {self.subject}: {self.problem}"


@dataclass
class VerifyReport:
    findings: list[Finding] = field(default_factory=list)
    manifests: int = 0
    objects_checked: int = 0
    records: int = 0
    chains: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def fail(self, subject: str, problem: str) -> None:
        self.findings.append(Finding(subject, problem))


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    manifest: Manifest
    sha256: str


def _in_range(day: date, since: date | None, until: date | None) -> bool:
    return (since is None or day >= since) and (until is None or day <= until)


def _check_lock(
    source: Source, key: str, jurisdiction: str, day: date, report: VerifyReport, expected: ArchiveLock
) -> None:
    info = source.lock(key)
    if info is None:
        return
    if info.encryption != "aws:kms":
        report.fail(key, f"not SSE-KMS encrypted (ServerSideEncryption={info.encryption or 'none'})")
    if info.mode != expected.mode:
        report.fail(key, f"Object Lock mode is {info.mode or 'none'}, expected {expected.mode}")
    if expected.mode == "GOVERNANCE":
        return  # a dev stack: locked for a few days from the write, not for the jurisdiction's retention
    needed = retain_until(day, rule_pack_for(jurisdiction).retention_years)
    if info.retain_until is None or info.retain_until < needed:
        report.fail(key, f"Object Lock retain-until {info.retain_until or 'none'} is before {needed}")


def _check_data(source: Source, entry: _Entry, jurisdiction: str, day: date, report: VerifyReport) -> None:
    manifest = entry.manifest
    where = f"{jurisdiction} seq {manifest.seq}"
    blob = source.read(manifest.object_key)
    if blob is None:
        report.fail(manifest.object_key, f"missing: {where} ({entry.key}) names it (batch deleted?)")
        return
    report.objects_checked += 1
    actual = hashlib.sha256(blob).hexdigest()
    if actual != manifest.sha256:
        report.fail(
            manifest.object_key,
            f"sha256 {actual[:16]}… does not match {where}'s {manifest.sha256[:16]}… (object altered)",
        )
        return
    try:
        lines = decode_lines(blob)
    except (OSError, ValueError) as error:
        report.fail(manifest.object_key, f"unreadable gzip JSON Lines: {error}")
        return
    report.records += len(lines)
    if len(lines) != manifest.records:
        report.fail(manifest.object_key, f"{len(lines)} lines, {where} says {manifest.records}")
    allowed = set(ARCHIVE_FIELDS)
    for number, line in enumerate(lines, 1):
        extra = sorted(set(line) - allowed)
        if extra:
            report.fail(f"{manifest.object_key} line {number}", f"fields outside the allow-list: {extra}")
        if line.get("jurisdiction") != jurisdiction:
            report.fail(f"{manifest.object_key} line {number}", "jurisdiction differs from its partition")
        try:
            if parse_utc(str(line.get("occurred_at"))).date() != day:
                report.fail(f"{manifest.object_key} line {number}", "occurred_at is not in its dt partition")
        except ValueError:
            report.fail(f"{manifest.object_key} line {number}", "occurred_at is not an ISO 8601 UTC time")


def _check_chain(jurisdiction: str, entries: list[_Entry], report: VerifyReport) -> None:
    by_seq: dict[int, list[_Entry]] = defaultdict(list)
    for entry in entries:
        by_seq[entry.manifest.seq].append(entry)
    newest = max(by_seq, default=0)
    report.chains[jurisdiction] = newest
    for seq in range(1, newest + 1):
        here = by_seq.get(seq, [])
        if not here:
            report.fail(f"{jurisdiction} seq {seq}", "missing: no manifest carries this seq (batch deleted?)")
            continue
        if len(here) > 1:
            report.fail(
                f"{jurisdiction} seq {seq}", f"claimed by {len(here)} manifests: {[e.key for e in here]}"
            )
        for entry in here:
            prev = entry.manifest.prev_manifest_sha256
            if seq == 1:
                if prev:
                    report.fail(f"{jurisdiction} seq 1 ({entry.key})", "first link has a predecessor hash")
                continue
            before = by_seq.get(seq - 1, [])
            if before and prev not in {b.sha256 for b in before}:
                report.fail(
                    f"{jurisdiction} seq {seq} ({entry.key})",
                    f"prev_manifest_sha256 does not match seq {seq - 1}'s manifest ({before[0].key}): "
                    "chain reordered or a manifest replaced",
                )
    for seq in sorted(s for s in by_seq if s < 1):
        report.fail(f"{jurisdiction} seq {seq}", "seq below 1")


def verify(
    source: Source,
    *,
    since: date | None = None,
    until: date | None = None,
    heads: dict[str, tuple[int, str]] | None = None,
) -> VerifyReport:
    """Check the archive in `source`; `heads` maps jurisdiction -> (seq, manifest sha256) of the chain."""
    report = VerifyReport()
    if not source.lock_headers:
        report.notes.append(
            "exported folder: no Object Lock or encryption headers to check "
            "(run verify against the bucket for those)"
        )
    expected = source.stage_lock() if source.lock_headers else ArchiveLock()
    if expected.mode == "GOVERNANCE":
        report.notes.append(
            f"dev stack: the bucket locks objects in GOVERNANCE mode for {expected.days} day(s) from their "
            "write, not for the jurisdiction's retention (not a compliance archive)"
        )
    keys = source.keys(ARCHIVE_PREFIX)
    chains: dict[str, list[_Entry]] = defaultdict(list)
    data_keys: dict[str, tuple[str, date]] = {}
    in_range: list[tuple[_Entry, str, date]] = []
    for key in keys:
        parsed = parse_key(key)
        if parsed is None:
            report.fail(key, "unexpected key outside the archive layout")
            continue
        jurisdiction, day = parsed.jurisdiction, parsed.day
        if jurisdiction not in bundled_rule_packs():
            report.fail(key, f"unknown jurisdiction {jurisdiction!r}")
            continue
        if not parsed.is_manifest:
            data_keys[key] = (jurisdiction, day)
            continue
        report.manifests += 1
        blob = source.read(key) or b""
        try:
            manifest = Manifest.from_bytes(blob)
        except (ValueError, KeyError, TypeError) as error:
            report.fail(key, f"unreadable manifest: {type(error).__name__}")
            continue
        entry = _Entry(key, manifest, hashlib.sha256(blob).hexdigest())
        if manifest_key(manifest.object_key) != key:
            report.fail(key, f"names object {manifest.object_key}, not the one beside it")
        if manifest.jurisdiction != jurisdiction:
            report.fail(key, f"jurisdiction {manifest.jurisdiction} differs from its partition")
        chains[jurisdiction].append(entry)
        if _in_range(day, since, until):
            in_range.append((entry, jurisdiction, day))
    for entry, jurisdiction, day in in_range:
        _check_data(source, entry, jurisdiction, day, report)
        _check_lock(source, entry.key, jurisdiction, day, report, expected)
        if entry.manifest.object_key in data_keys:
            _check_lock(source, entry.manifest.object_key, jurisdiction, day, report, expected)
    named = {e.manifest.object_key for entries in chains.values() for e in entries}
    for key, (_, day) in sorted(data_keys.items()):
        if key not in named and _in_range(day, since, until):
            report.fail(key, "data object without a manifest: not in the hash chain")
    for jurisdiction in sorted(chains):
        _check_chain(jurisdiction, chains[jurisdiction], report)
    for jurisdiction, (seq, sha) in sorted((heads or {}).items()):
        newest = report.chains.get(jurisdiction, 0)
        if seq > newest:
            report.fail(
                f"{jurisdiction} chain head",
                f"at seq {seq} but the newest manifest is seq {newest}: seq {newest + 1}..{seq} missing",
            )
        elif seq < newest:
            report.fail(f"{jurisdiction} chain head", f"at seq {seq} but manifests go up to seq {newest}")
        else:
            shas = {e.sha256 for e in chains.get(jurisdiction, []) if e.manifest.seq == seq}
            if seq and sha not in shas:
                report.fail(
                    f"{jurisdiction} seq {seq}", "manifest differs from the one the chain head recorded"
                )
    return report


def chain_heads(dynamodb: Any, table: str) -> dict[str, tuple[int, str]]:
    """The chain head of every known jurisdiction (claims `<J>#batch#<id>` are not heads)."""
    heads: dict[str, tuple[int, str]] = {}
    for jurisdiction in sorted(bundled_rule_packs()):
        item = dynamodb.get_item(
            TableName=table, Key={"jurisdiction": {"S": jurisdiction}}, ConsistentRead=True
        ).get("Item")
        if item:
            heads[jurisdiction] = (int(item["seq"]["N"]), str(item["manifest_sha256"]["S"]))
    return heads


def history(
    source: Source, loan_id: str, *, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """One loan's archived contact records, oldest first, each contact once."""
    seen: dict[str, dict[str, Any]] = {}
    for key in source.keys(ARCHIVE_PREFIX):
        parsed = parse_key(key)
        if parsed is None or parsed.is_manifest:
            continue
        if not _in_range(parsed.day, since, until):
            continue
        blob = source.read(key)
        if blob is None:
            continue
        for line in decode_lines(blob):
            if line.get("loan_id") == loan_id:
                seen.setdefault(str(line.get("contact_id")), {**line, "archive_object": key})
    return sorted(seen.values(), key=lambda r: (str(r.get("occurred_at")), str(r.get("contact_id"))))


HISTORY_COLUMNS = (
    "occurred_at",
    "borrower_local_time",
    "channel",
    "step",
    "status",
    "attempt",  # a call: 0 the task handed to the dialer (or a desk agent's call), 1.. the dialer's attempts
    "result",  # a call's outcome (connected_borrower, no_answer...), a notice's delivery
    "dpd",
    "bucket",
    "reason",
)


def format_history(rows: Iterable[dict[str, Any]]) -> str:
    lines = ["\t".join(HISTORY_COLUMNS)]
    lines.extend("\t".join(str(row.get(c, "")) for c in HISTORY_COLUMNS) for row in rows)
    return "\n".join(lines)


def erasure_event(borrower_id: str, request_id: str | None, requested_at: datetime | None) -> dict[str, Any]:
    moment = (requested_at or datetime.now(UTC)).astimezone(UTC)
    return {
        "request_id": request_id or f"ER-{uuid.uuid4()}",
        "borrower_id": borrower_id,
        "requested_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def request_erasure(events: Any, bus: str, detail: dict[str, Any]) -> str:
    response = events.put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": "arrears.privacy",
                "DetailType": "ErasureRequested",
                "Detail": json.dumps(detail),
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused the event: {response['Entries']}")
    return str(response["Entries"][0].get("EventId", ""))


def _source(args: argparse.Namespace) -> Source:
    if args.dir:
        return FolderSource(Path(args.dir))
    return S3Source(boto3.client("s3"), args.bucket)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arrears-audit", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def where(sub: argparse.ArgumentParser) -> None:
        group = sub.add_mutually_exclusive_group(required=True)
        group.add_argument("--bucket", help="archive bucket name (S3)")
        group.add_argument("--dir", help="exported archive folder, e.g. out/archive")
        sub.add_argument("--from", dest="since", type=date.fromisoformat, help="first dt (YYYY-MM-DD)")
        sub.add_argument("--to", dest="until", type=date.fromisoformat, help="last dt (YYYY-MM-DD)")

    check = commands.add_parser("verify", help="check hashes, the hash chain and Object Lock")
    where(check)
    check.add_argument("--chain-table", help="ArchiveChainTable name: also check the chain heads")
    show = commands.add_parser("history", help="contact history of one loan from the archive")
    show.add_argument("--loan", required=True)
    show.add_argument("--json", action="store_true", help="JSON Lines instead of a table")
    where(show)
    erase = commands.add_parser("erase", help="request erasure of a borrower's personal data")
    erase.add_argument("--bus", required=True, help="LoanEventsBus name")
    erase.add_argument("--borrower-id", required=True)
    erase.add_argument("--request-id")
    erase.add_argument("--requested-at", type=parse_utc)
    return parser


@reports_aws_errors("arrears-audit")
def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "verify":
        heads = chain_heads(boto3.client("dynamodb"), args.chain_table) if args.chain_table else None
        report = verify(_source(args), since=args.since, until=args.until, heads=heads)
        for note in report.notes:
            print(f"note: {note}")
        for finding in report.findings:
            print(finding)
        chains = ", ".join(f"{j} seq 1..{n}" for j, n in sorted(report.chains.items())) or "none"
        print(
            f"{'OK' if report.ok else 'FAILED'}: {report.manifests} manifests, "
            f"{report.objects_checked} objects and {report.records} records checked, chains: {chains}; "
            f"{len(report.findings)} problem(s)"
        )
        return 0 if report.ok else 1
    if args.command == "history":
        rows = history(_source(args), args.loan, since=args.since, until=args.until)
        if not rows:
            print(f"no contact records for loan {args.loan} in the range read", file=sys.stderr)
            return 1
        if args.json:
            for row in rows:
                print(json.dumps(row, sort_keys=True, ensure_ascii=False))
        else:
            print(format_history(rows))
        return 0
    detail = erasure_event(args.borrower_id, args.request_id, args.requested_at)
    event_id = request_erasure(boto3.client("events"), args.bus, detail)
    print(f"erasure requested: request_id={detail['request_id']} event_id={event_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
