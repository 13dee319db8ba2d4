"""In-memory DynamoDB tables behind the production adapters: the fast path's storage.

`MemoryDynamoDB` answers what a boto3 DynamoDB *resource* gives the adapters of
`arrears.adapters` (`Table(name)`: `get_item`, `put_item`, `update_item`, `delete_item`, `query`,
`scan`, `batch_writer`, and `meta.client`'s `batch_get_item` / `transact_write_items`), with
Python values in and out as the resource gives them (numbers as `Decimal`, binaries as `Binary`).
The adapters run unchanged over it, so the repositories' conditional-write logic is the production
code's, and a refused condition raises the same `botocore.exceptions.ClientError`
(`ConditionalCheckFailedException`, with the stored item when `ReturnValuesOnConditionCheckFailure`
asks; `TransactionCanceledException` with its `CancellationReasons`) that the adapters already map.

Tables are declared from template.yaml (key schema, global secondary indexes, stream view type,
TTL attribute). A table with a stream keeps its records in order, in the shape moto's
`GetRecords` returns (DynamoDB JSON images), for `localcloud.memory.cloud.MemoryCloud` to route.
Like moto, every write appends a record, a no-op update included (DynamoDB skips those; every
consumer is idempotent by key, so the routed effects are the same).

Queries are served from a per-partition index (not a scan), so a query costs the partition's
size: that is what lets a 20,000-loan book run in minutes.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import hashlib
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from localcloud.memory.expressions import (
    Evaluator,
    ExpressionError,
    apply_update,
    parse_condition,
    parse_projection,
    parse_update,
    project,
    raw,
)
from localcloud.memory.services import Counted

STREAM_START = 1100000000017454423009  # moto's first sequence number, kept so records look alike


def _error(code: str, message: str, operation: str, **extra: Any) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": message}, **extra}
    return ClientError(response, operation)


def stored(value: Any) -> Any:
    """`value` as DynamoDB stores it and the resource returns it: a fresh copy, ints as Decimal,
    bytes as Binary. A float raises TypeError (as boto3 does), an empty set ValueError.

    The common types are told apart by their exact type first (a table write converts every value
    of its item: this is the fast path's hottest function); subclasses take the general path."""
    kind = type(value)
    if kind is str or kind is Decimal or kind is bool or value is None:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): stored(v) for k, v in value.items()}
    if kind is int:
        return Decimal(value)
    if kind is list:
        return [stored(v) for v in value]
    return _stored_other(value)


def _stored_other(value: Any) -> Any:
    if isinstance(value, bool | str | Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    if isinstance(value, bytes | bytearray):
        return Binary(bytes(value))
    if isinstance(value, Binary):
        return value
    if isinstance(value, Mapping):
        return {str(k): stored(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [stored(v) for v in value]
    if isinstance(value, set | frozenset):
        if not value:
            raise ValueError("an empty set is not a DynamoDB value")
        return {stored(v) for v in value}
    raise TypeError(f"Unsupported type {type(value)} for value {value!r}")


def copied(value: Any) -> Any:
    """A deep copy of a stored value (only maps, lists and sets are mutable).

    Reads return a new top-level map whose nested values are shared with the table: a stored item is
    never changed in place (a put stores new values, an update copies each map and list on the path it
    changes), and no adapter changes what it read."""
    if isinstance(value, dict):
        return {k: copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copied(v) for v in value]
    if isinstance(value, set):
        return set(value)
    return value


def wire(value: Any) -> dict[str, Any]:
    """A stored value in DynamoDB JSON as moto's stream records carry it (binaries in base64).

    Stored values are of exact types (`stored` makes them so): the common ones are dispatched on
    `type()`, the rest by `_wire_other`."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is Decimal:
        return {"N": str(value)}
    if kind is dict:
        return {"M": {k: wire(v) for k, v in value.items()}}
    if kind is list:
        return {"L": [wire(v) for v in value]}
    return _wire_other(value)


def _wire_other(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Decimal):
        return {"N": str(value)}
    if isinstance(value, Binary):
        return {"B": base64.b64encode(raw(value)).decode()}
    if isinstance(value, dict):
        return {"M": {k: wire(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"L": [wire(v) for v in value]}
    sample = next(iter(value))
    if isinstance(sample, str):
        return {"SS": sorted(value)}
    if isinstance(sample, Decimal):
        return {"NS": [str(v) for v in sorted(value)]}
    return {"BS": [base64.b64encode(raw(v)).decode() for v in value]}


def _image(
    new: Mapping[str, Any], old: Mapping[str, Any] | None, old_image: Mapping[str, Any] | None
) -> dict[str, Any]:
    """`new` in DynamoDB JSON, each attribute that is unchanged from `old` taken from `old_image`
    (the conversion of `old`) instead of converted again: an update leaves the attributes it does not
    touch as the very same objects (a stored value is never changed in place, see `copied`), and a
    put of a whole item usually repeats most of them (`_same`)."""
    if old is None or old_image is None:
        return {k: wire(v) for k, v in new.items()}
    image: dict[str, Any] = {}
    for k, v in new.items():
        before = old_image.get(k)
        if before is not None:
            was = old.get(k, _ABSENT)
            if was is v or _same(was, v):
                image[k] = before
                continue
        image[k] = wire(v)
    return image


def _same(a: Any, b: Any) -> bool:
    """Whether two stored values have the same DynamoDB JSON (`wire`): equal, of the same types
    throughout, numbers written alike (1.0 is not 1: `compare_total`)."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is str or kind is bool or a is None:
        return bool(a == b)
    if kind is Decimal:
        return not a.compare_total(b)
    if kind is dict:
        if len(a) != len(b):
            return False
        for k, v in a.items():
            w = b.get(k, _ABSENT)
            if not (v is w or _same(v, w)):
                return False
        return True
    if kind is list:
        if len(a) != len(b):
            return False
        for v, w in zip(a, b, strict=True):  # noqa: SIM110 (a loop: all() over a generator is 4x slower)
            if not (v is w or _same(v, w)):
                return False
        return True
    if kind is Binary:
        return bool(a == b)
    return False  # sets (Decimal members of a set may be written apart): converted again


_ABSENT = object()


def _expression(
    given: Any, names: dict[str, str], values: dict[str, Any], *, key: bool = False
) -> str | None:
    """A condition as text: a `boto3.dynamodb.conditions` object is built into text and placeholders
    (added to `names` and `values`) by boto3's own builder, as the resource does before sending.

    One builder per request (kept in `names` under a private key), so two conditions of one request
    (a key condition and a filter) number their placeholders apart, as the resource's do."""
    if given is None or isinstance(given, str):
        return given
    if isinstance(given, ConditionBase):
        held: Any = names  # the builder rides along with the names (dropped before evaluation)
        builder = held.setdefault(_BUILDER, ConditionExpressionBuilder())
        built = builder.build_expression(given, is_key_condition=key)
        names.update(built.attribute_name_placeholders)
        values.update({k: stored(v) for k, v in built.attribute_value_placeholders.items()})
        return str(built.condition_expression)
    raise TypeError(f"not an expression: {given!r}")


_BUILDER = "\0builder"


# An index entry: the item's order in its partition (range key value, then its primary key values,
# binaries as bytes: the order a query returns) and its primary key.
_Entry = tuple[tuple[Any, ...], tuple[Any, ...]]


def _plain_key(value: Any) -> Any:
    return raw(value) if isinstance(value, Binary) else value


def _first(entry: _Entry) -> Any:
    return entry[0][0]


@dataclass
class _Index:
    """A partition's items kept in query order (inserted by bisection on each write), so a query
    reads only the part of its partition that its range key condition can match, and sorts nothing."""

    name: str
    hash_key: str
    range_key: str | None
    partitions: dict[Any, list[_Entry]] = field(default_factory=dict)

    def entry(self, item: Mapping[str, Any]) -> Any:
        """The item's partition value, or None when the item is not in this (sparse) index."""
        if self.hash_key not in item or (self.range_key and self.range_key not in item):
            return None
        return item[self.hash_key]

    def order(self, item: Mapping[str, Any], key: tuple[Any, ...]) -> tuple[Any, ...]:
        """The item's place in its partition: its range key value, then its primary key values."""
        first = _plain_key(item.get(self.range_key)) if self.range_key else None
        return (first, *(_plain_key(k) for k in key))

    def move(
        self, key: tuple[Any, ...], old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
    ) -> None:
        """Re-place `key` after a write that changed its item from `old` to `new` (None: absent)."""
        before = self.entry(old) if old is not None else None
        after = self.entry(new) if new is not None else None
        was = self.order(old, key) if before is not None and old is not None else None
        now = self.order(new, key) if after is not None and new is not None else None
        if before == after and was == now:
            return
        if before is not None and was is not None:
            members = self.partitions[before]
            at = bisect.bisect_left(members, (was,))
            if at == len(members) or members[at][1] != key:  # not where its old item places it
                raise RuntimeError(f"{self.name or 'table'} index lost the place of {key!r}")
            del members[at]
            if not members:
                del self.partitions[before]
        if after is not None and now is not None:
            members = self.partitions.setdefault(after, [])
            members.insert(bisect.bisect_left(members, (now,)), (now, key))

    def candidates(self, partition: Any, low: Any, high: Any) -> list[tuple[Any, ...]]:
        """The keys of `partition`, in order, whose range key value is within `low`..`high` (either
        None: unbounded), or all of them when the bounds do not compare with the stored values."""
        members = self.partitions.get(partition, [])
        start, end = 0, len(members)
        try:
            if low is not None:
                start = bisect.bisect_left(members, _plain_key(low), key=_first)
            if high is not None:
                end = bisect.bisect_right(members, _plain_key(high), key=_first)
        except TypeError:  # a bound of another type than the range key: the condition decides
            start, end = 0, len(members)
        return [key for _, key in members[start:end]]


@dataclass
class StreamRecord:
    sequence: int
    record: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.record


class MemoryTable:
    """One table: items by primary key, its indexes, its stream."""

    def __init__(
        self,
        database: MemoryDynamoDB,
        name: str,
        key_schema: list[Mapping[str, str]],
        indexes: Mapping[str, list[Mapping[str, str]]] | None = None,
        *,
        stream_view: str | None = None,
        ttl_attribute: str | None = None,
    ) -> None:
        self.database = database
        self.name = self.table_name = name
        self.hash_key = next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")
        self.range_key = next((k["AttributeName"] for k in key_schema if k["KeyType"] == "RANGE"), None)
        self.items: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.indexes = {
            index: _Index(
                index,
                next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH"),
                next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None),
            )
            for index, schema in (indexes or {}).items()
        }
        self.primary = _Index("", self.hash_key, self.range_key)
        self.stream_view = stream_view
        self.ttl_attribute = ttl_attribute
        self.stream: list[StreamRecord] = []
        self.wired: dict[tuple[Any, ...], dict[str, Any]] = {}  # streamed items' images, kept
        self.stream_dropped = 0  # records trimmed from the head of `stream` (all consumers read them)
        self.meta = _Meta(database.client)

    def __repr__(self) -> str:
        return f"MemoryTable({self.name!r}, {len(self.items)} items)"

    # -- keys and indexes -------------------------------------------------------------------

    def key_of(self, item: Mapping[str, Any], operation: str) -> tuple[Any, ...]:
        names = (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)
        try:
            return tuple(stored(item[name]) for name in names)
        except KeyError as missing:
            raise _error(
                "ValidationException", f"One of the required keys was not given a value: {missing}", operation
            ) from None

    def _index_all(
        self, key: tuple[Any, ...], old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
    ) -> None:
        for index in (self.primary, *self.indexes.values()):
            index.move(key, old, new)

    def _write(self, key: tuple[Any, ...], new: dict[str, Any] | None, *, service: bool = False) -> None:
        old = self.items.get(key)
        if new is None:
            if old is None:
                return
            del self.items[key]
        else:
            self.items[key] = new
        self._index_all(key, old, new)
        if self.stream_view is not None:
            self._stream(key, old, new, service)

    def _stream(
        self,
        key: tuple[Any, ...],
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any] | None,
        service: bool,
    ) -> None:
        names = (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)
        body: dict[str, Any] = {
            "StreamViewType": self.stream_view,
            "ApproximateCreationDateTime": None,  # stamped with the simulated clock when routed
            "SequenceNumber": str(STREAM_START + self.stream_written),
            "SizeBytes": 1,
            "Keys": {name: wire(part) for name, part in zip(names, key, strict=True)},
        }
        # Each image is built once: the new image of this write is the old image of the next one.
        old_image = self.wired.pop(key, None) if old is not None else None
        if old is not None and old_image is None:
            old_image = {k: wire(v) for k, v in old.items()}
        new_image = _image(new, old, old_image) if new is not None else None
        if new_image is not None:
            self.wired[key] = new_image
        if self.stream_view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new_image is not None:
            body["NewImage"] = new_image
        if self.stream_view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old_image is not None:
            body["OldImage"] = old_image
        record = {
            "eventID": uuid.UUID(int=self.database.ids.getrandbits(128), version=4).hex,
            "eventName": "INSERT" if old is None else "REMOVE" if new is None else "MODIFY",
            "eventSource": "aws:dynamodb",
            "eventVersion": "1.0",
            "awsRegion": "us-east-1",
            "dynamodb": body,
        }
        if service:
            record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        self.stream.append(StreamRecord(STREAM_START + self.stream_written, record))

    @property
    def stream_written(self) -> int:
        """Records written to the stream since the table was created (trimmed ones included)."""
        return self.stream_dropped + len(self.stream)

    def trim_stream(self, upto: int) -> int:
        """Drop the records before absolute position `upto` (every consumer has read them)."""
        drop = min(upto - self.stream_dropped, len(self.stream))
        if drop <= 0:
            return 0
        del self.stream[:drop]
        self.stream_dropped += drop
        return drop

    # -- single-item operations -------------------------------------------------------------

    def _check(self, request: Mapping[str, Any], current: Mapping[str, Any] | None, operation: str) -> None:
        names = dict(request.get("ExpressionAttributeNames") or {})
        values = {k: stored(v) for k, v in (request.get("ExpressionAttributeValues") or {}).items()}
        text = _expression(request.get("ConditionExpression"), names, values)
        if text is None:
            return
        try:
            holds = Evaluator(names, values).holds(current or {}, parse_condition(text))
        except ExpressionError as error:
            raise _error("ValidationException", str(error), operation) from None
        if not holds:
            extra: dict[str, Any] = {}
            if request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None:
                extra["Item"] = {k: wire(v) for k, v in current.items()}
            raise _error(
                "ConditionalCheckFailedException", "The conditional request failed", operation, **extra
            )

    def get_item(self, **request: Any) -> dict[str, Any]:
        self.database.counted.note("dynamodb", "GetItem")
        item = self.items.get(self.key_of(request["Key"], "GetItem"))
        if item is None:
            return {}
        if request.get("ProjectionExpression"):
            evaluator = Evaluator(request.get("ExpressionAttributeNames"), None)
            return {"Item": project(item, parse_projection(request["ProjectionExpression"]), evaluator)}
        return {"Item": dict(item)}

    def put_item(self, **request: Any) -> dict[str, Any]:
        self.database.counted.note("dynamodb", "PutItem")
        new = stored(request["Item"])
        key = self.key_of(new, "PutItem")
        current = self.items.get(key)
        self._check(request, current, "PutItem")
        self._write(key, new)
        if request.get("ReturnValues") == "ALL_OLD" and current is not None:
            return {"Attributes": dict(current)}
        return {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.database.counted.note("dynamodb", "UpdateItem")
        key = self.key_of(request["Key"], "UpdateItem")
        current = self.items.get(key)
        self._check(request, current, "UpdateItem")
        names = dict(request.get("ExpressionAttributeNames") or {})
        values = {k: stored(v) for k, v in (request.get("ExpressionAttributeValues") or {}).items()}
        new = dict(current) if current is not None else dict(zip(self._key_names(), key, strict=True))
        if request.get("UpdateExpression"):
            try:
                apply_update(new, parse_update(request["UpdateExpression"]), Evaluator(names, values))
            except ExpressionError as error:
                raise _error("ValidationException", str(error), "UpdateItem") from None
        self._write(key, new)
        wanted = request.get("ReturnValues", "NONE")
        if wanted == "ALL_NEW":
            return {"Attributes": dict(new)}
        if wanted == "ALL_OLD":
            return {"Attributes": dict(current)} if current is not None else {}
        if wanted in ("UPDATED_OLD", "UPDATED_NEW"):
            source = current if wanted == "UPDATED_OLD" else new
            if source is None:
                return {}
            changed = {k for k in set(new) | set(current or {}) if (current or {}).get(k) != new.get(k)}
            return {"Attributes": {k: v for k, v in source.items() if k in changed}}
        return {}

    def _key_names(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    def delete_item(self, **request: Any) -> dict[str, Any]:
        self.database.counted.note("dynamodb", "DeleteItem")
        key = self.key_of(request["Key"], "DeleteItem")
        current = self.items.get(key)
        self._check(request, current, "DeleteItem")
        self._write(key, None)
        if request.get("ReturnValues") == "ALL_OLD" and current is not None:
            return {"Attributes": dict(current)}
        return {}

    # -- reads of many items ----------------------------------------------------------------

    def _sort_key(self, index: _Index, key: tuple[Any, ...]) -> tuple[Any, ...]:
        item = self.items[key]
        first = item.get(index.range_key) if index.range_key else None
        first = raw(first) if isinstance(first, Binary) else first
        return (first, *(raw(k) if isinstance(k, Binary) else k for k in key))

    def _start_after(
        self, keys: list[tuple[Any, ...]], index: _Index, start: Mapping[str, Any] | None
    ) -> int:
        if not start:
            return 0
        target = self.key_of(start, "Query")
        for i, key in enumerate(keys):
            if key == target:
                return i + 1
        # The start item is gone: resume after where its sort position would be.
        probe = (stored(start.get(index.range_key)) if index.range_key else None, *target)
        return sum(1 for key in keys if self._sort_key(index, key) <= probe)

    def _page(
        self,
        keys: list[tuple[Any, ...]],
        request: Mapping[str, Any],
        names: dict[str, str],
        values: dict[str, Any],
    ) -> dict[str, Any]:
        index = self.indexes[request["IndexName"]] if request.get("IndexName") else self.primary
        limit = request.get("Limit")
        filter_text = _expression(request.get("FilterExpression"), names, values)
        evaluator = Evaluator(names, values)  # after the filter's placeholders are added
        try:
            filtered = parse_condition(filter_text) if filter_text else None
            projection = (
                parse_projection(request["ProjectionExpression"])
                if request.get("ProjectionExpression")
                else None
            )
        except ExpressionError as error:
            raise _error("ValidationException", str(error), "Query") from None
        evaluated = keys[self._start_after(keys, index, request.get("ExclusiveStartKey")) :]
        more = limit is not None and len(evaluated) > limit
        evaluated = evaluated[:limit] if limit is not None else evaluated
        found = []
        for key in evaluated:
            item = self.items[key]
            if filtered is not None and not evaluator.holds(item, filtered):
                continue
            found.append(item)
        page: dict[str, Any] = {"Count": len(found), "ScannedCount": len(evaluated)}
        if request.get("Select") != "COUNT":
            page["Items"] = [project(i, projection, evaluator) if projection else dict(i) for i in found]
        if more and evaluated:
            last = self.items[evaluated[-1]]
            names_kept = (
                set(self._key_names()) | {index.hash_key} | ({index.range_key} if index.range_key else set())
            )
            page["LastEvaluatedKey"] = {k: copied(last[k]) for k in names_kept if k in last}
        return page

    def query(self, **request: Any) -> dict[str, Any]:
        self.database.counted.note("dynamodb", "Query")
        index = self.indexes[request["IndexName"]] if request.get("IndexName") else self.primary
        names = dict(request.get("ExpressionAttributeNames") or {})
        values = {k: stored(v) for k, v in (request.get("ExpressionAttributeValues") or {}).items()}
        text = _expression(request["KeyConditionExpression"], names, values, key=True)
        try:
            tree = parse_condition(text or "")
        except ExpressionError as error:
            raise _error("ValidationException", str(error), "Query") from None
        evaluator = Evaluator(names, values)
        partition = _partition_value(tree, index.hash_key, evaluator)
        if partition is None:
            raise _error("ValidationException", "Query condition missed key schema element", "Query")
        low, high = _range_bounds(tree, index.range_key, evaluator) if index.range_key else (None, None)
        items = self.items
        keys = [key for key in index.candidates(partition, low, high) if evaluator.holds(items[key], tree)]
        if request.get("ScanIndexForward") is False:
            keys.reverse()
        return self._page(keys, request, names, values)

    def scan(self, **request: Any) -> dict[str, Any]:
        self.database.counted.note("dynamodb", "Scan")
        names = dict(request.get("ExpressionAttributeNames") or {})
        values = {k: stored(v) for k, v in (request.get("ExpressionAttributeValues") or {}).items()}
        index = self.indexes[request["IndexName"]] if request.get("IndexName") else None
        keys = [k for k, item in self.items.items() if index is None or index.entry(item) is not None]
        total = request.get("TotalSegments")
        if total:
            segment = int(request["Segment"])
            keys = [k for k in keys if scan_segment(k[0], int(total)) == segment]
        return self._page(keys, request, names, values)

    @contextlib.contextmanager
    def batch_writer(self, overwrite_by_pkeys: list[str] | None = None) -> Iterator[_BatchWriter]:
        writer = _BatchWriter(self)
        yield writer
        writer.flush()

    # -- what the local cloud needs ---------------------------------------------------------

    def expire(self, now_epoch: float) -> int:
        """Delete the items whose TTL attribute (epoch seconds) is before `now_epoch`, as DynamoDB's TTL
        does; a streamed table records each as a service REMOVE. Returns how many."""
        if self.ttl_attribute is None:
            return 0
        gone = [
            key
            for key, item in self.items.items()
            if isinstance(item.get(self.ttl_attribute), Decimal) and item[self.ttl_attribute] < now_epoch
        ]
        for key in gone:
            self._write(key, None, service=True)
        return len(gone)


def scan_segment(hash_key: Any, total_segments: int) -> int:
    """The parallel-Scan segment of an item with `hash_key`: moto's rule (the first byte of the MD5 of
    the hash key's text, modulo `total_segments`), so a segmented Scan (the census) reads the same
    items per segment on both paths. DynamoDB does not document its own split; only the properties
    moto keeps hold there too (one hash key, one segment; stable across calls)."""
    return hashlib.md5(str(hash_key).encode(), usedforsecurity=False).digest()[0] % total_segments


def _range_bounds(tree: tuple[Any, ...], range_key: str, evaluator: Evaluator) -> tuple[Any, Any]:
    """The lowest and highest range key values a key condition can match (None: unbounded), from
    its `=`, `<`, `<=`, `>`, `>=` or `BETWEEN` on the range key; inclusive (the condition itself is
    still evaluated on every item between them)."""
    if tree[0] == "and":
        low, high = _range_bounds(tree[1], range_key, evaluator)
        other_low, other_high = _range_bounds(tree[2], range_key, evaluator)
        return (low if low is not None else other_low, high if high is not None else other_high)
    kind = tree[0]
    if kind not in ("cmp", "between"):
        return None, None
    left = tree[2] if kind == "cmp" else tree[1]
    if left.kind != "path" or evaluator.resolve(left.args[0]) != (range_key,):
        return None, None
    bounds = tree[2:] if kind == "between" else tree[3:]
    if any(operand.kind != "value" for operand in bounds):
        return None, None
    if kind == "between":
        return evaluator.operand({}, tree[2]), evaluator.operand({}, tree[3])
    value = evaluator.operand({}, tree[3])
    comparator = tree[1]
    return (
        value if comparator in ("=", ">", ">=") else None,
        value if comparator in ("=", "<", "<=") else None,
    )


def _partition_value(tree: tuple[Any, ...], hash_key: str, evaluator: Evaluator) -> Any:
    """The value a key condition gives its partition key (`pk = :v`, alone or ANDed)."""
    if tree[0] == "and":
        first = _partition_value(tree[1], hash_key, evaluator)
        return first if first is not None else _partition_value(tree[2], hash_key, evaluator)
    if tree[0] == "cmp" and tree[1] == "=":
        left, right = tree[2], tree[3]
        if left.kind == "path" and evaluator.resolve(left.args[0]) == (hash_key,):
            return evaluator.operand({}, right)
    return None


class _BatchWriter:
    """boto3's `batch_writer`: writes buffered and sent 25 to a BatchWriteItem request (and the rest
    when the block ends), as boto3 does."""

    FLUSH_AMOUNT = 25

    def __init__(self, table: MemoryTable) -> None:
        self._table = table
        self._buffer: list[tuple[str, Mapping[str, Any]]] = []

    def put_item(self, Item: Mapping[str, Any]) -> None:
        self._add("put", Item)

    def delete_item(self, Key: Mapping[str, Any]) -> None:
        self._add("delete", Key)

    def _add(self, kind: str, value: Mapping[str, Any]) -> None:
        self._buffer.append((kind, value))
        if len(self._buffer) >= self.FLUSH_AMOUNT:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        database = self._table.database
        database.counted.note("dynamodb", "BatchWriteItem")
        with database.quiet():
            for kind, value in self._buffer:
                if kind == "put":
                    self._table.put_item(Item=value)
                else:
                    self._table.delete_item(Key=value)
        self._buffer.clear()


class _Meta:
    def __init__(self, client: MemoryDynamoClient) -> None:
        self.client = client


class MemoryDynamoClient:
    """The resource's client (`table.meta.client`): Python values, the multi-table operations."""

    def __init__(self, database: MemoryDynamoDB) -> None:
        self._database = database

    def batch_get_item(self, RequestItems: Mapping[str, Any]) -> dict[str, Any]:
        self._database.counted.note("dynamodb", "BatchGetItem")
        with self._database.quiet():
            return self._batch_get(RequestItems)

    def _batch_get(self, RequestItems: Mapping[str, Any]) -> dict[str, Any]:
        responses: dict[str, list[dict[str, Any]]] = {}
        for name, request in RequestItems.items():
            table = self._database.Table(name)
            found = responses.setdefault(name, [])
            for key in request["Keys"]:
                extra = {
                    k: request[k]
                    for k in ("ProjectionExpression", "ExpressionAttributeNames")
                    if k in request
                }
                item = table.get_item(Key=key, **extra).get("Item")
                if item is not None:
                    found.append(item)
        return {"Responses": responses, "UnprocessedKeys": {}}

    def transact_write_items(self, TransactItems: list[Mapping[str, Any]], **_: Any) -> dict[str, Any]:
        """All or nothing: every condition is checked first; one failing cancels the whole."""
        self._database.counted.note("dynamodb", "TransactWriteItems")
        with self._database.quiet():
            return self._transact(TransactItems)

    def _transact(self, TransactItems: list[Mapping[str, Any]]) -> dict[str, Any]:
        reasons: list[dict[str, Any]] = []
        plan: list[tuple[MemoryTable, str, dict[str, Any]]] = []
        for entry in TransactItems:
            ((kind, request),) = entry.items()
            table = self._database.Table(request["TableName"])
            body = {k: v for k, v in request.items() if k != "TableName"}
            key_source = body["Item"] if kind == "Put" else body["Key"]
            current = table.items.get(table.key_of(key_source, "TransactWriteItems"))
            try:
                table._check(body, current, "TransactWriteItems")
                reasons.append({"Code": "None"})
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                reason: dict[str, Any] = {
                    "Code": "ConditionalCheckFailed",
                    "Message": "The conditional request failed",
                }
                answer: Any = error.response
                if "Item" in answer:
                    reason["Item"] = answer["Item"]
                reasons.append(reason)
            plan.append((table, kind, body))
        if any(r["Code"] != "None" for r in reasons):
            raise _error(
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons "
                f"[{', '.join(r['Code'] for r in reasons)}]",
                "TransactWriteItems",
                CancellationReasons=reasons,
            )
        for table, kind, body in plan:
            write = {k: v for k, v in body.items() if k != "ConditionExpression"}
            if kind == "Put":
                table.put_item(**write)
            elif kind == "Update":
                table.update_item(**write)
            elif kind == "Delete":
                table.delete_item(**write)
        return {}


class MemoryDynamoDB:
    """The tables of one in-memory stack (what `boto3.resource("dynamodb")` gives the adapters)."""

    def __init__(self, seed: int = 0) -> None:
        import random

        self.tables: dict[str, MemoryTable] = {}
        self.client = MemoryDynamoClient(self)
        self.ids = random.Random(seed)  # stream event ids, reproducible from the seed
        self.counted = Counted()  # replaced by the world's, shared by every service

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """The requests made inside one request (a batch's reads, a transaction's writes): not counted."""
        self.counted.quiet += 1
        try:
            yield
        finally:
            self.counted.quiet -= 1

    def create_table(
        self,
        name: str,
        key_schema: list[Mapping[str, str]],
        indexes: Mapping[str, list[Mapping[str, str]]] | None = None,
        *,
        stream_view: str | None = None,
        ttl_attribute: str | None = None,
    ) -> MemoryTable:
        table = MemoryTable(
            self, name, key_schema, indexes, stream_view=stream_view, ttl_attribute=ttl_attribute
        )
        self.tables[name] = table
        return table

    def Table(self, name: str) -> MemoryTable:
        try:
            return self.tables[name]
        except KeyError:
            raise _error(
                "ResourceNotFoundException", f"Requested resource not found: {name}", "DescribeTable"
            ) from None
