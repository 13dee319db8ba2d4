"""The archiver: one pseudonymised, hash-chained, write-once object per batch and partition."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.dynamodb import ArchiveChainRepository, ChainHead
from arrears.domain.archive import (
    Manifest,
    archive_line,
    batch_id_for,
    encode_lines,
    manifest_key,
    object_key,
    retain_until,
    sha256_hex,
)
from arrears.domain.calendar import parse_utc
from arrears.domain.compliance import rule_pack_for
from arrears.domain.tokens import borrower_token

MAX_CHAIN_RETRIES = 20


@dataclass
class ArchiveResult:
    objects: list[str] = field(default_factory=list)
    records: int = 0
    already_archived: int = 0
    puts: int = 0


def partition_of(record: Mapping[str, Any]) -> tuple[str, date]:
    """(jurisdiction, occurred_at day in UTC) of a contact record; raises on a malformed one."""
    jurisdiction = str(record["jurisdiction"])
    rule_pack_for(jurisdiction)
    return jurisdiction, parse_utc(str(record["occurred_at"])).date()


def _chain_manifest(
    chain: ArchiveChainRepository, jurisdiction: str, key: str, blob: bytes, records: int, batch_id: str
) -> bytes:
    """Append the batch to the jurisdiction's hash chain; safe to repeat after a crash."""
    for _ in range(MAX_CHAIN_RETRIES):
        head: ChainHead = chain.head(jurisdiction)
        if head.last_batch_id == batch_id:
            return head.last_manifest  # advanced before a crash: write the same manifest again
        manifest = Manifest(key, sha256_hex(blob), records, jurisdiction, head.seq + 1, head.manifest_sha256)
        body = manifest.to_bytes()
        if chain.advance(head, sha256_hex(body), batch_id, body):
            return body
    raise RuntimeError(
        f"archive chain {jurisdiction}: head kept moving, gave up after {MAX_CHAIN_RETRIES} tries"
    )


def archive_records(
    records: Sequence[Mapping[str, Any]],
    *,
    store: ArchiveStore,
    chain: ArchiveChainRepository,
    token_secret: Callable[[], bytes],
) -> ArchiveResult:
    """Archive already-validated contact records, one object per (jurisdiction, day) partition."""
    result = ArchiveResult()
    groups: dict[tuple[str, date], list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        groups[partition_of(record)].append(record)
    secret = token_secret()
    for (jurisdiction, day), group in sorted(groups.items()):
        ordered = sorted(group, key=lambda r: (str(r["occurred_at"]), str(r["contact_id"])))
        batch_id = batch_id_for(str(r["contact_id"]) for r in ordered)
        key = object_key(jurisdiction, day, batch_id)
        if store.exists(manifest_key(key)):
            result.already_archived += len(ordered)
            continue
        lines = [archive_line(r, borrower_token(secret, str(r["borrower_id"]))) for r in ordered]
        blob = encode_lines(lines)
        keep_until = retain_until(day, rule_pack_for(jurisdiction).retention_years)
        store.put(key, blob, content_type="application/gzip", retain_until=keep_until)
        manifest = _chain_manifest(chain, jurisdiction, key, blob, len(lines), batch_id)
        store.put(manifest_key(key), manifest, content_type="application/json", retain_until=keep_until)
        result.objects.append(key)
        result.records += len(lines)
        result.puts += 2
    return result
