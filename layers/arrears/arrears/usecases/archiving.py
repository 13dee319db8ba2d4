"""The archiver: one pseudonymised, hash-chained, write-once object per batch and partition.

Order of writes per partition, and what a crash after each step leaves:

1. PUT the data object (deterministic key and bytes). Crash: an object without a manifest; the
   retried batch PUTs the same bytes again (a second identical version under Object Lock).
2. Append to the jurisdiction's chain: one DynamoDB transaction moves the head (conditional on the
   seq read) and writes a claim item for the batch holding its manifest. Concurrent archivers
   (one per stream shard) race on the condition; the loser re-reads the head and retries.
   Crash: the retry finds the claim and reuses that manifest (same seq), even if other batches
   were appended meanwhile, so a batch never takes two seqs and no seq is left without a manifest.
3. PUT the manifest. Its existence marks the partition done: a retried batch skips it.
4. Set `expires_at` on the archived hot records: only now may TTL delete them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.dynamodb import ArchiveChainRepository, ChainHead, ContactRepository
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.archive import (
    Manifest,
    archive_line,
    batch_id_for,
    encode_lines,
    manifest_key,
    object_key,
    sha256_hex,
)
from arrears.domain.calendar import parse_utc
from arrears.domain.tokens import borrower_token

MAX_CHAIN_RETRIES = 20


@dataclass
class ArchiveResult:
    objects: list[str] = field(default_factory=list)
    records: int = 0
    already_archived: int = 0
    puts: int = 0
    ttl_set: int = 0


def partition_of(record: Mapping[str, Any]) -> tuple[str, date]:
    """(jurisdiction, occurred_at day in UTC) of a contact record; raises on a malformed one."""
    jurisdiction = str(record["jurisdiction"])
    rule_pack_for(jurisdiction)
    return jurisdiction, parse_utc(str(record["occurred_at"])).date()


def _chain_manifest(
    chain: ArchiveChainRepository, jurisdiction: str, key: str, blob: bytes, records: int, batch_id: str
) -> bytes:
    """Append the batch to the jurisdiction's hash chain once; safe to repeat after a crash."""
    for _ in range(MAX_CHAIN_RETRIES):
        claimed = chain.claimed(jurisdiction, batch_id)
        if claimed is not None:
            return claimed  # appended before a crash: write the same manifest again
        head: ChainHead = chain.head(jurisdiction)
        manifest = Manifest(key, sha256_hex(blob), records, jurisdiction, head.seq + 1, head.manifest_sha256)
        body = manifest.to_bytes()
        if chain.advance(head, sha256_hex(body), batch_id, body):
            return body
    raise RuntimeError(
        f"archive chain {jurisdiction}: head kept moving, gave up after {MAX_CHAIN_RETRIES} tries"
    )


def _set_ttl(contacts: ContactRepository, group: Sequence[Mapping[str, Any]], key: str, ttl_days: int) -> int:
    keys = [
        (
            str(record["loan_id"]),
            str(record["contact_key"]),
            int((parse_utc(str(record["occurred_at"])) + timedelta(days=ttl_days)).timestamp()),
        )
        for record in group
        if record.get("loan_id") and record.get("contact_key")
    ]
    return contacts.mark_archived_many(keys, key)


def archive_records(
    records: Sequence[Mapping[str, Any]],
    *,
    store: ArchiveStore,
    chain: ArchiveChainRepository,
    token_secret: Callable[[], bytes],
    contacts: ContactRepository | None = None,
    ttl_days: int = 90,
) -> ArchiveResult:
    """Archive already-validated contact records, one object per (jurisdiction, day) partition.

    With `contacts`, each archived hot record gets `expires_at` = occurred_at + `ttl_days`.
    """
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
        else:
            lines = [archive_line(r, borrower_token(secret, str(r["borrower_id"]))) for r in ordered]
            blob = encode_lines(lines)
            years = rule_pack_for(jurisdiction).retention_years
            store.put(key, blob, content_type="application/gzip", day=day, years=years)
            manifest = _chain_manifest(chain, jurisdiction, key, blob, len(lines), batch_id)
            store.put(manifest_key(key), manifest, content_type="application/json", day=day, years=years)
            result.objects.append(key)
            result.records += len(lines)
            result.puts += 2
        if contacts is not None:  # also after a crash between the manifest and the TTL
            result.ttl_set += _set_ttl(contacts, ordered, key, ttl_days)
    return result
