"""The lean local cloud's TransactWriteItems (localcloud.rollback) answers as moto does: the same
transactions, committed, cancelled by a condition, refused for two operations on one item, and refused
for two operations in one entry (which moto does not roll back), leave the same items in the same scan
order, the same stream records with the same sequence numbers, and raise the same errors; only no table
is copied."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud import rollback

STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def _tables(client: Any) -> None:
    client.create_table(
        TableName="H",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification=STREAM,
    )
    client.create_table(
        TableName="R",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification=STREAM,
    )
    for pk in ("a", "b", "c"):
        client.put_item(
            TableName="H",
            Item={"pk": {"S": pk}, "n": {"N": "1"}, "m": {"M": {"l": {"L": [{"S": pk}, {"N": "2"}]}}}},
        )
    for pk, sk in (("x", "1"), ("x", "2"), ("y", "1")):
        client.put_item(TableName="R", Item={"pk": {"S": pk}, "sk": {"N": sk}, "v": {"S": pk + sk}})


def _put(table: str, **item: dict[str, str]) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": item}}


def _update(table: str, key: dict[str, Any], expression: str = "SET n = n + :one") -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": key,
            "UpdateExpression": expression,
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


def _delete(table: str, key: dict[str, Any]) -> dict[str, Any]:
    return {"Delete": {"TableName": table, "Key": key}}


FAILS = {
    "ConditionCheck": {
        "TableName": "H",
        "Key": {"pk": {"S": "a"}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }
}

TRANSACTIONS: list[list[dict[str, Any]]] = [
    # committed
    [_update("H", {"pk": {"S": "a"}}), _put("R", pk={"S": "z"}, sk={"N": "1"})],
    # cancelled by the last condition: a new item, a deleted one in the middle, an update, a new range
    # item under an existing hash key, an update creating a new hash key of the range table
    [
        _put("H", pk={"S": "d"}),
        _delete("H", {"pk": {"S": "b"}}),
        _update("H", {"pk": {"S": "c"}}, "SET m.l[0] = :one, n = n + :one"),
        _put("R", pk={"S": "x"}, sk={"N": "3"}),
        _delete("R", {"pk": {"S": "x"}, "sk": {"N": "1"}}),
        {
            "Update": {
                "TableName": "R",
                "Key": {"pk": {"S": "w"}, "sk": {"N": "1"}},
                "UpdateExpression": "SET v = :v",
                "ExpressionAttributeValues": {":v": {"S": "new"}},
            }
        },
        FAILS,
    ],
    # refused: two operations on one item, after a put and a delete were applied
    [_put("H", pk={"S": "e"}), _delete("H", {"pk": {"S": "c"}}), _update("H", {"pk": {"S": "e"}})],
    # committed after the refusals: the deleted and re-put items are back where they were
    [_delete("H", {"pk": {"S": "a"}}), _update("R", {"pk": {"S": "y"}, "sk": {"N": "1"}}, "SET v = :one")],
    # two operations in one entry: moto refuses it without rolling back the put before it
    [_put("H", pk={"S": "f"}), {**_put("H", pk={"S": "g"}), **FAILS}],
]


def _observe(client: Any, streams: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for table in ("H", "R"):
        seen[table] = client.scan(TableName=table)["Items"]
        arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        seen[table + " stream"] = [
            (
                r["eventName"],
                r["dynamodb"]["SequenceNumber"],
                r["dynamodb"]["Keys"],
                r["dynamodb"].get("OldImage"),
                r["dynamodb"].get("NewImage"),
            )
            for r in records
        ]
    from moto.dynamodb.models import dynamodb_backends

    # moto's own hash-key entries of the range table (its reads create empty ones), in order
    backend = dynamodb_backends["123456789012"]["us-east-1"]
    seen["R hash entries"] = [
        (k.value, sorted(str(r.value) for r in v)) for k, v in backend.tables["R"].items.items()
    ]
    return seen


def _run(lean: bool) -> tuple[list[Any], list[bool]]:
    observed: list[Any] = []
    same_table: list[bool] = []
    with mock_aws():
        from moto.dynamodb.models import dynamodb_backends

        if lean:
            rollback.install()
        try:
            client: Any = boto3.client("dynamodb", region_name="us-east-1")
            streams = boto3.client("dynamodbstreams", region_name="us-east-1")
            _tables(client)
            backend = dynamodb_backends["123456789012"]["us-east-1"]
            for transaction in TRANSACTIONS:
                before = id(backend.tables["H"])
                try:
                    client.transact_write_items(TransactItems=transaction)
                    answer: Any = "committed"
                except client.exceptions.ClientError as error:
                    answer = (error.response["Error"], error.response.get("CancellationReasons"))
                same_table.append(id(backend.tables["H"]) == before)
                observed.append((answer, _observe(client, streams)))
        finally:
            rollback.uninstall()
    return observed, same_table


def test_lean_transactions_answer_and_roll_back_as_moto() -> None:
    moto_run, moto_tables = _run(lean=False)
    lean_run, lean_tables = _run(lean=True)
    for step, (expected, got) in enumerate(zip(moto_run, lean_run, strict=True)):
        assert got == expected, step
    answers = [answer if answer == "committed" else answer[0]["Code"] for answer, _ in lean_run]
    assert answers == [
        "committed",
        "TransactionCanceledException",
        "ValidationException",
        "committed",
        "ValidationException",
    ]
    # the cancelled and refused transactions left the items as they were (b back in its place)
    assert [item["pk"]["S"] for item in lean_run[1][1]["H"]] == ["a", "b", "c"]
    assert [item["pk"]["S"] for item in lean_run[2][1]["H"]] == ["a", "b", "c"]
    assert lean_run[1][1]["H stream"] == lean_run[0][1]["H stream"]
    # moto keeps the put before an entry of two operations (no rollback there); so does the lean cloud
    assert [item["pk"]["S"] for item in lean_run[4][1]["H"]] == ["b", "c", "f"]
    # moto replaced the table by its copy at each rollback; the lean cloud copied no table
    assert moto_tables == [True, False, False, True, True]
    assert lean_tables == [True] * len(TRANSACTIONS)
    assert rollback.counts() == {"rolled_back": 2, "without_copies": 5}


def test_a_transaction_naming_no_whole_key_runs_moto_own_copy() -> None:
    with mock_aws():
        from moto.dynamodb.models import dynamodb_backends

        rollback.install()
        try:
            client: Any = boto3.client("dynamodb", region_name="us-east-1")
            _tables(client)
            before = id(dynamodb_backends["123456789012"]["us-east-1"].tables["R"])
            with pytest.raises(client.exceptions.ClientError):
                client.transact_write_items(TransactItems=[_put("R", pk={"S": "q"}), FAILS])
            assert id(dynamodb_backends["123456789012"]["us-east-1"].tables["R"]) != before
            assert rollback.counts() == {"copied_by_moto": 1}
            assert client.scan(TableName="R")["Count"] == 3
        finally:
            rollback.uninstall()
