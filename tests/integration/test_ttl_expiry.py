"""The local cloud deletes the items whose DynamoDB TTL has passed at each new simulated day, as
DynamoDB does (localcloud.lean.expire_ttl_items): the idempotency and outbox records, the sweep runs
and the call ledger's windows stay bounded by their TTL instead of growing for the whole run."""

from __future__ import annotations

from datetime import timedelta

import boto3

from arrears.config.settings import Settings
from tests.integration.conftest import CloudFactory, utc

START = utc(2026, 3, 1, 12)


def test_only_items_past_their_ttl_are_deleted_and_only_at_a_new_day(
    make_cloud: CloudFactory, settings: Settings
) -> None:
    cloud = make_cloud(START, expire_ttl=True)
    table = boto3.resource("dynamodb").Table(settings.idempotency_table)
    past, later = int((START - timedelta(hours=1)).timestamp()), int((START + timedelta(days=2)).timestamp())
    table.put_item(Item={"id": "expired", "expiration": past})
    table.put_item(Item={"id": "fresh", "expiration": later})
    table.put_item(Item={"id": "no-ttl"})
    table.put_item(Item={"id": "text-ttl", "expiration": str(past)})  # not a number: never expires
    contacts = boto3.resource("dynamodb").Table(settings.contacts_table)
    contacts.put_item(Item={"loan_id": "L-1", "contact_key": "c#1", "expires_at": past})  # streamed

    cloud.advance_to(START + timedelta(hours=6))  # the same day: nothing is deleted yet
    assert table.get_item(Key={"id": "expired"}).get("Item") is not None

    cloud.advance_to(START + timedelta(days=1))
    left = sorted(str(item["id"]) for item in table.scan()["Items"])
    assert left == ["fresh", "no-ttl", "text-ttl"]
    assert contacts.get_item(Key={"loan_id": "L-1", "contact_key": "c#1"}).get("Item") is not None
    assert cloud.ttl_expired == {"IdempotencyTable": 1}


def test_a_table_written_every_day_stays_bounded_by_its_ttl(
    make_cloud: CloudFactory, settings: Settings
) -> None:
    cloud = make_cloud(START, expire_ttl=True)
    table = boto3.resource("dynamodb").Table(settings.idempotency_table)
    sizes = []
    for day in range(30):
        now = START + timedelta(days=day)
        cloud.advance_to(now)
        for n in range(5):  # five claims a day, each kept three days
            expires = int((now + timedelta(days=3)).timestamp())
            table.put_item(Item={"id": f"outbox#{day}-{n}", "expiration": expires})
        sizes.append(table.scan(Select="COUNT")["Count"])
    # Without expiry the table would hold all 150 claims on the last day.
    assert max(sizes) == 20
    assert sizes[-1] == 20
    assert cloud.ttl_expired == {"IdempotencyTable": 150 - 20}
