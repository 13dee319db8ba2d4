"""The fast path's in-memory table engine on the cases that once went wrong, without moto."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from localcloud.memory.dynamodb import MemoryDynamoDB, MemoryTable, scan_segment
from localcloud.memory.services import MemoryS3


def _table() -> MemoryTable:
    return MemoryDynamoDB().create_table(
        "t",
        [{"AttributeName": "id", "KeyType": "HASH"}],
        {
            "ByShard": [
                {"AttributeName": "shard", "KeyType": "HASH"},
                {"AttributeName": "on", "KeyType": "RANGE"},
            ]
        },
        stream_view="NEW_AND_OLD_IMAGES",
    )


def test_a_query_of_partition_zero_finds_its_items() -> None:
    # Zero is a partition value like any other (it once read as "no partition given").
    table = _table()
    table.put_item(Item={"id": "a", "shard": 0, "on": "2026-03-01"})
    table.put_item(Item={"id": "b", "shard": 1, "on": "2026-03-01"})
    page = table.query(
        IndexName="ByShard", KeyConditionExpression=Key("shard").eq(0) & Key("on").lte("2026-03-02")
    )
    assert [item["id"] for item in page["Items"]] == ["a"]


def test_an_update_of_a_nested_value_leaves_what_was_read_unchanged() -> None:
    table = _table()
    table.put_item(Item={"id": "a", "m": {"x": 1}})
    before = table.get_item(Key={"id": "a"})["Item"]
    table.update_item(
        Key={"id": "a"}, UpdateExpression="SET m.x = :two", ExpressionAttributeValues={":two": 2}
    )
    assert before["m"] == {"x": Decimal(1)}
    assert table.get_item(Key={"id": "a"})["Item"]["m"] == {"x": Decimal(2)}


def test_paging_with_limit_resumes_after_the_last_key_and_streams_every_write() -> None:
    table = _table()
    for n in range(5):
        table.put_item(Item={"id": f"i{n}", "shard": 3, "on": f"2026-03-0{n + 1}"})
    seen, start = [], None
    while True:
        extra: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
        page = table.query(IndexName="ByShard", KeyConditionExpression=Key("shard").eq(3), Limit=2, **extra)
        seen += [item["id"] for item in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == [f"i{n}" for n in range(5)]
    assert [r.record["eventName"] for r in table.stream] == ["INSERT"] * 5


def test_a_failed_condition_is_dynamodbs_error_and_writes_nothing() -> None:
    table = _table()
    table.put_item(Item={"id": "a", "v": 1})
    with pytest.raises(ClientError) as refused:
        table.put_item(Item={"id": "a", "v": 2}, ConditionExpression="attribute_not_exists(id)")
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert table.get_item(Key={"id": "a"})["Item"]["v"] == 1
    assert len(table.stream) == 1


def test_a_parallel_scan_puts_each_item_in_one_segment_the_same_every_time() -> None:
    table = _table()
    for n in range(40):
        table.put_item(Item={"id": f"L{n:03d}"})
    segments = [[i["id"] for i in table.scan(Segment=s, TotalSegments=4)["Items"]] for s in range(4)]
    assert sorted(key for segment in segments for key in segment) == [f"L{n:03d}" for n in range(40)]
    # moto's rule (MD5 of the hash key): not Python's per-process salted hash
    assert "L000" in segments[scan_segment("L000", 4)]
    assert segments == [[i["id"] for i in table.scan(Segment=s, TotalSegments=4)["Items"]] for s in range(4)]


def test_a_streamed_image_after_an_update_is_the_whole_item_converted_afresh() -> None:
    # The new image reuses the converted attributes an update left untouched; a nested change, an
    # ADD, a REMOVE and a put of the same key must still stream exactly what the table now holds.
    from localcloud.memory.dynamodb import wire

    table = _table()
    table.put_item(Item={"id": "a", "m": {"x": 1, "y": [1, "t"]}, "n": 5, "s": {"p", "q"}, "gone": True})
    updates = [
        ("SET m.y[0] = :v", {":v": 7}),
        ("ADD n :one, s :more", {":one": 1, ":more": {"r"}}),
        ("REMOVE gone SET fresh = :v", {":v": "new"}),
    ]
    for expression, values in updates:
        table.update_item(Key={"id": "a"}, UpdateExpression=expression, ExpressionAttributeValues=values)
    table.put_item(Item={"id": "a", "m": {"x": 1}, "n": 6})
    # A put repeating a value in another form: the same number written apart, a bool for a number.
    table.put_item(Item={"id": "a", "m": {"x": Decimal("1.0")}, "n": True})
    current = table.items[("a",)]
    images = [r.record["dynamodb"] for r in table.stream]
    assert images[-1]["NewImage"] == {k: wire(v) for k, v in current.items()}
    for before, after in itertools.pairwise(images):
        assert after["OldImage"] == before["NewImage"]
    assert images[1]["NewImage"]["m"] == {"M": {"x": {"N": "1"}, "y": {"L": [{"N": "7"}, {"S": "t"}]}}}
    assert images[2]["NewImage"]["n"] == {"N": "6"}
    assert images[2]["NewImage"]["s"] == {"SS": ["p", "q", "r"]}
    assert "gone" not in images[3]["NewImage"]
    assert images[3]["NewImage"]["fresh"] == {"S": "new"}
    assert images[5]["NewImage"] == {"id": {"S": "a"}, "m": {"M": {"x": {"N": "1.0"}}}, "n": {"BOOL": True}}


def test_stored_converts_as_boto3_does() -> None:
    from localcloud.memory.dynamodb import stored

    assert stored({"a": 1, "b": [True, None, b"x"], "c": ("s",), 4: {"k"}}) == {
        "a": Decimal(1),
        "b": [True, None, Binary(b"x")],
        "c": ["s"],
        "4": {"k"},
    }
    assert type(stored(True)) is bool
    with pytest.raises(TypeError):
        stored({"f": 1.5})
    with pytest.raises(ValueError, match="empty set"):
        stored({"e": set()})


def test_queries_by_range_key_match_a_full_evaluation_after_random_writes() -> None:
    # The index keeps each partition in query order and reads only the range a key condition can
    # match: after random puts, updates that move an item's partition or range key, and deletes,
    # every query returns what filtering and sorting the whole table gives.
    import random

    table = _table()
    draw = random.Random(11)
    for _ in range(400):
        item_id = f"i{draw.randrange(40)}"
        step = draw.random()
        if step < 0.5:
            item: dict[str, Any] = {"id": item_id, "on": f"2026-03-{draw.randrange(1, 20):02d}"}
            if draw.random() < 0.8:  # sparse: some items are not in the index
                item["shard"] = draw.randrange(3)
            table.put_item(Item=item)
        elif step < 0.8:
            table.update_item(
                Key={"id": item_id},
                UpdateExpression="SET shard = :s, #on = :on",
                ExpressionAttributeNames={"#on": "on"},
                ExpressionAttributeValues={
                    ":s": draw.randrange(3),
                    ":on": f"2026-03-{draw.randrange(1, 20):02d}",
                },
            )
        else:
            table.delete_item(Key={"id": item_id})
    conditions: list[tuple[Any, Callable[[str], bool]]] = [
        (Key("on").lte("2026-03-09"), lambda on: on <= "2026-03-09"),
        (Key("on").lt("2026-03-09"), lambda on: on < "2026-03-09"),
        (Key("on").gte("2026-03-05"), lambda on: on >= "2026-03-05"),
        (Key("on").gt("2026-03-05"), lambda on: on > "2026-03-05"),
        (Key("on").eq("2026-03-07"), lambda on: on == "2026-03-07"),
        (Key("on").between("2026-03-04", "2026-03-12"), lambda on: "2026-03-04" <= on <= "2026-03-12"),
        (Key("on").begins_with("2026-03-1"), lambda on: on.startswith("2026-03-1")),
        (Key("on").lte(5), lambda on: False),  # a number never matches a string range key
    ]
    items = list(table.items.values())
    for shard in range(3):
        for condition, wanted in conditions:
            for forward in (True, False):
                page = table.query(
                    IndexName="ByShard",
                    KeyConditionExpression=Key("shard").eq(shard) & condition,
                    ScanIndexForward=forward,
                )
                expected = sorted(
                    (i for i in items if i.get("shard") == shard and wanted(i["on"])),
                    key=lambda i: (i["on"], i["id"]),
                    reverse=not forward,
                )
                assert [i["id"] for i in page["Items"]] == [i["id"] for i in expected]


def test_the_in_memory_s3_lists_a_prefix_in_key_order_by_pages_of_1000() -> None:
    """A listing page is a bisection of the bucket's sorted keys (it was a sort of the whole bucket per
    page, quadratic in a long what-if); the pages are S3's: key order, 1,000 keys, a continuation."""
    s3 = MemoryS3()
    s3.buckets["b"] = {}
    wanted = [f"a/{n:05d}" for n in range(2_345)]
    for key in [*reversed(wanted), "a", "a0", "b/1", "Z"]:
        s3.put_object(Bucket="b", Key=key, Body=b"x")
    s3.put_object(Bucket="b", Key="a/00007", Body=b"again")  # a new version, not a new key
    s3.delete_object(Bucket="b", Key="a/00003")
    s3.delete_object(Bucket="b", Key="a/none")  # absent: nothing
    listed = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="b", Prefix="a/")
        for o in page["Contents"]
    ]
    assert listed == [k for k in wanted if k != "a/00003"]
    first = s3.list_objects_v2(Bucket="b", Prefix="a/")
    assert (len(first["Contents"]), first["IsTruncated"], first["NextContinuationToken"]) == (
        1000,
        True,
        "a/01000",
    )
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="b")["Contents"][:3]] == ["Z", "a", "a/00000"]
    assert s3.list_objects_v2(Bucket="b", Prefix="c")["Contents"] == []
