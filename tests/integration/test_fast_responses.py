"""The local cloud's DynamoDB responses written by json.dumps parse to exactly what moto's own
serialiser gives, binary attributes (the archive chain's hashes) included."""

from __future__ import annotations

import json
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


def _plain_calls(client: Any) -> list[str]:
    """Responses without binary values (the ones written by json.dumps), consumed capacity asked,
    as JSON text: the members' order counts too."""
    responses = [
        # first: both rounds then read the same table (the update writes what it wrote before)
        client.update_item(
            TableName="t",
            Key={"pk": {"S": "c"}},
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "2"}},
            ReturnValues="ALL_NEW",
            ReturnConsumedCapacity="TOTAL",
        ),
        client.get_item(TableName="t", Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL"),
        client.scan(TableName="t", Limit=1, ReturnConsumedCapacity="INDEXES"),
        client.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "c"}},
            ReturnConsumedCapacity="INDEXES",
        ),
        client.batch_get_item(
            RequestItems={"t": {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "c"}}]}},
            ReturnConsumedCapacity="TOTAL",
        ),
        client.delete_item(TableName="t", Key={"pk": {"S": "zz"}}, ReturnValues="ALL_OLD"),
    ]
    for response in responses:
        response.pop("ResponseMetadata", None)
    return [json.dumps(response, default=str) for response in responses]


def test_bodies_written_here_parse_without_the_walk_to_what_the_walk_gives(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_responses.uninstall()
    expected = _plain_calls(client)
    taken: list[bool] = []
    parse = fast_responses.parsed_like_botocore

    def spied(body: bytes, shape: Any) -> Any:
        parsed = parse(body, shape)
        taken.append(parsed is not None)
        return parsed

    monkeypatch.setattr(fast_responses, "parsed_like_botocore", spied)
    fast_responses.install()
    assert _plain_calls(client) == expected
    assert taken == [True] * len(expected)  # every one skipped botocore's walk
    assert '"ConsumedCapacity"' in expected[2]


def test_a_body_the_walk_would_convert_goes_the_walk_way() -> None:
    from botocore.session import get_session

    shape: Any = get_session().get_service_model("dynamodb").operation_model("DescribeTable").output_shape
    body = b'{"Table":{"TableName":"t","CreationDateTime":1700000000.5}}'
    fast_responses._WRITTEN[body] = shape.name
    assert fast_responses.parsed_like_botocore(body, shape) is None  # a timestamp to convert
    assert fast_responses.parsed_like_botocore(b"{}", shape) is None  # not written here
