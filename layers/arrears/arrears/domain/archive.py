"""The audit archive format: pseudonymised JSON Lines batches and their hash-chained manifests.

Key layout `contacts/jurisdiction=<J>/dt=<YYYY-MM-DD>/<batch-id>.jsonl.gz` with a
`<batch-id>.manifest.json` beside it. Lines are built from an allow-list of fields, so a name,
phone, e-mail, address or message body cannot reach the archive even if a record carried one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

ARCHIVE_FIELDS = (
    "contact_id",
    "loan_id",
    "borrower_token",
    "channel",
    "step",
    "status",
    "occurred_at",
    "borrower_timezone",
    "borrower_local_time",
    "jurisdiction",
    "rule_pack",
    "strategy",
    "dpd",
    "bucket",
    "amount_due_minor",
    "currency",
    "reason",
    "template_id",
    "message_sha256",
    "rules_checked",
    "decided_by",  # the pack layer whose rule decided a deferral or suppression ("" when none)
    "zones_checked",  # IANA zones the contact hours were checked in (never a phone number)
    # A dialer's attempt (the call task's id, the attempt's number, its result, whether a
    # conversation was held) and a field visit (its result, the collectors' ids, the recording's
    # reference); empty on other records.
    "task_id",
    "attempt",
    "result",
    "conversation",
    "collector_ids",
    "recording_ref",
)
# What a line holds for a field its hot record lacks (older records, other channels): typed as in
# the Athena table (infrastructure/athena), never a string where a number or a list is declared.
ARCHIVE_DEFAULTS: dict[str, Any] = {"attempt": 0, "conversation": False, "collector_ids": []}


def archive_line(record: Mapping[str, Any], token: str) -> dict[str, Any]:
    """The archive form of one hot contact record: allow-listed fields, borrower id tokenised."""
    line = {
        name: record.get(name, ARCHIVE_DEFAULTS.get(name, ""))
        for name in ARCHIVE_FIELDS
        if name != "borrower_token"
    }
    line["zones_checked"] = list(record.get("zones_checked") or [])
    line["borrower_token"] = token
    return {name: line[name] for name in ARCHIVE_FIELDS}


def batch_id_for(contact_keys: Iterable[str]) -> str:
    """Deterministic batch id of a partition's records, from their keys (`<occurred_at>#<contact id>`,
    `ContactRecord.contact_key`): a retried batch of the same records maps to the same object.

    A key holds the record's instant, so two batches of different days never share an id (an archive
    chain claims a batch by its id: one id claimed for two partitions would give one manifest to two
    objects, and the chain would not verify).
    """
    return hashlib.sha256("\n".join(sorted(contact_keys)).encode()).hexdigest()[:32]


ARCHIVE_PREFIX = "contacts/"
DATA_SUFFIX = ".jsonl.gz"
MANIFEST_SUFFIX = ".manifest.json"
_KEY = re.compile(
    r"^contacts/jurisdiction=(?P<jurisdiction>[^/]+)/dt=(?P<day>\d{4}-\d{2}-\d{2})/(?P<batch>[0-9a-f]+)"
    r"(?P<suffix>\.jsonl\.gz|\.manifest\.json)$"
)


def object_key(jurisdiction: str, day: date, batch_id: str) -> str:
    """`contacts/jurisdiction=<J>/dt=<YYYY-MM-DD>/<batch-id>.jsonl.gz`: the data object of a batch."""
    return f"{ARCHIVE_PREFIX}jurisdiction={jurisdiction}/dt={day.isoformat()}/{batch_id}{DATA_SUFFIX}"


def manifest_key(data_key: str) -> str:
    """The manifest beside a data object: the same key with `.manifest.json` for `.jsonl.gz`."""
    return data_key.removesuffix(DATA_SUFFIX) + MANIFEST_SUFFIX


@dataclass(frozen=True, slots=True)
class ArchiveKey:
    """A key of the archive layout, read back: its jurisdiction, day, batch id, and whether it is
    the manifest (else the data object)."""

    jurisdiction: str
    day: date
    batch_id: str
    is_manifest: bool


def parse_key(key: str) -> ArchiveKey | None:
    """`key` read as an archive key (`object_key` / `manifest_key`), or None outside the layout."""
    match = _KEY.match(key)
    if match is None:
        return None
    try:
        day = date.fromisoformat(match["day"])
    except ValueError:
        return None
    return ArchiveKey(match["jurisdiction"], day, match["batch"], match["suffix"] == MANIFEST_SUFFIX)


def encode_lines(lines: Iterable[Mapping[str, Any]]) -> bytes:
    """gzip JSON Lines, byte-for-byte reproducible (fixed mtime, sorted keys)."""
    text = "".join(
        json.dumps(line, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines
    )
    return gzip.compress(text.encode(), compresslevel=6, mtime=0)


def decode_lines(blob: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(blob).decode().splitlines() if line]


@dataclass(frozen=True, slots=True)
class Manifest:
    object_key: str
    sha256: str
    records: int
    jurisdiction: str
    seq: int
    prev_manifest_sha256: str

    def to_bytes(self) -> bytes:
        body = {
            "object_key": self.object_key,
            "sha256": self.sha256,
            "records": self.records,
            "jurisdiction": self.jurisdiction,
            "seq": self.seq,
            "prev_manifest_sha256": self.prev_manifest_sha256,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Manifest:
        data = json.loads(blob)
        return cls(
            object_key=str(data["object_key"]),
            sha256=str(data["sha256"]),
            records=int(data["records"]),
            jurisdiction=str(data["jurisdiction"]),
            seq=int(data["seq"]),
            prev_manifest_sha256=str(data["prev_manifest_sha256"]),
        )


def sha256_hex(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def retain_until(day: date, years: int) -> date:
    """Object Lock retention end: `years` after the record's day (29 Feb rolls to 28 Feb)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True, slots=True)
class ArchiveLock:
    """The stage's Object Lock on archived objects (template: `Stage`, `DevArchiveLockDays`).

    prod: COMPLIANCE until `years` after the record's day (`retain_until`, the jurisdiction's
    retention): nobody, not even the root user, can shorten it or delete the object before then.
    Any other stage: GOVERNANCE for `days` from the day of the write, so a trial stack can be
    emptied and deleted by a role holding s3:BypassGovernanceRetention. Raises `ValueError` for
    COMPLIANCE with a fixed period or GOVERNANCE without one.
    """

    mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE"
    days: int = 0

    def __post_init__(self) -> None:
        if (self.mode == "GOVERNANCE") != (self.days > 0):
            raise ValueError(
                "GOVERNANCE needs a period in days; COMPLIANCE takes the jurisdiction's retention"
            )

    def until(self, day: date, years: int, written_on: date) -> date:
        """The retain-until date (00:00 UTC) of an object for a record of `day`, written on `written_on`."""
        if self.mode == "GOVERNANCE":
            return written_on + timedelta(days=self.days)
        return retain_until(day, years)
