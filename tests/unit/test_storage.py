"""The storage helpers every adapter shares: paged reads and conditional writes."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from arrears.adapters.tables import TRANSACTION_REFUSED, all_items, conditional_write, pages


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutItem")


class PagedTable:
    """A Query that returns `items` `size` at a time, keyed by position; records every request."""

    def __init__(self, items: list[dict[str, Any]], size: int) -> None:
        self.items = items
        self.size = size
        self.requests: list[dict[str, Any]] = []

    def query(self, **request: Any) -> dict[str, Any]:
        self.requests.append(dict(request))
        start = int(request.get("ExclusiveStartKey", {}).get("n", -1)) + 1
        page: dict[str, Any] = {"Items": self.items[start : start + self.size], "Count": 0}
        page["Count"] = len(page["Items"])
        if start + self.size < len(self.items):
            page["LastEvaluatedKey"] = {"n": start + self.size - 1}
        return page


def test_pages_follow_the_last_evaluated_key_to_the_end() -> None:
    table = PagedTable([{"n": n} for n in range(5)], size=2)
    request = {"KeyConditionExpression": "k", "Limit": 2}
    assert [page["Count"] for page in pages(table.query, **request)] == [2, 2, 1]
    assert [r.get("ExclusiveStartKey") for r in table.requests] == [None, {"n": 1}, {"n": 3}]
    assert all(r["KeyConditionExpression"] == "k" for r in table.requests)
    assert request == {"KeyConditionExpression": "k", "Limit": 2}  # the caller's request is not changed


def test_all_items_reads_each_page_only_when_it_is_needed() -> None:
    table = PagedTable([{"n": n} for n in range(5)], size=2)
    items = all_items(table.query)
    assert [next(items), next(items)] == [{"n": 0}, {"n": 1}]
    assert len(table.requests) == 1
    assert list(items) == [{"n": 2}, {"n": 3}, {"n": 4}]
    assert list(all_items(PagedTable([], size=2).query)) == []


def test_a_refused_conditional_write_is_none_and_any_other_error_propagates() -> None:
    def refused(**request: Any) -> dict[str, Any]:
        raise _error("ConditionalCheckFailedException")

    def throttled(**request: Any) -> dict[str, Any]:
        raise _error("ProvisionedThroughputExceededException")

    def cancelled(**request: Any) -> dict[str, Any]:
        raise _error("TransactionCanceledException")

    assert conditional_write(lambda **request: {"Attributes": request}, Item=1) == {"Attributes": {"Item": 1}}
    assert conditional_write(refused, Item=1) is None
    assert conditional_write(cancelled, refused_by=TRANSACTION_REFUSED, TransactItems=[]) is None
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        conditional_write(cancelled, TransactItems=[])
    with pytest.raises(ClientError, match="ProvisionedThroughput"):
        conditional_write(throttled, Item=1)
