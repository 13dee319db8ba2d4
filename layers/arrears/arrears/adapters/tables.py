"""Two helpers every DynamoDB adapter shares: a paged read to its end, and a conditional write.

`pages` / `all_items` follow `LastEvaluatedKey` of a Query or Scan until DynamoDB has no more;
`conditional_write` runs a write that carries a condition and turns a failed condition into `None`
(nothing was written), so each adapter decides in one line what a refused write means to it.

A refused condition is not always someone else's doing. botocore retries a write whose response was
lost (a timeout, a closed connection, a 5xx after DynamoDB applied it); the retry then finds our own
change in place and is refused. A writer that can recognise its own change passes `ours`: the write
asks DynamoDB for the item as stored (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), and a refusal
whose item already holds exactly what this write wrote counts as written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from arrears.adapters.errors import error_code
from arrears.adapters.retrying import retry_transient

__all__ = [
    "ALREADY_APPLIED",
    "CONDITION_FAILED",
    "TRANSACTION_REFUSED",
    "all_items",
    "conditional_write",
    "error_code",
    "first_member_item",
    "pages",
]

CONDITION_FAILED = frozenset({"ConditionalCheckFailedException"})
"""The error code of a PutItem, UpdateItem or DeleteItem whose condition did not hold."""

TRANSACTION_REFUSED = CONDITION_FAILED | {"TransactionCanceledException"}
"""The error codes of a TransactWriteItems that wrote nothing: a condition failed, or it was cancelled."""


ALREADY_APPLIED = "AlreadyApplied"
"""The key `conditional_write` sets in the response it returns for a refusal that found our own change."""

_TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})
_DESERIALIZER = TypeDeserializer()


def stored_item(error: ClientError) -> dict[str, Any]:
    """The item a refused write found (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), as Python values.

    The error response carries it in DynamoDB's wire format even through a boto3 Table (whose output
    transformation only applies to a successful response); `{}` when the item did not exist.
    """
    raw: Any = error.response.get("Item") or {}
    return _plain(raw)


def first_member_item(error: ClientError) -> dict[str, Any]:
    """The item a cancelled TransactWriteItems found at its first member, as Python values (its
    `CancellationReasons[0]`, when that member asked `ReturnValuesOnConditionCheckFailure=ALL_OLD`
    and its condition failed); `{}` otherwise."""
    reasons: Any = error.response.get("CancellationReasons") or []
    first = reasons[0] if reasons and isinstance(reasons[0], Mapping) else {}
    if first.get("Code") != "ConditionalCheckFailed":
        return {}
    return _plain(first.get("Item") or {})


def _plain(raw: Mapping[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, value in raw.items():
        typed = isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in _TYPES
        item[name] = _DESERIALIZER.deserialize(value) if typed else value
    return item


def pages(read: Callable[..., Mapping[str, Any]], /, **request: Any) -> Iterator[Mapping[str, Any]]:
    """Every response page of a paged read, in order, fetched one at a time as they are consumed.

    `read` is a Table's (or a client's) `query` or `scan`; it is called with `request`, then again
    with `ExclusiveStartKey` set to each page's `LastEvaluatedKey` until a page has none. `request`
    is not modified. A read is idempotent, so a page whose read meets a transient error (a throttle
    that outlasted botocore's retries, a timeout, a connection closed) is read again alone
    (`arrears.adapters.retrying.retry_transient`): a paged walk of a whole table or index (the census,
    the reporting export, an erasure's queries) does not start over for one page. Other errors, and
    the last attempt's, propagate (`botocore.exceptions.ClientError`).
    """
    following = dict(request)
    while True:
        page = retry_transient(lambda: read(**following))
        yield page
        if "LastEvaluatedKey" not in page:
            return
        following["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def all_items(read: Callable[..., Mapping[str, Any]], /, **request: Any) -> Iterator[dict[str, Any]]:
    """The `Items` of every page of `pages(read, **request)`, in order, as DynamoDB returns them."""
    for page in pages(read, **request):
        yield from page.get("Items", [])


def conditional_write[R](
    write: Callable[..., R],
    /,
    *,
    refused_by: frozenset[str] = CONDITION_FAILED,
    ours: Callable[[Mapping[str, Any]], bool] | None = None,
    **request: Any,
) -> R | None:
    """`write(**request)`'s response, or None when DynamoDB refused it and nothing was written.

    `write` is a Table's `put_item`, `update_item` or `delete_item` with a `ConditionExpression` in
    `request`, or a client's `transact_write_items` (with `refused_by=TRANSACTION_REFUSED`). A
    `ClientError` whose code is in `refused_by` means the condition did not hold; any other error
    propagates.

    With `ours`, a refusal whose stored item `ours` recognises as this write's own change (applied by
    an earlier attempt of the same call, which botocore retried) is not a refusal: the response is
    `{"Attributes": <item as stored>, "AlreadyApplied": True}`. For a transaction, `ours` judges the
    item of its first member (the write it guards; a transaction applies whole, so that member's
    own change in place means the transaction was applied).
    """
    members: Any = request.get("TransactItems")
    if ours is not None:
        if members is None:
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        else:
            ((kind, first),) = members[0].items()
            first = {**first, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
            request["TransactItems"] = [{kind: first}, *members[1:]]
    try:
        return write(**request)
    except ClientError as error:
        if error_code(error) not in refused_by:
            raise
        if ours is not None:
            item = stored_item(error) if members is None else first_member_item(error)
            if item and ours(item):
                return cast(R, {"Attributes": item, ALREADY_APPLIED: True})
        return None
