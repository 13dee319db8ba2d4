"""CPU of one TransactWriteItems against the size of the table it names: moto as it comes against the
lean local cloud's rollback (localcloud.rollback).

The archive chain's every batch is a transaction (the head's update and the batch's claim, which keeps
the batch's records and bytes until it completes): moto deep-copies the whole table first, so each
batch cost grows with every batch archived before it. This fills a table shaped like the chain (one
hash key; claims of `--records` records and `--data-bytes` bytes) to each `--items` size, then times
`--transactions` committed chain advances and one cancelled one, each way, in this interpreter.

    python -m benchmarks.rollback --items 500,2000 --transactions 20
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from typing import Any

TABLE = "chain"


def _claim(n: int, records: int, data_bytes: int) -> dict[str, Any]:
    return {
        "jurisdiction": {"S": f"US#batch#{n:08d}"},
        "seq": {"N": str(n)},
        "manifest": {"B": b"m" * 300},
        "records": {
            "L": [{"L": [{"S": f"c-{n}-{i}"}, {"S": "a" * 64}, {"S": "2026-03-01"}]} for i in range(records)]
        },
        "data": {"B": os.urandom(data_bytes)},
    }


def _advance(n: int, records: int, data_bytes: int, expected_seq: int) -> list[dict[str, Any]]:
    return [
        {
            "Update": {
                "TableName": TABLE,
                "Key": {"jurisdiction": {"S": "US"}},
                "UpdateExpression": "SET seq = :next",
                "ConditionExpression": "seq = :prev",
                "ExpressionAttributeValues": {":next": {"N": str(n)}, ":prev": {"N": str(expected_seq)}},
            }
        },
        {
            "Put": {
                "TableName": TABLE,
                "Item": _claim(n, records, data_bytes),
                "ConditionExpression": "attribute_not_exists(jurisdiction)",
            }
        },
    ]


def measure(items: int, args: argparse.Namespace, lean: bool) -> dict[str, float]:
    """Seconds of CPU per committed and per cancelled transaction on a table of `items` claims."""
    import boto3
    from moto import mock_aws

    from localcloud import rollback

    with mock_aws():
        if lean:
            rollback.install()
        try:
            client: Any = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "jurisdiction", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "jurisdiction", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            client.put_item(TableName=TABLE, Item={"jurisdiction": {"S": "US"}, "seq": {"N": "0"}})
            for n in range(1, items + 1):
                client.put_item(TableName=TABLE, Item=_claim(n, args.records, args.data_bytes))
            client.update_item(
                TableName=TABLE,
                Key={"jurisdiction": {"S": "US"}},
                UpdateExpression="SET seq = :n",
                ExpressionAttributeValues={":n": {"N": str(items)}},
            )
            started = time.process_time()
            for n in range(items + 1, items + 1 + args.transactions):
                client.transact_write_items(TransactItems=_advance(n, args.records, args.data_bytes, n - 1))
            committed = (time.process_time() - started) / args.transactions
            started = time.process_time()
            last = items + args.transactions
            with contextlib.suppress(client.exceptions.TransactionCanceledException):  # a stale head
                client.transact_write_items(
                    TransactItems=_advance(last + 1, args.records, args.data_bytes, 0)
                )
            cancelled = time.process_time() - started
            head = client.get_item(TableName=TABLE, Key={"jurisdiction": {"S": "US"}})["Item"]
            refused = client.get_item(
                TableName=TABLE, Key={"jurisdiction": {"S": f"US#batch#{last + 1:08d}"}}
            )
            if head["seq"]["N"] != str(last) or "Item" in refused:
                raise RuntimeError("the transactions did not leave the chain as expected")
        finally:
            rollback.uninstall()
    return {"committed_ms": round(committed * 1000, 2), "cancelled_ms": round(cancelled * 1000, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrears-bench-rollback", description=__doc__)
    parser.add_argument("--items", default="500,2000", help="table sizes (claims), comma-separated")
    parser.add_argument("--transactions", type=int, default=20)
    parser.add_argument("--records", type=int, default=10, help="records per claim")
    parser.add_argument("--data-bytes", type=int, default=2000, help="bytes of archived data per claim")
    args = parser.parse_args(argv)
    figures = {
        str(items): {"moto": measure(items, args, lean=False), "lean": measure(items, args, lean=True)}
        for items in (int(i) for i in args.items.split(","))
    }
    print(
        json.dumps({"claim": {"records": args.records, "data_bytes": args.data_bytes}, "by_items": figures})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
