"""The local cloud's DynamoDB responses written by json.dumps parse to exactly what moto's own
serialiser gives, binary attributes (the archive chain's hashes) included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud import fast_responses

ITEMS: list[dict[str, Any]] = [
    {"pk": {"S": "a"}, "n": {"N": "12"}, "l": {"L": [{"S": "x"}, {"M": {"k": {"BOOL": True}}}]}},
    {"pk": {"S": "b"}, "hash": {"B": b"\x00\xffchain"}, "set": {"BS": [b"\x01", b"\x02"]}},
    {"pk": {"S": "c"}, "none": {"NULL": True}, "ss": {"SS": ["p", "q"]}, "ns": {"NS": ["1", "2.5"]}},
]


def _calls(client: Any) -> list[Any]:
    responses = [client.get_item(TableName="t", Key={"pk": {"S": k}}) for k in ("a", "b", "c", "zz")]
    responses.append(client.scan(TableName="t", Limit=2))
    responses.append(
        client.query(
            TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "b"}}
        )
    )
    responses.append(
        client.batch_get_item(RequestItems={"t": {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}]}})
    )
    responses.append(
        client.update_item(
            TableName="t",
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "13"}},
            ReturnValues="ALL_OLD",
        )
    )
    responses.append(client.put_item(TableName="t", Item=ITEMS[0], ReturnValues="ALL_OLD"))
    for response in responses:
        response.pop("ResponseMetadata", None)
    return responses


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        for item in ITEMS:
            dynamodb.put_item(TableName="t", Item=item)
        yield dynamodb
        fast_responses.uninstall()


def test_fast_responses_parse_like_moto_serialiser_binary_included(client: Any) -> None:
    fast_responses.uninstall()
    expected = _calls(client)
    fast_responses.install()
    assert _calls(client) == expected
    assert expected[1]["Item"]["hash"] == {"B": b"\x00\xffchain"}


def test_install_takes_the_fast_path_and_uninstall_restores_moto(client: Any) -> None:
    from moto.dynamodb.responses import DynamoResult

    generic = DynamoResult.execute_result
    fast_responses.install()
    assert DynamoResult.execute_result is not generic
    fast_responses.install()  # idempotent
    fast_responses.uninstall()
    assert DynamoResult.execute_result is generic
