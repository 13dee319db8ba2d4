"""The archiver: one pseudonymised, hash-chained, write-once object per batch and partition.

Order of writes per partition, and what a crash after each step leaves:

1. Append to the jurisdiction's chain: one DynamoDB transaction moves the head (conditional on the
   seq read) and writes a claim item for the batch holding its manifest and its data object (the
   gzipped lines, a few KB per 100 records). Concurrent archivers
   (one per stream shard) race on the condition; the loser re-reads the head and retries.
   Crash: the retry finds the claim and reuses that manifest (same seq), even if other batches
   were appended meanwhile, so a batch never takes two seqs and no seq is left without a manifest.
2. PUT the data object (deterministic key and bytes; a repeat adds an identical locked version).
3. PUT the manifest. Its existence marks the partition done: a retried batch skips it.
4. Set `expires_at` and `archived_in` on the archived hot records: only now may TTL delete them.
5. Drop the batch from the chain head's `pending` set.

Each call (a read, the chain's conditional append, a PUT of the same bytes, the TTL and `pending`
updates) is idempotent and retried alone on a transient error
(`arrears.adapters.retrying.retry_transient`): a batch of a hundred records makes a few dozen calls,
and at a steady rate of transient errors a batch retried whole (each stream retry starting over,
Lambda bisecting) would meet one on nearly every attempt. The chain's append applied whose answer was
lost is refused on its retry and found by `claimed` on the loop's next turn.

Completion does not depend on how Lambda splits a batch. A run that fails after step 2 may never
come back with the same records: Lambda bisects a failing batch, and each half gets its own batch
id. So before archiving a partition, the archiver completes every batch its jurisdiction's head
still lists as pending (the claim holds the manifest, the retention date and the records: steps 3
to 5 again, each idempotent), then leaves out the records already archived (`archived_in` on the
hot record, read in one batch): a record is in the archive exactly once, and the chain has no seq
without its manifest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.dynamodb import ArchiveChainRepository, ChainHead, ContactRepository
from arrears.adapters.retrying import retry_transient
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
    completed_pending: int = 0


def partition_of(record: Mapping[str, Any]) -> tuple[str, date]:
    """(jurisdiction, occurred_at day in UTC) of a contact record; raises on a malformed one."""
    jurisdiction = str(record["jurisdiction"])
    rule_pack_for(jurisdiction)
    return jurisdiction, parse_utc(str(record["occurred_at"])).date()


def _chain_manifest(
    chain: ArchiveChainRepository,
    jurisdiction: str,
    key: str,
    blob: bytes,
    group: Sequence[Mapping[str, Any]],
    batch_id: str,
    keep_until: date,
) -> bytes:
    """Append the batch to the jurisdiction's hash chain once; safe to repeat after a crash."""
    for _ in range(MAX_CHAIN_RETRIES):
        claimed = retry_transient(partial(chain.claimed, jurisdiction, batch_id))
        if claimed is not None:
            return claimed  # appended before a crash: write the same manifest again
        head: ChainHead = retry_transient(partial(chain.head, jurisdiction))
        manifest = Manifest(
            key, sha256_hex(blob), len(group), jurisdiction, head.seq + 1, head.manifest_sha256
        )
        body = manifest.to_bytes()
        records = [(str(r["loan_id"]), str(r["contact_key"]), str(r["occurred_at"])) for r in group]
        advance = partial(
            chain.advance,
            head,
            sha256_hex(body),
            batch_id,
            body,
            retain_until=keep_until.isoformat(),
            records=records,
            data=blob,
        )
        if retry_transient(advance):
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
    return contacts.mark_archived_many(keys, key)  # each mark retried alone


def _complete_pending(
    jurisdiction: str,
    *,
    store: ArchiveStore,
    chain: ArchiveChainRepository,
    contacts: ContactRepository | None,
    ttl_days: int,
    result: ArchiveResult,
) -> None:
    """Finish every batch the jurisdiction's chain head still lists as pending (steps 3 to 5)."""
    for batch_id in sorted(retry_transient(partial(chain.head, jurisdiction)).pending):
        claim = retry_transient(partial(chain.claim, jurisdiction, batch_id))
        if claim is not None:
            key = Manifest.from_bytes(claim.manifest).object_key
            retain_until = date.fromisoformat(claim.retain_until)
            if claim.data and not _exists(store, key):
                _put(store, key, claim.data, "application/gzip", retain_until)
                result.puts += 1
            if not _exists(store, manifest_key(key)):
                _put(store, manifest_key(key), claim.manifest, "application/json", retain_until)
                result.puts += 1
                result.completed_pending += 1
            if contacts is not None:
                group = [{"loan_id": n, "contact_key": k, "occurred_at": o} for n, k, o in claim.records]
                result.ttl_set += _set_ttl(contacts, group, key, ttl_days)
        retry_transient(partial(chain.completed, jurisdiction, batch_id))


def _exists(store: ArchiveStore, key: str) -> bool:
    return retry_transient(partial(store.exists, key))


def _put(store: ArchiveStore, key: str, body: bytes, content_type: str, retain_until: date) -> None:
    """PUT `body` under `key` (the same bytes on every attempt: a repeat adds an identical locked
    version, which the verifier reads as one object)."""
    retry_transient(partial(store.put, key, body, content_type=content_type, retain_until=retain_until))


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
    secret = retry_transient(token_secret)
    for jurisdiction in sorted({j for j, _ in groups}):
        _complete_pending(
            jurisdiction, store=store, chain=chain, contacts=contacts, ttl_days=ttl_days, result=result
        )
    for (jurisdiction, day), group in sorted(groups.items()):
        ordered = sorted(group, key=lambda r: (str(r["occurred_at"]), str(r["contact_id"])))
        if contacts is not None:
            pairs = [(str(r["loan_id"]), str(r["contact_key"])) for r in ordered]
            done = retry_transient(partial(contacts.archived, pairs))
            result.already_archived += sum(1 for r in ordered if str(r["contact_key"]) in done)
            ordered = [r for r in ordered if str(r["contact_key"]) not in done]
            if not ordered:
                continue
        batch_id = batch_id_for(str(r["contact_key"]) for r in ordered)
        key = object_key(jurisdiction, day, batch_id)
        if _exists(store, manifest_key(key)):
            result.already_archived += len(ordered)
        else:
            lines = [archive_line(r, borrower_token(secret, str(r["borrower_id"]))) for r in ordered]
            blob = encode_lines(lines)
            keep_until = store.retain_until(day, rule_pack_for(jurisdiction).retention_years)
            # The chain first (its claim holds the data too), then the data: a run that dies in between
            # leaves a pending batch that the next run completes, never a data object outside the chain.
            manifest = _chain_manifest(chain, jurisdiction, key, blob, ordered, batch_id, keep_until)
            _put(store, key, blob, "application/gzip", keep_until)
            _put(store, manifest_key(key), manifest, "application/json", keep_until)
            result.objects.append(key)
            result.records += len(lines)
            result.puts += 2
        if contacts is not None:  # also after a crash between the manifest and the TTL
            result.ttl_set += _set_ttl(contacts, ordered, key, ttl_days)
        retry_transient(partial(chain.completed, jurisdiction, batch_id))
    return result
