"""The archiver under faults: every record archived once, the chain unbroken.

A batch dies after the chain gave it a seq and before its manifest (or its TTL marks); Lambda then
retries the two halves, each with a batch id of its own. The half-written batch is completed by the
next run of its jurisdiction and its records are not archived a second time. And a batch of many
records is archived in one invocation while one AWS call in three times out: each call is retried
alone, where the 10 % fault run left archiver batches in the failure queue after every redrive.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from arrears.adapters.container import Container
from arrears.adapters.items import contact_to_item
from arrears.domain.archive import Manifest
from localcloud.simulation import export_archive
from localcloud.stack import LocalStack
from tests.integration.archive_support import archive, bucket_objects, contacts
from tests.integration.fault_support import every_third_call_fails
from tests.integration.test_archive import CrashOnManifest, verified


class CrashOnTtl:
    """Contacts whose TTL marks fail once, after the manifest was written."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.crashed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def mark_archived_many(self, keys: Any, archive_key: str) -> int:
        if not self.crashed:
            self.crashed = True
            raise ConnectionError("simulated crash before the TTL marks")
        return int(self._inner.mark_archived_many(keys, archive_key))


def _archived_ids(stack: LocalStack) -> Counter[str]:
    seen: Counter[str] = Counter()
    for key, body in bucket_objects(stack).items():
        if key.endswith(".jsonl.gz"):
            for line in gzip.decompress(body).splitlines():
                seen[json.loads(line)["contact_id"]] += 1
    return seen


def _hot(container: Container, count: int) -> list[dict[str, Any]]:
    written = [c for c in contacts(count, per_day=count) if c.jurisdiction == "CN"]
    for contact in written:
        assert container.contacts.record(contact)
    return [contact_to_item(c) for c in written]


@pytest.mark.parametrize("crash", ["before the manifest", "before the TTL marks"])
def test_a_bisected_batch_is_completed_and_archives_each_record_once(
    stack: LocalStack, container: Container, crash: str
) -> None:
    batch = _hot(container, 40)
    store = container.archive_store
    hot = container.contacts
    if crash == "before the manifest":
        store = CrashOnManifest.of(container)
    else:
        hot = CrashOnTtl(hot)  # type: ignore[assignment]
    with pytest.raises(ConnectionError):
        archive(container, batch, store=store, contacts=hot)

    half = len(batch) // 2
    first = archive(container, batch[:half], contacts=container.contacts)
    second = archive(container, batch[half:], contacts=container.contacts)

    assert first.completed_pending + second.completed_pending == (1 if crash == "before the manifest" else 0)
    assert first.already_archived + second.already_archived == len(batch)
    ids = _archived_ids(stack)
    assert sorted(ids.values()) == [1] * len(batch)
    assert verified(stack, container) == []
    assert container.archive_chain.head("CN").pending == frozenset()
    seqs = [
        Manifest.from_bytes(b).seq for k, b in bucket_objects(stack).items() if k.endswith(".manifest.json")
    ]
    assert seqs == [1]


@pytest.mark.parametrize("after", [False, True], ids=["before-the-call", "after-it-applied"])
def test_a_batch_is_archived_in_one_invocation_while_one_call_in_three_fails(
    stack: LocalStack, container: Container, after: bool
) -> None:
    # A batch left half-written (its manifest never PUT) for the next run to complete, then a batch of
    # sixty records over three days and both jurisdictions, archived while every third call fails.
    written = contacts(60, per_day=20)
    for contact in written:
        assert container.contacts.record(contact)
    batch = [contact_to_item(c) for c in written]
    cn = [item for item in batch if item["jurisdiction"] == "CN"]
    crashing = CrashOnManifest.of(container)
    with pytest.raises(ConnectionError):
        archive(container, cn[:5], store=crashing, contacts=container.contacts)

    with every_third_call_fails(after=after) as failed:
        result = archive(container, batch, contacts=container.contacts)

    assert len(failed) >= 10  # faults met all over the batch: chain, objects, TTL marks
    assert result.completed_pending == 1
    assert sorted(_archived_ids(stack).values()) == [1] * len(batch)
    assert verified(stack, container) == []
    for jurisdiction in ("CN", "US"):
        assert container.archive_chain.head(jurisdiction).pending == frozenset()
    assert container.contacts.archived([(i["loan_id"], i["contact_key"]) for i in batch]) == {
        i["contact_key"] for i in batch
    }


def test_a_record_already_archived_is_left_out_of_a_later_batch(
    stack: LocalStack, container: Container
) -> None:
    batch = _hot(container, 20)
    archive(container, batch, contacts=container.contacts)
    result = archive(container, batch[:7], contacts=container.contacts)
    assert result.already_archived == 7
    assert result.objects == []
    assert sorted(_archived_ids(stack).values()) == [1] * len(batch)


def test_two_partitions_holding_one_contact_id_never_share_a_batch_id(
    stack: LocalStack, container: Container
) -> None:
    # One contact id at two instants a day apart (a record rebuilt at a retry's instant): each day's
    # partition is its own batch with its own manifest, and the chain verifies.
    (first,) = contacts(1, per_day=1)
    again = replace(first, occurred_at=first.occurred_at + timedelta(days=1))
    for contact in (first, again):
        assert container.contacts.record(contact)
        archive(container, [contact_to_item(contact)], contacts=container.contacts)

    manifests = [
        Manifest.from_bytes(b) for k, b in bucket_objects(stack).items() if k.endswith(".manifest.json")
    ]
    assert sorted(m.seq for m in manifests) == [1, 2]
    assert len({m.object_key for m in manifests}) == 2
    assert verified(stack, container) == []


def test_the_demo_exports_only_its_own_archive_into_a_reused_directory(
    stack: LocalStack, container: Container, tmp_path: Path
) -> None:
    # A run into the directory of an earlier run: the earlier objects would be verified with this
    # run's (twice the records, manifests of another chain).
    stale = tmp_path / "archive" / "contacts" / "jurisdiction=CN" / "dt=2026-02-01" / "0a1b.manifest.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    archive(container, _hot(container, 4), contacts=container.contacts)

    keys = export_archive(stack, tmp_path / "archive")

    assert keys
    on_disk = sorted(str(p.relative_to(tmp_path / "archive")) for p in (tmp_path / "archive").rglob("*.*"))
    assert on_disk == keys
    assert not stale.exists()
