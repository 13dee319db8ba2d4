"""Helpers for the archive tests: synthetic contact records archived through the real adapters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3

from arrears.adapters.container import Container
from arrears.adapters.items import contact_to_item
from arrears.domain.actions import ContactRecord
from arrears.usecases.archiving import ArchiveResult, archive_records
from benchmarks.archive import synthetic_contacts
from localcloud.stack import LocalStack


def records(count: int, **kwargs: Any) -> list[dict[str, Any]]:
    return [contact_to_item(c) for c in synthetic_contacts(count, **kwargs)]


def contacts(count: int, **kwargs: Any) -> list[ContactRecord]:
    return list(synthetic_contacts(count, **kwargs))


def archive(container: Container, batch: Sequence[dict[str, Any]], **kwargs: Any) -> ArchiveResult:
    values: dict[str, Any] = {
        "store": container.archive_store,
        "chain": container.archive_chain,
        "token_secret": container.token_secret.value,
    }
    values.update(kwargs)
    return archive_records(batch, **values)


def bucket_objects(stack: LocalStack, prefix: str = "contacts/") -> dict[str, bytes]:
    s3 = boto3.client("s3")
    bucket = stack.physical["ArchiveBucket"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def overwrite(stack: LocalStack, key: str, body: bytes, **lock: Any) -> None:
    """A new version over a locked one: what someone with s3:PutObject could do to the current view
    (`lock`: the ObjectLockMode/ObjectLockRetainUntilDate they chose; else the bucket's default)."""
    boto3.client("s3").put_object(Bucket=stack.physical["ArchiveBucket"], Key=key, Body=body, **lock)


def delete(stack: LocalStack, key: str) -> None:
    """A delete marker (the locked version stays, but the key disappears from listings)."""
    boto3.client("s3").delete_object(Bucket=stack.physical["ArchiveBucket"], Key=key)
