"""The archiver on moto: partitions, retries, crashes between writes, concurrent writers, TTL release."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.container import Container
from arrears.adapters.dynamodb import ArchiveChainRepository, ChainHead
from arrears.adapters.secrets import TokenSecret
from arrears.domain.archive import Manifest, decode_lines
from arrears_cli.audit import S3Source, chain_heads, verify
from localcloud.stack import LocalStack
from tests.integration.archive_support import archive, bucket_objects, contacts, records
from tests.integration.conftest import CloudFactory, utc


def manifests(stack: LocalStack) -> list[Manifest]:
    return sorted(
        (Manifest.from_bytes(b) for k, b in bucket_objects(stack).items() if k.endswith(".manifest.json")),
        key=lambda m: (m.jurisdiction, m.seq),
    )


def verified(stack: LocalStack, container: Container) -> list[str]:
    source = S3Source(boto3.client("s3"), stack.physical["ArchiveBucket"])
    heads = chain_heads(boto3.client("dynamodb"), container.settings.archive_chain_table)
    return [str(f) for f in verify(source, heads=heads).findings]


def test_a_batch_spanning_days_and_jurisdictions_writes_one_object_per_partition(
    stack: LocalStack, container: Container
) -> None:
    batch = records(300, per_day=150)  # two days; US records straddle UTC midnight

    result = archive(container, batch)

    objects = bucket_objects(stack)
    data = {k: decode_lines(b) for k, b in objects.items() if k.endswith(".jsonl.gz")}
    assert (
        len(data) == len(result.objects) == len({(r["jurisdiction"], r["occurred_at"][:10]) for r in batch})
    )
    for key, lines in data.items():
        for line in lines:
            assert f"jurisdiction={line['jurisdiction']}/dt={line['occurred_at'][:10]}/" in key
    assert sum(len(lines) for lines in data.values()) == 300
    assert result.puts == 2 * len(data)
    assert verified(stack, container) == []


def test_a_retried_batch_writes_nothing_and_does_not_move_the_chain(
    stack: LocalStack, container: Container
) -> None:
    batch = records(120)
    first = archive(container, batch)
    heads = chain_heads(boto3.client("dynamodb"), container.settings.archive_chain_table)

    again = archive(container, list(reversed(batch)))

    assert again.objects == []
    assert again.puts == 0
    assert again.already_archived == first.records == 120
    assert chain_heads(boto3.client("dynamodb"), container.settings.archive_chain_table) == heads


class CrashOnManifest(ArchiveStore):
    """Dies after the chain moved, before the manifest PUT (once)."""

    crashed = False

    @classmethod
    def of(cls, container: Container) -> CrashOnManifest:
        """The stack's archive store, crashing before its first manifest PUT."""
        return cls(
            boto3.client("s3"),
            container.settings.archive_bucket,
            container.settings.archive_kms_key_id,
            lock=container.archive_store.lock,
        )

    def put(self, key: str, body: bytes, **kwargs: Any) -> None:
        if key.endswith(".manifest.json") and not self.crashed:
            self.crashed = True
            raise ConnectionError("simulated crash before the manifest PUT")
        super().put(key, body, **kwargs)


def test_a_crash_between_chain_and_manifest_reuses_its_seq_even_after_other_batches(
    stack: LocalStack, container: Container
) -> None:
    cn = [r for r in records(200, per_day=200) if r["jurisdiction"] == "CN"]
    first, second = cn[:50], cn[50:100]
    crashing = CrashOnManifest.of(container)
    with pytest.raises(ConnectionError):
        archive(container, first, store=crashing)
    archive(container, second)  # another archiver appends meanwhile (seq 2)

    archive(container, first)  # the retried batch

    seqs = [(m.seq, m.records) for m in manifests(stack)]
    assert seqs == [(1, 50), (2, 50)]
    assert verified(stack, container) == []


class RacingChain(ArchiveChainRepository):
    """Lets another archiver append between reading the head and the conditional write (once)."""

    def __init__(self, inner: ArchiveChainRepository, rival: Callable[[], object]) -> None:
        super().__init__(inner._table)
        self._rival: Callable[[], object] | None = rival
        self.lost = 0

    def advance(
        self, previous: ChainHead, manifest_sha256: str, batch_id: str, manifest: bytes, **claim: Any
    ) -> bool:
        if self._rival is not None:
            rival, self._rival = self._rival, None
            rival()
        moved = super().advance(previous, manifest_sha256, batch_id, manifest, **claim)
        self.lost += not moved
        return moved


def test_concurrent_archivers_race_on_the_head_and_the_chain_stays_continuous(
    stack: LocalStack, container: Container
) -> None:
    cn = [r for r in records(300, per_day=300) if r["jurisdiction"] == "CN"]
    racing = RacingChain(container.archive_chain, lambda: archive(container, cn[100:150]))

    archive(container, cn[:100], chain=racing)

    assert racing.lost == 1
    assert [m.seq for m in manifests(stack)] == [1, 2]
    assert verified(stack, container) == []


def test_tokens_are_hmac_sha256_with_the_template_secret_read_once(
    stack: LocalStack, container: Container
) -> None:
    secret_arn = container.settings.token_secret_arn
    key = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"].encode()
    assert len(key) >= 32
    calls: list[str] = []

    class Counting:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            calls.append(SecretId)
            return boto3.client("secretsmanager").get_secret_value(SecretId=SecretId)  # type: ignore[return-value]

    secret = TokenSecret(Counting(), secret_arn)  # type: ignore[arg-type]
    batch = records(10)
    archive(container, batch[:5], token_secret=secret.value)
    archive(container, batch[5:], token_secret=secret.value)

    assert calls == [secret_arn]
    lines = [
        line for k, b in bucket_objects(stack).items() if k.endswith(".jsonl.gz") for line in decode_lines(b)
    ]
    expected = {
        r["contact_id"]: hmac.new(key, r["borrower_id"].encode(), hashlib.sha256).hexdigest() for r in batch
    }
    assert {line["contact_id"]: line["borrower_token"] for line in lines} == expected


def test_hot_records_get_their_ttl_only_once_archived_and_the_modify_is_not_rearchived(
    stack: LocalStack, container: Container, make_cloud: CloudFactory
) -> None:
    cloud = make_cloud(utc(2026, 3, 2))
    written = contacts(30)
    table = boto3.resource("dynamodb").Table(container.settings.contacts_table)
    for contact in written:
        assert container.contacts.record(contact)
    before = [
        table.get_item(Key={"loan_id": c.loan_id, "contact_key": c.contact_key})["Item"] for c in written
    ]
    assert all("expires_at" not in item for item in before)

    cloud.settle()
    objects = bucket_objects(stack)
    invocations = cloud.counts["ArchiverFunction"]
    cloud.settle()  # the MODIFY events of the TTL updates reach the stream, not the archiver

    for contact in written:
        item = table.get_item(Key={"loan_id": contact.loan_id, "contact_key": contact.contact_key})["Item"]
        expected = contact.occurred_at + timedelta(days=container.settings.contact_ttl_days)
        assert int(item["expires_at"]) == int(expected.timestamp())  # type: ignore[arg-type]
        assert str(item["archived_in"]).startswith(f"contacts/jurisdiction={contact.jurisdiction}/")
    assert bucket_objects(stack) == objects
    assert cloud.counts["ArchiverFunction"] == invocations
