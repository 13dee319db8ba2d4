"""Two helpers every DynamoDB adapter shares: a paged read to its end, and a conditional write.

`pages` / `all_items` follow `LastEvaluatedKey` of a Query or Scan until DynamoDB has no more;
`conditional_write` runs a write that carries a condition and turns a failed condition into `None`
(nothing was written), so each adapter decides in one line what a refused write means to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from arrears.adapters.errors import error_code

__all__ = ["CONDITION_FAILED", "TRANSACTION_REFUSED", "all_items", "conditional_write", "error_code", "pages"]

CONDITION_FAILED = frozenset({"ConditionalCheckFailedException"})
"""The error code of a PutItem, UpdateItem or DeleteItem whose condition did not hold."""

TRANSACTION_REFUSED = CONDITION_FAILED | {"TransactionCanceledException"}
"""The error codes of a TransactWriteItems that wrote nothing: a condition failed, or it was cancelled."""


def pages(read: Callable[..., Mapping[str, Any]], /, **request: Any) -> Iterator[Mapping[str, Any]]:
    """Every response page of a paged read, in order, fetched one at a time as they are consumed.

    `read` is a Table's (or a client's) `query` or `scan`; it is called with `request`, then again
    with `ExclusiveStartKey` set to each page's `LastEvaluatedKey` until a page has none. `request`
    is not modified. Errors of `read` propagate (`botocore.exceptions.ClientError`).
    """
    following = dict(request)
    while True:
        page = read(**following)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        following["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def all_items(read: Callable[..., Mapping[str, Any]], /, **request: Any) -> Iterator[dict[str, Any]]:
    """The `Items` of every page of `pages(read, **request)`, in order, as DynamoDB returns them."""
    for page in pages(read, **request):
        yield from page.get("Items", [])


def conditional_write[R](
    write: Callable[..., R], /, *, refused_by: frozenset[str] = CONDITION_FAILED, **request: Any
) -> R | None:
    """`write(**request)`'s response, or None when DynamoDB refused it and nothing was written.

    `write` is a Table's `put_item`, `update_item` or `delete_item` with a `ConditionExpression` in
    `request`, or a client's `transact_write_items` (with `refused_by=TRANSACTION_REFUSED`). A
    `ClientError` whose code is in `refused_by` means the condition did not hold; any other error
    propagates.
    """
    try:
        return write(**request)
    except ClientError as error:
        if error_code(error) in refused_by:
            return None
        raise
