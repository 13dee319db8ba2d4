"""Archive efficiency: S3 objects and PUT requests per 1,000 contact records, measured on moto.

Drives the real archiver handler through the local cloud: contact records are written to the
Contacts table the way the dispatcher writes them (in bursts at the 08:00 local flush and through
the day, CN and US, some near UTC midnight so a stream batch spans two days), the local cloud
delivers the stream in the template's batches (BatchSize, INSERT filter), and the bucket is counted
afterwards: every PUT leaves one object version, so versions = PUT requests.

`archive_section()` opens its own `mock_aws()`; call it outside any other moto context.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from arrears.adapters.tables import pages
from arrears.domain.actions import ActionStatus, ContactRecord
from arrears.domain.strategy import Channel

ZONES = {"CN": ("Asia/Shanghai", "CNY", "CN-2024"), "US-REGF": ("America/New_York", "USD", "US-REGF-2021")}


def synthetic_contacts(
    count: int,
    *,
    start: datetime = datetime(2026, 3, 2, tzinfo=UTC),
    per_day: int = 400,
    loans: int = 150,
) -> Iterator[ContactRecord]:
    """`count` plausible contact records, `per_day` a day, CN mornings and US evenings (UTC midnight)."""
    channels = (Channel.SMS, Channel.EMAIL, Channel.CALL_TASK)
    for n in range(count):
        day, slot = divmod(n, per_day)
        jurisdiction = "CN" if n % 3 else "US-REGF"
        zone, currency, pack = ZONES[jurisdiction]
        base = start + timedelta(days=day)
        # CN: 00:00-02:00 UTC (08:00-10:00 Shanghai); US: 22:00-02:00 UTC, across midnight.
        offset = (
            timedelta(seconds=slot * 17 % 7200)
            if jurisdiction == "CN"
            else timedelta(hours=-2, seconds=slot * 31 % 14400)
        )
        occurred = base + offset
        loan = f"L-{n % loans:05d}"
        contact_id = hashlib.sha256(f"bench-{n}".encode()).hexdigest()[:24]
        yield ContactRecord(
            contact_id=contact_id,
            action_id=f"A-{contact_id[:12]}",
            loan_id=loan,
            borrower_id=f"B-{n % loans:05d}",
            channel=channels[n % len(channels)],
            step="sms-d1",
            status=ActionStatus.SENT,
            occurred_at=occurred,
            borrower_timezone=zone,
            borrower_local_time=occurred.strftime("%Y-%m-%dT%H:%M:%S"),
            jurisdiction=jurisdiction,
            rule_pack=pack,
            strategy="default@1",
            dpd=1 + day,
            bucket="M1",
            amount_due_minor=52_300,
            currency=currency,
            reason="",
            template_id="reminder-d1",
            message_sha256=hashlib.sha256(f"message-{n}".encode()).hexdigest(),
            rules_checked=(("hours", "ok"), ("frequency", "ok")),
        )


def _with_ttl(stack: Any) -> int:
    """Hot Contacts records that the archiver released to TTL (expires_at set after archiving)."""
    table = boto3.resource("dynamodb").Table(stack.physical["ContactsTable"])
    counted = pages(table.scan, Select="COUNT", FilterExpression="attribute_exists(expires_at)")
    return sum(int(page.get("Count", 0)) for page in counted)


def measure(stack: Any, cloud: Any, contacts: Any, records: int, burst: int) -> dict[str, Any]:
    """Write `records` contacts in bursts of `burst`, settling the streams after each burst."""
    started = time.perf_counter()
    batch: list[ContactRecord] = []
    for contact in synthetic_contacts(records):
        batch.append(contact)
        if len(batch) == burst:
            for c in batch:
                contacts.record(c)
            cloud.settle()
            batch = []
    for c in batch:
        contacts.record(c)
    cloud.settle()
    s3 = boto3.client("s3")
    bucket = stack.physical["ArchiveBucket"]
    versions: list[Any] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix="contacts/"):
        versions.extend(page.get("Versions", []))
    data = [v for v in versions if str(v["Key"]).endswith(".jsonl.gz") and v.get("IsLatest")]
    puts = len(versions)
    invocations = cloud.counts.get("ArchiverFunction", 0)
    return {
        "records": records,
        "burst": burst,
        "archiver_invocations": invocations,
        "objects": len(data),
        "put_requests": puts,
        "objects_per_1000_records": round(1000 * len(data) / records, 2),
        "puts_per_1000_records": round(1000 * puts / records, 2),
        "mean_records_per_object": round(records / max(len(data), 1), 1),
        "mean_object_bytes": round(sum(int(v["Size"]) for v in data) / max(len(data), 1)),
        "hot_records_with_ttl_per_1000": round(1000 * _with_ttl(stack) / records, 1),
        "elapsed_s": round(time.perf_counter() - started, 2),
    }


def archive_section(records: int = 1000, burst: int = 250) -> dict[str, Any]:
    from moto import mock_aws

    from arrears.adapters.container import Container
    from arrears.config.settings import load_settings
    from localcloud.cloud import LocalCloud
    from localcloud.stack import deploy

    template = Path(__file__).resolve().parents[1] / "template.yaml"
    with mock_aws():
        stack = deploy(template)
        settings = load_settings(stack.functions["ArchiverFunction"].environment)
        container = Container(settings, boto3.session.Session())
        cloud = LocalCloud(stack, start=datetime(2026, 3, 2, tzinfo=UTC))
        result = measure(stack, cloud, container.contacts, records, burst)
    result["method"] = (
        "real archiver handler on moto via the local cloud (template BatchSize and INSERT filter); "
        "contacts written in bursts then the stream settled; PUTs counted as object versions"
    )
    result["note"] = (
        "one object per (jurisdiction, UTC day) per stream batch: in production the batching window "
        "(MaximumBatchingWindowInSeconds) and BatchSize set the object count; S3 lifecycle does not "
        "transition objects under 128 KiB by default"
    )
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(archive_section(), indent=2))
